package hook

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// contents describes a directory: every entry's path, type, mode and
// content or link target, one line each, sorted.
func contents(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v", rel, fi.Mode())
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %q", b)
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestExportFromReuses: a chain of commits, each exported with the
// previous export as prev, always equals a fresh export of the same
// commit, and links exactly the files whose content and mode survived.
func TestExportFromReuses(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	gitCLI(t, filepath.Dir(work), "init", "-q", "-b", "main", work)
	steps := []struct {
		name   string
		change func()
		files  int
		reused int
	}{
		{"first", func() {
			writeFile(t, work, "Dockerfile", "FROM scratch\n", 0o644)
			writeFile(t, work, "app/main.go", "package main\n", 0o644)
			writeFile(t, work, "app/big.bin", strings.Repeat("x", 1<<20), 0o644)
			writeFile(t, work, "bin/run.sh", "#!/bin/sh\n", 0o755)
			writeFile(t, work, "gone/away.txt", "bye\n", 0o644)
		}, 5, 0},
		{"one file changed, one removed with its dir", func() {
			writeFile(t, work, "app/main.go", "package main // v2\n", 0o644)
			os.RemoveAll(filepath.Join(work, "gone"))
		}, 4, 3},
		{"mode change only, a symlink, a file that becomes a dir", func() {
			os.Chmod(filepath.Join(work, "bin/run.sh"), 0o644)
			os.Symlink("app/main.go", filepath.Join(work, "main.link"))
			os.Remove(filepath.Join(work, "Dockerfile"))
			writeFile(t, work, "Dockerfile/inner", "FROM scratch\n", 0o644)
		}, 4, 2}, // app/main.go and app/big.bin; Dockerfile/inner has a new path
		{"a dir that becomes a file, the old content back", func() {
			os.RemoveAll(filepath.Join(work, "Dockerfile"))
			writeFile(t, work, "Dockerfile", "FROM scratch\n", 0o644)
			os.RemoveAll(filepath.Join(work, "app"))
			writeFile(t, work, "app", "now a file\n", 0o644)
		}, 3, 1}, // only bin/run.sh: Dockerfile was not in the previous export
	}
	var prev *Previous
	tmp := t.TempDir()
	for i, step := range steps {
		step.change()
		gitCLI(t, work, "add", "-A")
		gitCLI(t, work, "commit", "-q", "--allow-empty", "-m", step.name)
		sha := gitCLI(t, work, "rev-parse", "HEAD")

		fresh := filepath.Join(t.TempDir(), "fresh")
		os.Mkdir(fresh, 0o755)
		if err := Export(context.Background(), work, sha, fresh); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(tmp, fmt.Sprintf("build-%d", i))
		os.Mkdir(dir, 0o755)
		st, err := ExportFrom(context.Background(), work, sha, dir, prev)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got, want := contents(t, dir), contents(t, fresh); got != want {
			t.Errorf("%s: export with reuse differs from a fresh one:\n%s\nwant\n%s", step.name, got, want)
		}
		if st.Files != step.files || st.Reused != step.reused {
			t.Errorf("%s: %d files, %d reused; want %d, %d", step.name, st.Files, st.Reused, step.files, step.reused)
		}
		if prev != nil && st.Reused > 0 {
			same := 0
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					rel, _ := filepath.Rel(dir, p)
					a, _ := os.Stat(p)
					b, err := os.Stat(filepath.Join(prev.Dir, rel))
					if err == nil && os.SameFile(a, b) {
						same++
					}
				}
				return nil
			})
			if same != st.Reused {
				t.Errorf("%s: %d files share an inode with the previous export, want %d", step.name, same, st.Reused)
			}
		}
		prev = &Previous{Dir: dir, Tree: st.Tree}
	}
}

// TestExportFromDamagedPrevious: a previous export that lost a file, is
// empty, or names a tree the repository lacks still gives a complete
// export.
func TestExportFromDamagedPrevious(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	gitCLI(t, filepath.Dir(work), "init", "-q", "-b", "main", work)
	writeFile(t, work, "a.txt", "a\n", 0o644)
	writeFile(t, work, "b.txt", "b\n", 0o644)
	gitCLI(t, work, "add", "-A")
	gitCLI(t, work, "commit", "-q", "-m", "one")
	sha := gitCLI(t, work, "rev-parse", "HEAD")
	tmp := t.TempDir()
	first := filepath.Join(tmp, "first")
	os.Mkdir(first, 0o755)
	st, err := ExportFrom(context.Background(), work, sha, first, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := contents(t, first)
	os.Remove(filepath.Join(first, "b.txt"))
	for i, prev := range []*Previous{
		{Dir: first, Tree: st.Tree},                                    // lost b.txt
		{Dir: t.TempDir(), Tree: st.Tree},                              // empty
		{Dir: first, Tree: "0123456789012345678901234567890123456789"}, // unknown tree
		{Dir: first, Tree: "not a hash"},
	} {
		dir := filepath.Join(tmp, fmt.Sprint("next", i))
		os.Mkdir(dir, 0o755)
		if _, err := ExportFrom(context.Background(), work, sha, dir, prev); err != nil {
			t.Fatalf("prev %+v: %v", prev, err)
		}
		if got := contents(t, dir); got != want {
			t.Errorf("prev %+v: got\n%s\nwant\n%s", prev, got, want)
		}
	}
}

// TestExportFromElsewhere: the previous export may live in another
// directory under a common one (the app's state dir, the build in tmp),
// but not in one that shares only "/" with the new one.
func TestExportFromElsewhere(t *testing.T) {
	work := filepath.Join(t.TempDir(), "work")
	gitCLI(t, filepath.Dir(work), "init", "-q", "-b", "main", work)
	writeFile(t, work, "a.txt", "a\n", 0o644)
	gitCLI(t, work, "add", "-A")
	gitCLI(t, work, "commit", "-q", "-m", "one")
	sha := gitCLI(t, work, "rev-parse", "HEAD")
	root := t.TempDir()
	kept := filepath.Join(root, "apps", "demo", "context")
	build := filepath.Join(root, "tmp", "build-demo.1")
	for _, d := range []string{kept, build} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	st, err := ExportFrom(context.Background(), work, sha, kept, nil)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := ExportFrom(context.Background(), work, sha, build, &Previous{Dir: kept, Tree: st.Tree})
	if err != nil || st2.Reused != 1 {
		t.Fatalf("export beside an elsewhere previous: %+v, %v; want 1 reused", st2, err)
	}
	if commonDir(build, "/nonexistent/x") != "/" || commonDir(build, kept) != root {
		t.Errorf("commonDir: %s, %s", commonDir(build, "/nonexistent/x"), commonDir(build, kept))
	}
}
