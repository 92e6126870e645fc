package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gitship/gitship/internal/testenv"
	"github.com/gitship/gitship/state"
)

// configWithApps writes a config whose root holds the apps named.
func configWithApps(t *testing.T, names ...string) string {
	t.Helper()
	cfg := writeConfig(t, "")
	apps := filepath.Join(filepath.Dir(cfg), "root", "apps")
	for _, n := range names {
		p := state.AppPath(apps, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// __complete lists the commands, subcommands, flags and apps that fit
// the word being completed (the last one), from the commands' usage lines.
func TestCompleteCandidates(t *testing.T) {
	cfg := configWithApps(t, "blog", "shop")
	other := configWithApps(t, "wiki")
	for _, tt := range []struct {
		words string // "|" between the words; the last is the current one
		want  string // the candidates, space separated
	}{
		{"sta", "status"},
		{"", ""}, // filled below: every visible command
		{"status|", "blog shop"},
		{"status|b", "blog"},
		{"status|blog|", ""},
		{"status|--j", "--json"},
		{"status|-", "--help --json"},
		{"--c", "--config"},
		{"domains|", "add list remove"},
		{"domains|a", "add"},
		{"domains|add|", "blog shop"},
		{"domains|add|blog|", ""},
		{"config|list|shop|--r", "--reveal"},
		{"destroy|", "blog shop"},
		{"logs|--release|", ""}, // a flag's value
		{"run|blog|--|", ""},    // the command run runs
		{"completion|", "bash fish zsh"},
		{"help|", ""}, // filled below
		{"help|domains|r", "remove"},
		{"help|apps|", ""},
		{"--config|" + other + "|status|", "wiki"},
		{"--config=" + other + "|ps|", "wiki"},
		{"init|", "blog shop"}, // init again replaces the domains
		{"relases|", ""},
	} {
		want := tt.want
		if tt.words == "" || tt.words == "help|" {
			var names []string
			for _, c := range newApp(nil, nil, nil).Commands {
				if !c.Hidden {
					names = append(names, c.Name)
				}
			}
			sort.Strings(names)
			want = strings.Join(names, " ")
		}
		args := append([]string{"--config", cfg, "__complete"}, strings.Split(tt.words, "|")...)
		code, stdout, stderr := runMain(t, "", args...)
		got := strings.Join(strings.Fields(stdout), " ")
		if code != 0 || got != want || stderr != "" {
			t.Errorf("__complete %q: exit %d, got %q, want %q, stderr %q", tt.words, code, got, want, stderr)
		}
	}
}

// A config that cannot be read or parsed completes no app, silently.
func TestCompleteBadConfigIsSilent(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.toml")
	if err := os.WriteFile(broken, []byte("root = [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []string{broken, filepath.Join(dir, "missing.toml"), dir} {
		code, stdout, stderr := runMain(t, "", "--config", cfg, "__complete", "status", "")
		if code != 0 || stdout != "" || stderr != "" {
			t.Errorf("config %s: exit %d, stdout %q, stderr %q; want 0 and nothing", cfg, code, stdout, stderr)
		}
	}
}

// The scripts: bash's function completes commands, apps and flags when
// bash runs it (`gitship` on PATH is this test binary, see TestMain);
// fish's too; zsh's parses. An unknown shell is a usage error.
func TestCompletionScripts(t *testing.T) {
	cfg := configWithApps(t, "blog", "shop")
	env := append(os.Environ(), "GITSHIP_CONFIG="+cfg)
	script := func(shell string) string {
		code, stdout, stderr := runMain(t, cfg, "completion", shell)
		if code != 0 || stderr != "" {
			t.Fatalf("completion %s: exit %d, stderr %q", shell, code, stderr)
		}
		p := filepath.Join(t.TempDir(), "gitship."+shell)
		if err := os.WriteFile(p, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	code, _, stderr := runMain(t, cfg, "completion", "tcsh")
	if want := "gitship: unknown shell \"tcsh\": bash, zsh or fish; see `gitship completion --help`\n"; code != 2 || stderr != want {
		t.Errorf("completion tcsh: exit %d, stderr %q, want 2, %q", code, stderr, want)
	}
	code, _, stderr = runMain(t, cfg, "completion")
	if want := "gitship: usage: gitship completion bash|zsh|fish; see `gitship completion --help`\n"; code != 2 || stderr != want {
		t.Errorf("completion: exit %d, stderr %q, want 2, %q", code, stderr, want)
	}

	t.Run("bash", func(t *testing.T) {
		testenv.Need(t, "scripts/test installs it", "bash")
		bash := script("bash")
		for _, tt := range []struct {
			line string // what is typed; a trailing space starts a new word
			want string
		}{
			{"gitship sta", "status"},
			{"gitship status ", "blog shop"},
			{"gitship domains add s", "shop"},
			{"gitship releases --j", "--json"},
			{"gitship completion z", "zsh"},
		} {
			words := strings.Fields(tt.line)
			if strings.HasSuffix(tt.line, " ") {
				words = append(words, "")
			}
			args := append([]string{"--norc", "--noprofile", "-c",
				`source "$1" && COMP_WORDS=("${@:3}") && COMP_CWORD=$2 && _gitship && printf '%s\n' "${COMPREPLY[@]}"`,
				"bash", bash, strconv.Itoa(len(words) - 1)}, words...)
			cmd := exec.Command("bash", args...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if got := strings.Join(strings.Fields(string(out)), " "); err != nil || got != tt.want {
				t.Errorf("bash, %q<TAB>: %q (%v), want %q", tt.line, out, err, tt.want)
			}
		}
	})
	t.Run("fish", func(t *testing.T) {
		testenv.Need(t, "scripts/test installs it", "fish")
		fish := script("fish")
		if out, err := exec.Command("fish", "--no-execute", fish).CombinedOutput(); err != nil {
			t.Fatalf("fish --no-execute: %v\n%s", err, out)
		}
		for _, tt := range []struct{ line, want string }{
			{"gitship sta", "status"},
			{"gitship status ", "blog shop"},
			{"gitship ps --j", "--json"},
		} {
			cmd := exec.Command("fish", "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, fish, tt.line)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if got := strings.Join(strings.Fields(string(out)), " "); err != nil || got != tt.want {
				t.Errorf("fish, %q<TAB>: %q (%v), want %q", tt.line, out, err, tt.want)
			}
		}
	})
	t.Run("zsh", func(t *testing.T) {
		testenv.Need(t, "scripts/test installs it", "zsh")
		zsh := script("zsh")
		if out, err := exec.Command("zsh", "-n", zsh).CombinedOutput(); err != nil {
			t.Fatalf("zsh -n: %v\n%s", err, out)
		}
		// outside a completion widget: compdef and compadd stand-ins
		for _, tt := range []struct{ line, want string }{
			{"gitship sta", "status"},
			{"gitship status ", "blog shop"},
		} {
			words := strings.Fields(tt.line)
			if strings.HasSuffix(tt.line, " ") {
				words = append(words, "")
			}
			args := append([]string{"-f", "-c", `compdef() { : }; compadd() { print -l -- "${@[3,-1]}" }; ` +
				`source $1; shift; words=("$@"); CURRENT=$#; _gitship`, "zsh", zsh}, words...)
			cmd := exec.Command("zsh", args...)
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if got := strings.Join(strings.Fields(string(out)), " "); err != nil || got != tt.want {
				t.Errorf("zsh, %q<TAB>: %q (%v), want %q", tt.line, out, err, tt.want)
			}
		}
	})
}
