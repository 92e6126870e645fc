package hook

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// testScript is a managed hook that does nothing.
const testScript = "#!/bin/sh\n" + Marker + ": test\nexit 0\n"

func TestHookScriptRuns(t *testing.T) {
	tests := []struct{ name, binDir, config string }{
		{"plain", "bin", "/etc/gitship/config.toml"},
		{"space and quote", "it's a dir", "/srv/my conf/it's.toml"},
		{"shell specials", `a"b$HOME` + "`x`", `c:\d;e|f&g*'' $(id)` + "\n2nd line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tt.binDir)
			bin := filepath.Join(dir, "fake gitship")
			writeFile(t, dir, "fake gitship", "#!/bin/sh\nprintf '%s\\n' \"$@\"\n", 0o755)
			hookPath := filepath.Join(t.TempDir(), "post-receive")
			writeFile(t, filepath.Dir(hookPath), "post-receive", HookScript(bin, tt.config), 0o755)

			for _, argv := range [][]string{{"/bin/sh", hookPath}, {hookPath}} {
				out, err := exec.Command(argv[0], argv[1:]...).Output()
				if err != nil {
					t.Fatalf("run %v: %v\n%s", argv, err, HookScript(bin, tt.config))
				}
				got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
				want := append([]string{"--config"}, strings.Split(tt.config, "\n")...)
				want = append(want, "hook", "post-receive")
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%v: args = %q, want %q", argv, got, want)
				}
			}
		})
	}
}

func TestHookScriptHasMarker(t *testing.T) {
	s := HookScript("/usr/bin/gitship", "/etc/gitship/config.toml")
	want := "#!/bin/sh\n# gitship-managed: written by gitship init; do not edit\n" +
		"exec '/usr/bin/gitship' --config '/etc/gitship/config.toml' hook post-receive\n"
	if s != want {
		t.Errorf("HookScript = %q, want %q", s, want)
	}
}

// checkRepo asserts path is a bare repository, per go-git and git, with
// HEAD at refs/heads/branch and an executable hook holding script.
func checkRepo(t *testing.T, path, branch, script string) {
	t.Helper()
	repo, err := git.PlainOpen(path)
	if err != nil {
		t.Fatalf("go-git cannot open %s: %v", path, err)
	}
	cfg, err := repo.Config()
	if err != nil || !cfg.Core.IsBare {
		t.Errorf("not bare: %v", err)
	}
	head, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil || head.Type() != plumbing.SymbolicReference || head.Target() != plumbing.NewBranchReferenceName(branch) {
		t.Errorf("HEAD = %v (%v), want -> refs/heads/%s", head, err, branch)
	}
	if got := gitCLI(t, path, "symbolic-ref", "HEAD"); got != "refs/heads/"+branch {
		t.Errorf("git symbolic-ref HEAD = %q", got)
	}
	if got := gitCLI(t, path, "rev-parse", "--is-bare-repository"); got != "true" {
		t.Errorf("git --is-bare-repository = %q", got)
	}
	if got := gitCLI(t, path, "config", "--bool", "receive.advertisePushOptions"); got != "true" {
		t.Errorf("git config receive.advertisePushOptions = %q, want true", got)
	}
	hook := filepath.Join(path, "hooks", "post-receive")
	fi, err := os.Stat(hook)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("hook mode = %v, want 0755", fi.Mode().Perm())
	}
	if b, err := os.ReadFile(hook); err != nil || string(b) != script {
		t.Errorf("hook = %q (%v), want %q", b, err, script)
	}
}

func TestInitRepoCreatesAndIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apps", "web.git")
	created, err := InitRepo(path, "main", testScript)
	if err != nil || !created {
		t.Fatalf("first InitRepo = %v, %v; want true, nil", created, err)
	}
	checkRepo(t, path, "main", testScript)

	// A repository made before push options were advertised gets them.
	gitCLI(t, path, "config", "--unset", "receive.advertisePushOptions")
	again := HookScript("/new/gitship", "/new/config.toml")
	created, err = InitRepo(path, "main", again)
	if err != nil || created {
		t.Fatalf("second InitRepo = %v, %v; want false, nil", created, err)
	}
	checkRepo(t, path, "main", again)

	created, err = InitRepo(path, "prod", again)
	if err != nil || created {
		t.Fatalf("InitRepo with a new branch = %v, %v; want false, nil", created, err)
	}
	checkRepo(t, path, "prod", again)
	leftovers, err := filepath.Glob(filepath.Join(path, "hooks", ".post-receive-*"))
	if err != nil || len(leftovers) > 0 {
		t.Errorf("temporary hook files left: %v %v", leftovers, err)
	}
}

func TestInitRepoRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"plain dir with files", func(t *testing.T, path string) {
			writeFile(t, path, "notes.txt", "mine\n", 0o644)
		}},
		{"empty dir", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"plain file", func(t *testing.T, path string) {
			writeFile(t, filepath.Dir(path), filepath.Base(path), "x", 0o644)
		}},
		{"bare repo made by git", func(t *testing.T, path string) {
			gitCLI(t, filepath.Dir(path), "init", "-q", "--bare", path)
		}},
		{"bare repo with someone's hook", func(t *testing.T, path string) {
			gitCLI(t, filepath.Dir(path), "init", "-q", "--bare", path)
			writeFile(t, filepath.Join(path, "hooks"), "post-receive", "#!/bin/sh\necho theirs\n", 0o755)
		}},
		{"worktree repo with a marked hooks file", func(t *testing.T, path string) {
			gitCLI(t, filepath.Dir(path), "init", "-q", path)
			writeFile(t, filepath.Join(path, "hooks"), "post-receive", testScript, 0o755)
		}},
		{"marked hook but no repo", func(t *testing.T, path string) {
			writeFile(t, filepath.Join(path, "hooks"), "post-receive", testScript, 0o755)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.git")
			tt.setup(t, path)
			before := snapshot(t, path)
			created, err := InitRepo(path, "main", testScript)
			if !errors.Is(err, ErrNotOurs) || created {
				t.Fatalf("InitRepo = %v, %v; want ErrNotOurs", created, err)
			}
			want := "refusing to touch " + path + ": not created by gitship"
			if err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			if after := snapshot(t, path); !reflect.DeepEqual(before, after) {
				t.Errorf("InitRepo changed %s:\nbefore %v\nafter  %v", path, before, after)
			}
		})
	}
}

// snapshot lists every path under root with its mode and size.
func snapshot(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p+" "+fi.Mode().String()+" "+fi.ModTime().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInitRepoBadInput(t *testing.T) {
	tests := []struct{ name, branch, script, wantErr string }{
		{"empty branch", "", testScript, `branch ""`},
		{"bad branch", "a..b", testScript, `branch "a..b"`},
		{"branch with space", "my branch", testScript, `branch "my branch"`},
		{"unmarked script", "main", "#!/bin/sh\nexit 0\n", "lacks the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.git")
			_, err := InitRepo(path, tt.branch, tt.script)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("InitRepo left %s behind: %v", path, err)
			}
		})
	}
}
