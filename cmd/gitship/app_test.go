package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitship/gitship/access"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/urfave/cli/v2"
)

// runMain runs gitship with args as main does, with the default config
// path moved to defaultConfig and GITSHIP_CONFIG unset.
func runMain(t *testing.T, defaultConfig string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("GITSHIP_CONFIG", "")
	os.Unsetenv("GITSHIP_CONFIG")
	var out, errOut strings.Builder
	app := newApp(strings.NewReader(""), &out, &errOut)
	app.Flags[0].(*cli.StringFlag).Value = defaultConfig
	code = runApp(context.Background(), app, append([]string{"gitship"}, args...), &errOut)
	return code, out.String(), errOut.String()
}

// A flag that no command knows is one line that points at the command's
// help, exit status 2, for every command and subcommand.
func TestUnknownFlagIsOneLine(t *testing.T) {
	var paths [][]string
	var walk func(cmds []*cli.Command, parent []string)
	walk = func(cmds []*cli.Command, parent []string) {
		for _, c := range cmds {
			p := append(append([]string{}, parent...), c.Name)
			if c.SkipFlagParsing {
				continue // __complete: its flags are the words to complete
			}
			paths = append(paths, p)
			walk(c.Subcommands, p)
		}
	}
	walk(newApp(nil, nil, nil).Commands, nil)
	paths = append(paths, nil) // gitship itself
	missing := filepath.Join(t.TempDir(), "config.toml")
	for _, p := range paths {
		args := append(append([]string{}, p...), "-rf", "demo")
		code, stdout, stderr := runMain(t, missing, args...)
		want := "gitship: flag provided but not defined: -rf; see `" + strings.Join(append([]string{"gitship"}, p...), " ") + " --help`\n"
		if code != 2 || stdout != "" || stderr != want {
			t.Errorf("gitship %s: exit %d\nstdout %q\nstderr %q\nwant   %q", strings.Join(args, " "), code, stdout, stderr, want)
		}
	}
}

// Without a config file at the default path, gitship says which file it
// looked for and goes on with the defaults; init refuses.
func TestNoConfigFileSaysSo(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "config.toml")
	notice := "gitship: no config at " + missing + " (set --config or GITSHIP_CONFIG); using the defaults\n"
	_, _, stderr := runMain(t, missing, "releases", "nosuchapp")
	if !strings.HasPrefix(stderr, notice) {
		t.Errorf("releases: stderr %q, want it to start with %q", stderr, notice)
	}

	code, stdout, stderr := runMain(t, missing, "init", "demo")
	want := "gitship: no config at " + missing + ": write one (see the README) or name it with --config or GITSHIP_CONFIG\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("init: exit %d\nstdout %q\nstderr %q\nwant   %q", code, stdout, stderr, want)
	}

	// with the file there: no notice
	if err := os.WriteFile(missing, []byte("root = \""+t.TempDir()+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, stderr := runMain(t, missing, "releases", "nosuchapp"); strings.Contains(stderr, "no config") {
		t.Errorf("with a config file: stderr %q", stderr)
	}
}

// writeConfig writes a config whose every path is under a temp dir.
func writeConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	cfg := "root = \"" + filepath.Join(dir, "root") + "\"\n" + extra +
		"[ssh]\nauthorized_keys = \"" + filepath.Join(dir, "authorized_keys") + "\"\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The ssh front door's refusals are prefixed once.
func TestSSHRefusalIsPrefixedOnce(t *testing.T) {
	cfg := writeConfig(t, "")
	if err := os.MkdirAll(filepath.Join(filepath.Dir(cfg), "root"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_ORIGINAL_COMMAND", "gitship apps")
	code, _, stderr := runMain(t, "", "--config", cfg, "ssh", "--key", "nobody")
	if want := "gitship: refused: unknown key nobody\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", code, stderr, want)
	}
}

// The exit status comes from the error's type, never from its text; the
// line on stderr is the error's, hint included.
func TestExitStatus(t *testing.T) {
	_, refusal := access.Parse("", "/srv/repos")
	for _, tt := range []struct {
		name string
		err  error
		code int
		line string
	}{
		{"ok", nil, 0, ""},
		{"usage", usagef("usage: gitship %s", "init APP"), 2, "usage: gitship init APP"},
		{"wrapped usage", fmt.Errorf("init: %w", usagef("usage: gitship init APP")), 2, "init: usage: gitship init APP"},
		{"bad flag", onUsageError("gitship deploy")(nil, errors.New("flag provided but not defined: -rf"), false),
			2, "flag provided but not defined: -rf; see `gitship deploy --help`"},
		{"hint", usererr.New("no config at /etc/gitship/config.toml", "write one"), 1, "no config at /etc/gitship/config.toml: write one"},
		{"wrapped hint", fmt.Errorf("set demo: %w", usererr.New("demo is busy: another gitship command holds its lock; nothing was changed", "run `gitship set` again when it is done")),
			1, "set demo: demo is busy: another gitship command holds its lock; nothing was changed: run `gitship set` again when it is done"},
		{"ssh refusal", refusal, 1, "refused: no interactive login: push with git or run `ssh HOST gitship status APP`"},
		{"told already", cli.Exit("", 1), 1, ""},
		{"nested run's status", cli.Exit("", 2), 2, ""},
		{"usage-like text", errors.New("flag provided but not defined: -rf"), 1, "flag provided but not defined: -rf"},
		{"plain", fmt.Errorf("build image abc1234: %w", errors.New("no space left")), 1, "build image abc1234: no space left"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, line := exitStatus(tt.err); code != tt.code || line != tt.line {
				t.Errorf("exitStatus(%v) = %d, %q; want %d, %q", tt.err, code, line, tt.code, tt.line)
			}
		})
	}
}

// The conventions of the front door: help, a typo, the version; each
// usage error is one line, exit status 2.
func TestCLIConventions(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "config.toml")
	version, commit, date = "1.2.3", "abc1234", "2025-01-02T03:04:05Z"
	t.Cleanup(func() { version, commit, date = "dev", "dev", "dev" })
	for _, tt := range []struct {
		args   string
		code   int
		stdout string // a line stdout must hold ("" when it must be empty)
		stderr string // all of stderr
	}{
		{"help", 0, "   gitship - git push to deploy", ""},
		{"help", 0, "   domains and TLS:", ""},
		{"--help", 0, "     releases  ", ""},
		{"help apps", 0, "   gitship apps - list apps with their live release", ""},
		{"help domains add", 0, "   gitship domains add - serve the app at one more domain", ""},
		{"apps --help", 0, "   gitship apps - list apps with their live release", ""},
		{"domains", 0, "   gitship domains - the domains an app is served at", ""},
		{"relases", 2, "", "gitship: unknown command \"relases\": did you mean \"releases\"? (see `gitship --help`)\n"},
		{"help relases", 2, "", "gitship: unknown command \"relases\": did you mean \"releases\"? (see `gitship --help`)\n"},
		{"xyzzy", 2, "", "gitship: unknown command \"xyzzy\" (see `gitship --help`)\n"},
		{"domains ad", 2, "", "gitship: unknown command \"domains ad\": did you mean \"domains add\"? (see `gitship domains --help`)\n"},
		{"help domains nope", 2, "", "gitship: unknown command \"domains nope\" (see `gitship domains --help`)\n"},
		{"releases", 2, "", "gitship: usage: gitship releases APP [--json]; see `gitship releases --help`\n"},
		{"--version", 0, "gitship 1.2.3 (commit abc1234, built 2025-01-02T03:04:05Z)", ""},
		{"version", 0, "gitship 1.2.3 (commit abc1234, built 2025-01-02T03:04:05Z)", ""},
		{"version x", 2, "", "gitship: usage: gitship version; see `gitship version --help`\n"},
	} {
		code, stdout, stderr := runMain(t, missing, strings.Fields(tt.args)...)
		lines := strings.Split(stdout, "\n")
		okOut := stdout == "" && tt.stdout == ""
		for _, l := range lines {
			okOut = okOut || (tt.stdout != "" && strings.HasPrefix(l, tt.stdout))
		}
		if code != tt.code || !okOut || stderr != tt.stderr {
			t.Errorf("gitship %s: exit %d, want %d\nstdout %q\nwant a line starting %q\nstderr %q\nwant   %q",
				tt.args, code, tt.code, stdout, tt.stdout, stderr, tt.stderr)
		}
	}
}

// Every command gitship lists has a group in `gitship --help`.
func TestEveryCommandHasACategory(t *testing.T) {
	for _, c := range newApp(nil, nil, nil).Commands {
		if !c.Hidden && c.Category == "" {
			t.Errorf("%s has no category: add it to categories", c.Name)
		}
	}
}

func TestLevenshtein(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"relases", "releases", 1}, {"apps", "ps", 2}, {"kitten", "sitting", 3}} {
		if d := levenshtein(tt.a, tt.b); d != tt.d {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, d, tt.d)
		}
	}
}
