package hook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fixture is a bare repository made by InitRepo, pushed to by the real git.
type fixture struct {
	bare       string
	c1, c2     string // first and second commit on main
	hookStdin  string // what post-receive got on stdin
	hookArgs   string // the args it passed to the fake gitship
	shortAlias string // a branch named like c2's short sha, pointing at c1
}

// newFixture commits, in a client repo, a README (c1), then an executable,
// a nested file, symlinks (relative, absolute, escaping) and a submodule
// entry (c2), tags c1 as v1, and pushes it all to a bare repo from
// InitRepo whose hook runs a fake gitship that records what it got.
func newFixture(t *testing.T) fixture {
	t.Helper()
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	gitCLI(t, tmp, "init", "-q", "-b", "main", work)
	writeFile(t, work, "README.md", "hello\n", 0o644)
	gitCLI(t, work, "add", ".")
	gitCLI(t, work, "commit", "-q", "-m", "one")
	var f fixture
	f.c1 = gitCLI(t, work, "rev-parse", "HEAD")

	writeFile(t, work, "bin/run.sh", "#!/bin/sh\necho hi\n", 0o755)
	writeFile(t, work, "a/b/c.txt", "deep\n", 0o644)
	writeFile(t, work, "Dockerfile", "FROM scratch\n", 0o644)
	for target, link := range map[string]string{"a/b/c.txt": "link", "/etc/passwd": "abs", "../../outside": "a/up"} {
		if err := os.Symlink(target, filepath.Join(work, link)); err != nil {
			t.Fatal(err)
		}
	}
	gitCLI(t, work, "add", ".")
	gitCLI(t, work, "update-index", "--add", "--cacheinfo", "160000,"+f.c1+",vendor/sub")
	gitCLI(t, work, "commit", "-q", "-m", "two")
	f.c2 = gitCLI(t, work, "rev-parse", "HEAD")
	gitCLI(t, work, "tag", "-a", "-m", "v1", "v1", f.c1)
	f.shortAlias = f.c2[:7]
	gitCLI(t, work, "branch", f.shortAlias, f.c1)

	rec := filepath.Join(tmp, "rec")
	writeFile(t, rec, "gitship", "#!/bin/sh\nprintf '%s\\n' \"$@\" > '"+rec+"/args'\ncat > '"+rec+"/stdin'\n", 0o755)
	f.bare = filepath.Join(tmp, "srv", "app.git")
	if _, err := InitRepo(f.bare, "main", HookScript(filepath.Join(rec, "gitship"), "/etc/gitship/config.toml")); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, work, "push", "-q", f.bare, "main", "v1", f.shortAlias)
	f.hookStdin = readString(t, filepath.Join(rec, "stdin"))
	f.hookArgs = readString(t, filepath.Join(rec, "args"))
	return f
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPushRunsHook(t *testing.T) {
	f := newFixture(t)
	if want := "--config\n/etc/gitship/config.toml\nhook\npost-receive\n"; f.hookArgs != want {
		t.Errorf("hook args = %q, want %q", f.hookArgs, want)
	}
	updates, err := ParseRefUpdates(strings.NewReader(f.hookStdin))
	if err != nil {
		t.Fatalf("parse what git sent: %v\n%s", err, f.hookStdin)
	}
	if len(updates) != 3 {
		t.Fatalf("got %d updates, want 3: %q", len(updates), f.hookStdin)
	}
	deploy, notes := Pick(updates, "main")
	if deploy == nil || deploy.New != f.c2 || !deploy.IsCreate() {
		t.Errorf("deploy = %+v, want a create of main at %s", deploy, f.c2)
	}
	if len(notes) != 2 {
		t.Errorf("notes = %q, want one for the tag and one for the other branch", notes)
	}
}

func TestResolve(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ rev, want string }{
		{"main", f.c2},
		{"HEAD", f.c2},
		{"refs/heads/main", f.c2},
		{"heads/main", f.c2},
		{f.c2, f.c2},
		{f.c1, f.c1},
		{f.c1[:7], f.c1},
		{f.c1[:12], f.c1},
		{f.c1[:5], f.c1},
		{"main~1", f.c1},
		{"main^", f.c1},
		{"v1", f.c1},         // annotated tag, peeled to its commit
		{f.shortAlias, f.c1}, // a ref wins over a short sha, as in git
		{f.c2[:8], f.c2},     // one more digit is no longer the ref
	}
	for _, tt := range tests {
		t.Run(tt.rev, func(t *testing.T) {
			got, err := Resolve(f.bare, tt.rev)
			if err != nil || got != tt.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q", tt.rev, got, err, tt.want)
			}
		})
	}
	for _, rev := range []string{"nope", "refs/heads/nope", "deadbeef", f.c1[:3], strings.Repeat("0", 40), "main~5", ""} {
		t.Run("missing "+rev, func(t *testing.T) {
			got, err := Resolve(f.bare, rev)
			if !errors.Is(err, ErrNoRevision) {
				t.Fatalf("Resolve(%q) = %q, %v; want ErrNoRevision", rev, got, err)
			}
			want := `revision "` + rev + `" not found in ` + f.bare
			if err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
		})
	}
}

func TestResolveNotARepo(t *testing.T) {
	_, err := Resolve(t.TempDir(), "main")
	if err == nil || errors.Is(err, ErrNoRevision) {
		t.Fatalf("err = %v, want an open error", err)
	}
}

func TestReinitKeepsRefs(t *testing.T) {
	f := newFixture(t)
	if _, err := InitRepo(f.bare, "main", testScript); err != nil {
		t.Fatal(err)
	}
	if got, err := Resolve(f.bare, "main"); err != nil || got != f.c2 {
		t.Errorf("after re-init, main = %q, %v; want %s", got, err, f.c2)
	}
}

func TestExport(t *testing.T) {
	f := newFixture(t)
	old := syscall.Umask(0o077) // modes must not depend on the umask
	defer syscall.Umask(old)
	dir := t.TempDir()
	if err := Export(context.Background(), f.bare, f.c2, dir); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name, content string
		mode          os.FileMode
	}{
		{"README.md", "hello\n", 0o644},
		{"Dockerfile", "FROM scratch\n", 0o644},
		{"bin/run.sh", "#!/bin/sh\necho hi\n", 0o755},
		{"a/b/c.txt", "deep\n", 0o644},
	}
	for _, want := range files {
		p := filepath.Join(dir, want.name)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", want.name, err)
			continue
		}
		if fi.Mode() != want.mode {
			t.Errorf("%s: mode %v, want %v", want.name, fi.Mode(), want.mode)
		}
		if got := readString(t, p); got != want.content {
			t.Errorf("%s = %q, want %q", want.name, got, want.content)
		}
	}
	for _, d := range []string{"a", "a/b", "bin", "vendor"} {
		fi, err := os.Lstat(filepath.Join(dir, d))
		if err != nil || fi.Mode() != os.ModeDir|0o755 {
			t.Errorf("dir %s: %v %v, want drwxr-xr-x", d, fi, err)
		}
	}
	links := map[string]string{"link": "a/b/c.txt", "abs": "/etc/passwd", "a/up": "../../outside"}
	for name, target := range links {
		p := filepath.Join(dir, name)
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s: %v %v, want a symlink", name, fi, err)
			continue
		}
		if got, err := os.Readlink(p); err != nil || got != target {
			t.Errorf("%s -> %q (%v), want %q", name, got, err, target)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "vendor", "sub")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("submodule exported: %v", err)
	}
	if name, err := FindDockerfile(dir); err != nil || name != "Dockerfile" {
		t.Errorf("FindDockerfile = %q, %v", name, err)
	}
	if n := countEntries(t, dir); n != 11 {
		t.Errorf("exported %d entries, want 11", n)
	}
}

// countEntries counts everything below root.
func countEntries(t *testing.T, root string) int {
	t.Helper()
	n := -1 // root itself
	err := filepath.Walk(root, func(string, os.FileInfo, error) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestExportErrors(t *testing.T) {
	f := newFixture(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		repo    string
		sha     string
		dir     func(t *testing.T) string
		wantErr string
		wantIs  error
	}{
		{name: "non-empty dir", sha: f.c2, dir: func(t *testing.T) string {
			d := t.TempDir()
			writeFile(t, d, ".keep", "", 0o644)
			return d
		}, wantErr: "is not empty"},
		{name: "missing dir", sha: f.c2, dir: func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "nope")
		}, wantIs: os.ErrNotExist},
		{name: "dir is a file", sha: f.c2, dir: func(t *testing.T) string {
			d := t.TempDir()
			writeFile(t, d, "f", "", 0o644)
			return filepath.Join(d, "f")
		}, wantErr: "not a directory"},
		{name: "branch name, not a sha", sha: "main", wantErr: `"main" is not a full lowercase sha`},
		{name: "unknown sha", sha: strings.Repeat("ab", 20), wantErr: "object not found"},
		{name: "not a repo", repo: "/nonexistent", sha: f.c2, wantErr: "open /nonexistent"},
		{name: "cancelled", ctx: cancelled, sha: f.c2, wantIs: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, repo, dir := tt.ctx, tt.repo, t.TempDir()
			if ctx == nil {
				ctx = context.Background()
			}
			if repo == "" {
				repo = f.bare
			}
			if tt.dir != nil {
				dir = tt.dir(t)
			}
			err := Export(ctx, repo, tt.sha, dir)
			if err == nil {
				t.Fatal("Export succeeded")
			}
			if !strings.HasPrefix(err.Error(), "export "+Short(tt.sha)+": ") {
				t.Errorf("error %q does not start with export <sha12>", err)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
		})
	}
}
