package hook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Resolve must take the pack-index fast path on go-git's real storage.
var _ prefixLister = (*filesystem.Storage)(nil)

// store encodes o into the repository and returns its hash.
func store(t *testing.T, repo *git.Repository, o interface {
	Encode(plumbing.EncodedObject) error
}) plumbing.Hash {
	t.Helper()
	obj := repo.Storer.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		t.Fatal(err)
	}
	h, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// storeBlob stores content as a blob.
func storeBlob(t *testing.T, repo *git.Repository, content string) plumbing.Hash {
	t.Helper()
	obj := repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, err := obj.Writer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// storeCommit stores a commit of tree with message.
func storeCommit(t *testing.T, repo *git.Repository, tree plumbing.Hash, msg string) plumbing.Hash {
	t.Helper()
	sig := object.Signature{Name: "t", Email: "t@t", When: time.Unix(1700000000, 0).UTC()}
	return store(t, repo, &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree})
}

// TestExportCraftedTrees pushes trees git would never write, as an attacker
// could with a hand-made pack, and checks nothing lands outside dir.
func TestExportCraftedTrees(t *testing.T) {
	tests := []struct {
		name    string
		entries func(t *testing.T, repo *git.Repository, outside string) []object.TreeEntry
		wantErr string
	}{
		{"dot dot", func(t *testing.T, r *git.Repository, _ string) []object.TreeEntry {
			return []object.TreeEntry{{Name: "..", Mode: filemode.Regular, Hash: storeBlob(t, r, "x")}}
		}, `entry ".."`},
		{"slash in name", func(t *testing.T, r *git.Repository, _ string) []object.TreeEntry {
			return []object.TreeEntry{{Name: "../../escape", Mode: filemode.Regular, Hash: storeBlob(t, r, "x")}}
		}, "contains a slash"},
		{"dot git", func(t *testing.T, r *git.Repository, _ string) []object.TreeEntry {
			return []object.TreeEntry{{Name: ".GIT", Mode: filemode.Regular, Hash: storeBlob(t, r, "x")}}
		}, "reserved for git"},
		{"empty name", func(t *testing.T, r *git.Repository, _ string) []object.TreeEntry {
			return []object.TreeEntry{{Name: "", Mode: filemode.Regular, Hash: storeBlob(t, r, "x")}}
		}, "not a file name"},
		{"dir through a symlink of the same name", func(t *testing.T, r *git.Repository, outside string) []object.TreeEntry {
			sub := store(t, r, &object.Tree{Entries: []object.TreeEntry{
				{Name: "pwned", Mode: filemode.Regular, Hash: storeBlob(t, r, "x")},
			}})
			return []object.TreeEntry{
				{Name: "d", Mode: filemode.Symlink, Hash: storeBlob(t, r, outside)},
				{Name: "d", Mode: filemode.Dir, Hash: sub},
			}
		}, "file exists"},
		{"file through a symlink of the same name", func(t *testing.T, r *git.Repository, outside string) []object.TreeEntry {
			return []object.TreeEntry{
				{Name: "f", Mode: filemode.Symlink, Hash: storeBlob(t, r, filepath.Join(outside, "pwned"))},
				{Name: "f", Mode: filemode.Regular, Hash: storeBlob(t, r, "x")},
			}
		}, "file exists"},
		{"unknown mode", func(t *testing.T, r *git.Repository, _ string) []object.TreeEntry {
			return []object.TreeEntry{{Name: "odd", Mode: filemode.FileMode(0o100600), Hash: storeBlob(t, r, "x")}}
		}, "unsupported mode 100600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			outside := filepath.Join(tmp, "outside")
			dir := filepath.Join(tmp, "a", "b", "export")
			for _, d := range []string{outside, dir} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			repo, err := git.PlainInit(filepath.Join(tmp, "repo.git"), true)
			if err != nil {
				t.Fatal(err)
			}
			tree := store(t, repo, &object.Tree{Entries: tt.entries(t, repo, outside)})
			commit := storeCommit(t, repo, tree, "evil")
			err = Export(context.Background(), filepath.Join(tmp, "repo.git"), commit.String(), dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			for _, p := range []string{filepath.Join(outside, "pwned"), filepath.Join(tmp, "a", "escape"), filepath.Join(tmp, "escape")} {
				if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s written outside the export dir", p)
				}
			}
		})
	}
}

func TestExportDeprecatedMode(t *testing.T) {
	tmp := t.TempDir()
	repo, err := git.PlainInit(filepath.Join(tmp, "repo.git"), true)
	if err != nil {
		t.Fatal(err)
	}
	tree := store(t, repo, &object.Tree{Entries: []object.TreeEntry{
		{Name: "old", Mode: filemode.Deprecated, Hash: storeBlob(t, repo, "x")},
	}})
	commit := storeCommit(t, repo, tree, "old mode")
	dir := filepath.Join(tmp, "out")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Export(context.Background(), filepath.Join(tmp, "repo.git"), commit.String(), dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "old")); err != nil || fi.Mode() != 0o644 {
		t.Errorf("old: %v %v, want -rw-r--r--", fi, err)
	}
}

// TestResolveAmbiguous makes commits until two share a 4-digit prefix:
// that prefix must be an error, not whichever commit comes first.
func TestResolveAmbiguous(t *testing.T) {
	path := filepath.Join(t.TempDir(), "repo.git")
	repo, err := git.PlainInit(path, true)
	if err != nil {
		t.Fatal(err)
	}
	tree := store(t, repo, &object.Tree{})
	seen := map[string]string{}
	var prefix, a, b string
	for i := 0; i < 5000 && prefix == ""; i++ {
		h := storeCommit(t, repo, tree, fmt.Sprint(i)).String()
		if other, ok := seen[h[:4]]; ok {
			prefix, a, b = h[:4], other, h
		}
		seen[h[:4]] = h
	}
	if prefix == "" {
		t.Fatal("no 4-digit prefix collision in 5000 commits")
	}
	_, err = Resolve(path, prefix)
	if err == nil || errors.Is(err, ErrNoRevision) || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("Resolve(%q) err = %v, want ambiguous (%s, %s)", prefix, err, a, b)
	}
	for _, full := range []string{a, b} {
		if got, err := Resolve(path, full[:12]); err != nil || got != full {
			t.Errorf("Resolve(%q) = %q, %v; want %s", full[:12], got, err, full)
		}
	}
}
