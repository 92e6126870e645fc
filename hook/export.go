package hook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
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
// and every write goes through an os.Root on dir, so nothing lands outside
// it. On error dir may hold part of the tree; the caller removes it.
func Export(ctx context.Context, repoPath, sha, dir string) error {
	if err := export(ctx, repoPath, sha, dir); err != nil {
		return fmt.Errorf("export %s: %w", Short(sha), err)
	}
	return nil
}

// export does the work of Export, whose caller adds the sha to errors.
func export(ctx context.Context, repoPath, sha, dir string) error {
	if !isSHA(sha) {
		return fmt.Errorf("%q is not a full lowercase sha", sha)
	}
	if err := checkEmpty(dir); err != nil {
		return err
	}
	repo, err := git.PlainOpen(repoPath)
	if err != nil {
		return fmt.Errorf("open %s: %w", repoPath, err)
	}
	commit, err := repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return fmt.Errorf("commit in %s: %w", repoPath, err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	x := &exporter{repo: repo, root: root}
	if err := x.tree(ctx, tree, "."); err != nil {
		root.Close()
		return err
	}
	return root.Close()
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

// maxLinkTarget is the longest symlink target Linux accepts (PATH_MAX less
// the NUL); reading no more keeps a huge blob out of memory.
const maxLinkTarget = 4095

// exporter writes one tree's objects below root.
type exporter struct {
	repo *git.Repository
	root *os.Root
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
	case filemode.Regular, filemode.Deprecated:
		return x.file(e.Hash, name, 0o644)
	case filemode.Executable:
		return x.file(e.Hash, name, 0o755)
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
	if err := x.root.Mkdir(name, 0o755); err != nil {
		return err
	}
	if err := x.root.Chmod(name, 0o755); err != nil { // undo the umask
		return err
	}
	return x.tree(ctx, sub, name)
}

// file writes blob h to name with mode perm, whatever the umask.
func (x *exporter) file(h plumbing.Hash, name string, perm fs.FileMode) error {
	blob, err := x.repo.BlobObject(h)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	r, err := blob.Reader()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer r.Close()
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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
	return x.root.Symlink(string(target), name)
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
