package hook

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// gitOnly makes the test fail if an export falls back to go-git for a
// blob: the comparisons below must compare the two readers.
func gitOnly(t *testing.T) {
	t.Helper()
	gitFallback = func(err error) { t.Errorf("export fell back to go-git: %v", err) }
	t.Cleanup(func() { gitFallback = nil })
}

// exportBoth exports sha fresh with go-git's blobs and with git
// cat-file's (and, given prevSHA, with each reusing a fresh export of
// prevSHA) and returns the contents of each.
func exportBoth(t *testing.T, bare, sha, prevSHA string) (goGit, git string) {
	t.Helper()
	run := func(goGitOnly bool) string {
		goGitBlobsOnly = goGitOnly
		defer func() { goGitBlobsOnly = false }()
		top := t.TempDir()
		var prev *Previous
		if prevSHA != "" {
			pdir := filepath.Join(top, "prev")
			os.Mkdir(pdir, 0o755)
			st, err := ExportFrom(context.Background(), bare, prevSHA, pdir, nil)
			if err != nil {
				t.Fatal(err)
			}
			prev = &Previous{Dir: pdir, Tree: st.Tree}
		}
		dir := filepath.Join(top, "new")
		os.Mkdir(dir, 0o755)
		if _, err := ExportFrom(context.Background(), bare, sha, dir, prev); err != nil {
			t.Fatal(err)
		}
		return compact(contents(t, dir))
	}
	return run(true), run(false)
}

// compact shortens contents' lines of big files to a hash of the line.
func compact(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = fmt.Sprintf("%s... (%d bytes, sha256 %x)", l[:60], len(l), sha256.Sum256([]byte(l)))
		}
	}
	return strings.Join(lines, "\n")
}

// edgeRepo pushes to a bare repo a tree with what an export must get
// right: executables, symlinks (relative, absolute, escaping, dangling),
// a submodule (gitlink), an LFS pointer with a .gitattributes that names
// the lfs filter (the export writes the pointer: no filter runs), a file
// whose attributes ask for CRLF and export-ignore (neither applies: the
// export is the blob), an empty file, a 3 MB binary; then a second
// commit that changes a few bytes of the binary (a delta once packed).
// It returns the bare repo, the work tree and the two commits.
func edgeRepo(t *testing.T) (bare, work, c1, c2 string) {
	t.Helper()
	tmp := t.TempDir()
	work = filepath.Join(tmp, "work")
	gitCLI(t, tmp, "init", "-q", "-b", "main", work)
	big := make([]byte, 3<<20)
	rand.Read(big)
	writeFile(t, work, "app/bin/web", string(big), 0o755)
	writeFile(t, work, "Dockerfile", "FROM scratch\nCOPY app /app\n", 0o644)
	writeFile(t, work, ".gitattributes", "*.psd filter=lfs diff=lfs merge=lfs -text\ncrlf.txt text eol=crlf export-ignore\n", 0o644)
	writeFile(t, work, "art/logo.psd", "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n", 0o644)
	writeFile(t, work, "crlf.txt", "one\ntwo\n", 0o644)
	writeFile(t, work, "empty", "", 0o644)
	writeFile(t, work, "run.sh", "#!/bin/sh\nexec /app/bin/web\n", 0o755)
	for target, link := range map[string]string{"app/bin/web": "web", "/etc/passwd": "abs", "../../outside": "art/up", "nowhere": "dangling"} {
		if err := os.Symlink(target, filepath.Join(work, link)); err != nil {
			t.Fatal(err)
		}
	}
	gitCLI(t, work, "add", ".")
	gitCLI(t, work, "commit", "-q", "-m", "one")
	c1 = gitCLI(t, work, "rev-parse", "HEAD")
	copy(big[1<<20:], "a new build stamp")
	writeFile(t, work, "app/bin/web", string(big), 0o755)
	writeFile(t, work, "crlf.txt", "one\ntwo\nthree\n", 0o644)
	gitCLI(t, work, "add", ".")
	gitCLI(t, work, "update-index", "--add", "--cacheinfo", "160000,"+c1+",vendor/sub")
	gitCLI(t, work, "commit", "-q", "-m", "two")
	c2 = gitCLI(t, work, "rev-parse", "HEAD")
	bare = filepath.Join(tmp, "srv", "app.git")
	if _, err := InitRepo(bare, "main", HookScript("/bin/true", "/etc/gitship/config.toml")); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, work, "push", "-q", bare, "main")
	return bare, work, c1, c2
}

// The export writes the files a push changed with git cat-file, no longer
// with go-git: the result is the same tree, byte for byte and mode for
// mode, with loose objects and with a pack holding deltas, fresh and
// reusing a previous export.
func TestExportWithGitEqualsGoGit(t *testing.T) {
	bare, _, c1, c2 := edgeRepo(t)
	for _, packed := range []bool{false, true} {
		if packed {
			gitCLI(t, bare, "repack", "-a", "-d", "-q", "--depth=10")
			gitCLI(t, bare, "prune-packed")
			if n := gitCLI(t, bare, "count-objects"); !strings.HasPrefix(n, "0 objects") {
				t.Fatalf("objects left loose after repack: %s", n)
			}
		}
		for _, tc := range []struct{ sha, prev string }{{c1, ""}, {c2, ""}, {c2, c1}} {
			gitOnly(t)
			goGit, git := exportBoth(t, bare, tc.sha, tc.prev)
			if git != goGit {
				t.Errorf("packed=%v %s (prev %q):\n git cat-file:\n%s\n go-git:\n%s", packed, Short(tc.sha), tc.prev, git, goGit)
			}
			for _, want := range []string{
				`crlf.txt -rw-r--r-- "one\ntwo\n`,
				"art/logo.psd -rw-r--r-- \"version https://git-lfs.github.com/spec/v1\\n",
				"dangling Lrwxrwxrwx -> nowhere",
				"app/bin/web -rwxr-xr-x",
				`empty -rw-r--r-- ""`,
			} {
				if !strings.Contains(git, want) {
					t.Errorf("packed=%v %s: no %q in\n%s", packed, Short(tc.sha), want, git)
				}
			}
			if tc.sha == c2 && !strings.Contains(git, "vendor drwxr-xr-x") { // the submodule's directory, empty
				t.Errorf("no vendor dir:\n%s", git)
			}
			if strings.Contains(git, "vendor/sub") {
				t.Errorf("submodule exported:\n%s", git)
			}
		}
	}
}

// A changed blob is streamed from git into its file: the export does not
// hold it in memory (go-git read all of a 6 MB binary into memory, more
// than once over while growing its buffer).
func TestExportStreamsChangedBlobs(t *testing.T) {
	gitOnly(t)
	bare, _, c1, c2 := edgeRepo(t)
	prev := filepath.Join(t.TempDir(), "prev")
	os.Mkdir(prev, 0o755)
	st, err := ExportFrom(context.Background(), bare, c1, prev, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "new")
	os.Mkdir(dir, 0o755)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	st, err = ExportFrom(context.Background(), bare, c2, dir, &Previous{Dir: prev, Tree: st.Tree})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if st.Files-st.Reused != 2 {
		t.Fatalf("wrote %d of %d files, want the 2 changed", st.Files-st.Reused, st.Files)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("the export allocated %d bytes writing a 3 MiB blob: it was not streamed", alloc)
	}
}

// git cat-file reads the repository the export opened, whatever GIT_*
// variables the hook's environment holds (git sets GIT_DIR for hooks);
// without a git to run, go-git reads the blobs, to the same result.
func TestExportGitEnvironment(t *testing.T) {
	bare, _, c1, _ := edgeRepo(t)
	other := t.TempDir()
	gitCLI(t, other, "init", "-q", "--bare", "x.git")
	goGit, _ := exportBoth(t, bare, c1, "")

	gitOnly(t)
	t.Setenv("GIT_DIR", filepath.Join(other, "x.git"))
	t.Setenv("GIT_OBJECT_DIRECTORY", filepath.Join(other, "x.git", "objects"))
	t.Setenv("GIT_CONFIG_PARAMETERS", "'core.bigfilethreshold'='1'")
	if _, git := exportBoth(t, bare, c1, ""); git != goGit {
		t.Errorf("with the hook's GIT_* variables:\n%s\nwant\n%s", git, goGit)
	}

	var fellBack error
	gitFallback = func(err error) { fellBack = err }
	t.Setenv("PATH", t.TempDir())
	if _, git := exportBoth(t, bare, c1, ""); git != goGit {
		t.Errorf("without git:\n%s\nwant\n%s", git, goGit)
	}
	if fellBack == nil {
		t.Errorf("git ran with an empty PATH")
	}
}
