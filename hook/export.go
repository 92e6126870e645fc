package hook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Export writes the tree of commit sha in the repository at repoPath into
// dir, which must exist and be empty: regular files with mode 0644 or 0755,
// symlinks as symlinks with their stored target (never followed),
// directories 0755. Submodules are skipped: their commits are not in this
// repository.
//
// The tree comes from a push, so it is not trusted: entry names are checked
// and every write goes through an os.Root, so nothing lands outside dir.
// On error dir may hold part of the tree; the caller removes it.
func Export(ctx context.Context, repoPath, sha, dir string) error {
	_, err := ExportFrom(ctx, repoPath, sha, dir, nil)
	return err
}

// Previous is an earlier export that ExportFrom may take files from: Dir
// holds exactly the tree Tree (a hash) as Export wrote it, and nothing
// changes it any more. Dir and the new dir must have a common ancestor
// below "/" (both under gitship's root): every write and link stays in
// that directory.
type Previous struct {
	Dir  string
	Tree string
}

// Exported says what an export wrote.
type Exported struct {
	Tree   string // the tree's hash
	Files  int    // regular files in the tree
	Reused int    // of those, hard links to prev's unchanged copies
}

// ExportFrom is Export that hard-links every regular file whose content
// and mode are unchanged since prev (nil: none) instead of writing it
// again: a push that changed one file writes one file. A link that cannot
// be made (prev damaged or gone) falls back to writing the blob, so the
// result is the same as Export's either way.
func ExportFrom(ctx context.Context, repoPath, sha, dir string, prev *Previous) (Exported, error) {
	st, err := export(ctx, repoPath, sha, dir, prev)
	if err != nil {
		return st, fmt.Errorf("export %s: %w", Short(sha), err)
	}
	return st, nil
}

// export does the work of ExportFrom, whose caller adds the sha to errors.
func export(ctx context.Context, repoPath, sha, dir string, prev *Previous) (Exported, error) {
	var st Exported
	if !isSHA(sha) {
		return st, fmt.Errorf("%q is not a full lowercase sha", sha)
	}
	if err := checkEmpty(dir); err != nil {
		return st, err
	}
	repo, err := git.PlainOpen(repoPath)
	if err != nil {
		return st, fmt.Errorf("open %s: %w", repoPath, err)
	}
	commit, err := repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return st, fmt.Errorf("commit in %s: %w", repoPath, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return st, fmt.Errorf("tree: %w", err)
	}
	st.Tree = tree.Hash.String()
	dir, err = filepath.Abs(dir)
	if err != nil {
		return st, err
	}
	// One root over dir and prev.Dir, so links from prev stay inside it.
	top := filepath.Dir(dir)
	if prev != nil {
		if p, err := filepath.Abs(prev.Dir); err != nil || commonDir(dir, p) == "/" {
			prev = nil // nothing below "/" contains both: no reuse
		} else {
			top, prev = commonDir(dir, p), &Previous{Dir: p, Tree: prev.Tree}
		}
	}
	root, err := os.OpenRoot(top)
	if err != nil {
		return st, err
	}
	base, _ := filepath.Rel(top, dir)
	x := &exporter{repo: repo, repoPath: repoPath, root: root, base: filepath.ToSlash(base), st: &st, useGit: !goGitBlobsOnly}
	defer x.closeGit()
	x.usePrevious(top, prev)
	if err := x.tree(ctx, tree, "."); err != nil {
		root.Close()
		return st, err
	}
	return st, root.Close()
}

// checkEmpty insists on an existing empty directory: exporting over old
// files would build an image from a mix of two commits.
func checkEmpty(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	if len(names) > 0 {
		return fmt.Errorf("directory %s is not empty", dir)
	}
	return nil
}

// goGitBlobsOnly makes every export read its blobs with go-git, as before
// git cat-file: the tests compare the two.
var goGitBlobsOnly = false

// gitFallback, when set (by tests), hears why an export could not read a
// blob through git cat-file and reads it with go-git instead.
var gitFallback func(error)

// maxLinkTarget is the longest symlink target Linux accepts (PATH_MAX less
// the NUL); reading no more keeps a huge blob out of memory.
const maxLinkTarget = 4095

// exporter writes one tree's objects into root/base.
type exporter struct {
	repo     *git.Repository
	repoPath string
	root     *os.Root
	base     string
	st       *Exported
	// useGit: blobs come from git cat-file (git, started for the first
	// blob written), until it fails once; then from go-git, whose error
	// is the one reported if the blob is really unreadable.
	useGit bool
	git    *catFile
	// prevBase is the previous export's dir in root; prevFiles its
	// regular files by slash path: what may be linked instead of written.
	prevBase  string
	prevFiles map[string]object.TreeEntry
}

// at is rel (slash-separated, relative to the export) as a name in root.
func (x *exporter) at(rel string) string { return path.Join(x.base, rel) }

// commonDir is the deepest directory containing both absolute paths a
// and b (neither of them: their parents at most).
func commonDir(a, b string) string {
	d := filepath.Dir(a)
	for d != "/" && !strings.HasPrefix(filepath.Dir(b)+"/", d+"/") {
		d = filepath.Dir(d)
	}
	return d
}

// usePrevious indexes prev's files when prev can serve: a directory under
// top (prev.Dir absolute) whose tree the repository still has. Anything
// else exports in full.
func (x *exporter) usePrevious(top string, prev *Previous) {
	if prev == nil || !plumbing.IsHash(prev.Tree) {
		return
	}
	rel, err := filepath.Rel(top, prev.Dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return
	}
	t, err := x.repo.TreeObject(plumbing.NewHash(prev.Tree))
	if err != nil {
		return
	}
	files := map[string]object.TreeEntry{}
	w := object.NewTreeWalker(t, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if err != nil {
			break // io.EOF, or a tree it cannot read: use what it found
		}
		if e.Mode == filemode.Regular || e.Mode == filemode.Deprecated || e.Mode == filemode.Executable {
			files[name] = e
		}
	}
	x.prevBase, x.prevFiles = filepath.ToSlash(rel), files
}

// tree writes the entries of t into the directory rel (slash-separated,
// relative to the root), descending into subtrees.
func (x *exporter) tree(ctx context.Context, t *object.Tree, rel string) error {
	for _, e := range t.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := path.Join(rel, e.Name)
		if err := checkName(e.Name); err != nil {
			return fmt.Errorf("entry %q in %s: %w", e.Name, rel, err)
		}
		if err := x.entry(ctx, e, name); err != nil {
			return err
		}
	}
	return nil
}

// entry writes one tree entry at name.
func (x *exporter) entry(ctx context.Context, e object.TreeEntry, name string) error {
	switch e.Mode {
	case filemode.Dir:
		return x.dir(ctx, e.Hash, name)
	case filemode.Regular, filemode.Deprecated, filemode.Executable:
		x.st.Files++
		if x.link(e, name) {
			x.st.Reused++
			return nil
		}
		perm := fs.FileMode(0o644)
		if e.Mode == filemode.Executable {
			perm = 0o755
		}
		return x.file(ctx, e.Hash, name, perm)
	case filemode.Symlink:
		return x.symlink(e.Hash, name)
	case filemode.Submodule:
		return nil
	}
	return fmt.Errorf("%s: unsupported mode %o", name, uint32(e.Mode))
}

// dir creates the directory name and writes subtree h into it. Mkdir (not
// MkdirAll) fails on a name seen twice, so a crafted tree cannot put a
// directory where a symlink was just written.
func (x *exporter) dir(ctx context.Context, h plumbing.Hash, name string) error {
	sub, err := x.repo.TreeObject(h)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := x.root.Mkdir(x.at(name), 0o755); err != nil {
		return err
	}
	if err := x.root.Chmod(x.at(name), 0o755); err != nil { // undo the umask
		return err
	}
	return x.tree(ctx, sub, name)
}

// link hard-links name from the previous export if it holds the same
// content with the same mode there; false: write it.
func (x *exporter) link(e object.TreeEntry, name string) bool {
	p, ok := x.prevFiles[name]
	if !ok || p.Hash != e.Hash || (p.Mode == filemode.Executable) != (e.Mode == filemode.Executable) {
		return false
	}
	return x.root.Link(path.Join(x.prevBase, name), x.at(name)) == nil
}

// file writes blob h to name with mode perm, whatever the umask.
func (x *exporter) file(ctx context.Context, h plumbing.Hash, name string, perm fs.FileMode) error {
	f, err := x.root.OpenFile(x.at(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := x.writeBlob(ctx, f, h, name); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeBlob writes blob h into the empty file f: through git cat-file,
// or go-git if that fails.
func (x *exporter) writeBlob(ctx context.Context, f *os.File, h plumbing.Hash, name string) error {
	if x.useGit {
		if x.git == nil {
			var err error
			if x.git, err = startCatFile(ctx, x.repoPath); err != nil && gitFallback != nil {
				gitFallback(err) // x.git is nil: go-git below
			}
		}
		if x.git != nil {
			_, err := x.git.copyBlob(f, h)
			if err == nil {
				return nil
			}
			if gitFallback != nil {
				gitFallback(err)
			}
			x.closeGit()
			if err := f.Truncate(0); err != nil {
				return err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
		}
		x.useGit = false
	}
	blob, err := x.repo.BlobObject(h)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	r, err := blob.Reader()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer r.Close()
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// closeGit ends git cat-file, if it runs.
func (x *exporter) closeGit() {
	if x.git != nil {
		x.git.close()
		x.git = nil
	}
}

// symlink creates name pointing at the target stored in blob h, unchanged:
// the build decides what a link means, and os.Root never follows one out.
func (x *exporter) symlink(h plumbing.Hash, name string) error {
	blob, err := x.repo.BlobObject(h)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	r, err := blob.Reader()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer r.Close()
	target, err := io.ReadAll(io.LimitReader(r, maxLinkTarget+1))
	if err != nil {
		return fmt.Errorf("read link %s: %w", name, err)
	}
	if len(target) > maxLinkTarget {
		return fmt.Errorf("link %s: target longer than %d bytes", name, maxLinkTarget)
	}
	return x.root.Symlink(string(target), x.at(name))
}

// checkName rejects tree entry names that git itself refuses to check out.
// go-git joins names with path.Join, which would quietly resolve "..".
func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return errors.New("not a file name")
	case strings.ContainsAny(name, "/\x00"):
		return errors.New("contains a slash or NUL")
	case strings.EqualFold(name, ".git"):
		return errors.New("reserved for git")
	}
	return nil
}
