package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitship/gitship/internal/testenv"
	"github.com/urfave/cli/v2"
)

// Every command's and subcommand's help, hidden ones included, shows a
// usage line that names the whole command ("gitship domains add APP
// DOMAIN") and at least one example that runs it; `help CMD [SUB]` and
// `CMD [SUB] --help` print the same.
func TestEveryHelpHasUsageAndExample(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "config.toml")
	var paths [][]string
	var walk func(cmds []*cli.Command, parent []string)
	walk = func(cmds []*cli.Command, parent []string) {
		for _, c := range cmds {
			p := append(append([]string{}, parent...), c.Name)
			paths = append(paths, p)
			walk(c.Subcommands, p)
		}
	}
	walk(newApp(nil, nil, nil).Commands, nil)
	paths = append(paths, nil) // gitship itself
	for _, p := range paths {
		name := strings.Join(append([]string{"gitship"}, p...), " ")
		code, help, stderr := runMain(t, missing, append([]string{"help"}, p...)...)
		if code != 0 || stderr != "" {
			t.Errorf("gitship help %s: exit %d, stderr %q", strings.Join(p, " "), code, stderr)
			continue
		}
		_, usage, _ := strings.Cut(help, "\nUSAGE:\n")
		if !strings.HasPrefix(usage, "   "+name+" ") && !strings.HasPrefix(usage, "   "+name+"\n") {
			t.Errorf("%s: the usage line does not start with %q:\n%s", name, name, help)
		}
		_, ex, ok := strings.Cut(help, "\nEXAMPLES:\n")
		if !ok || !strings.Contains(ex, name) {
			t.Errorf("%s: no EXAMPLES with %q (add one to examples):\n%s", name, name, help)
		}
		if len(p) == 0 || p[0] == "help" || find(newApp(nil, nil, nil).Commands, p[0]).SkipFlagParsing {
			continue // `help --help` is gitship's help
		}
		if code, flagHelp, _ := runMain(t, missing, append(p, "--help")...); code != 0 || flagHelp != help {
			t.Errorf("%s --help: exit %d\n%s\nwant the same as `gitship help`:\n%s", name, code, flagHelp, help)
		}
	}
	// and nothing in examples is left over from a command that is gone
	for path := range examples {
		if path == "" {
			continue
		}
		cmds := newApp(nil, nil, nil).Commands
		for _, w := range strings.Fields(path) {
			c := find(cmds, w)
			if c == nil {
				t.Errorf("examples[%q]: no such command", path)
				break
			}
			cmds = c.Subcommands
		}
	}
}

// The one-line usage error quotes the usage line once, its forms joined.
func TestUsageErrorNamesTheCommandOnce(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "config.toml")
	for _, tt := range []struct{ args, stderr string }{
		{"status", "gitship: usage: gitship status APP [--json]; see `gitship status --help`\n"},
		{"domains add x", "gitship: usage: gitship domains add APP DOMAIN; see `gitship domains add --help`\n"},
		{"restore", "gitship: usage: gitship restore APP SNAPSHOT | gitship restore APP --file FILE|-; see `gitship restore --help`\n"},
		{"man x", "gitship: usage: gitship man; see `gitship man --help`\n"},
	} {
		code, _, stderr := runMain(t, missing, strings.Fields(tt.args)...)
		stderr = strings.TrimPrefix(stderr, "gitship: no config at "+missing+" (set --config or GITSHIP_CONFIG); using the defaults\n")
		if code != 2 || stderr != tt.stderr {
			t.Errorf("gitship %s: exit %d, stderr %q, want 2, %q", tt.args, code, stderr, tt.stderr)
		}
	}
}

// gitship(1): a man page with the sections a careful reader looks for,
// the same bytes every time and nothing of this machine; groff renders it
// without a warning.
func TestManPage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "config.toml")
	code, page, stderr := runMain(t, missing, "man")
	if code != 0 || stderr != "" {
		t.Fatalf("gitship man: exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(page, `.TH GITSHIP 1 "" "gitship dev"`) {
		t.Errorf("no .TH header: %.80q", page)
	}
	for _, want := range []string{
		".SH NAME\ngitship \\- git push to deploy",
		".SH SYNOPSIS", ".SH COMMANDS", `.SS "domains and TLS"`,
		".B gitship domains add APP DOMAIN\n",
		"gitship domains add myapp www.example.com\n", // its example
		`\fB\-\-config\fR \fIFILE\fR`,
		".SH FILES", "/etc/gitship/config.toml",
		".SH ENVIRONMENT\n.TP\n.B GITSHIP_CONFIG",
		".SH EXIT STATUS\n.TP\n.B 0\n", ".B 1\n", ".B 2\n",
		".SH EXAMPLES",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the man page lacks %q", want)
		}
	}
	if strings.Contains(page, "__complete") || strings.Contains(page, "gitship hook") {
		t.Errorf("the man page shows hidden commands")
	}
	wd, _ := os.Getwd()
	if strings.Contains(page, missing) || strings.Contains(page, wd) {
		t.Errorf("the man page holds a path of this run")
	}
	if _, again, _ := runMain(t, missing, "man"); again != page {
		t.Errorf("gitship man prints different pages")
	}

	testenv.Need(t, "scripts/test installs groff-base and man-db", "groff", "lexgrog")
	file := filepath.Join(t.TempDir(), "gitship.1")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z", file).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("groff -man -ww: %v\n%s", err, out)
	}
	out, err = exec.Command("lexgrog", file).CombinedOutput()
	if want := `gitship.1: "gitship - git push to deploy containers behind nginx on one server"`; err != nil || !strings.Contains(string(out), want) {
		t.Errorf("lexgrog: %v\n%s\nwant %s", err, out, want)
	}
}
