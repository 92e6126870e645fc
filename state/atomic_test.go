package state

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/afero"
)

func TestWriteAtomic(t *testing.T) {
	fsys := afero.NewMemMapFs()
	path := "/srv/state/dir/file.json"
	for i, content := range []string{"first\n", "second, longer than the first\n", "3\n"} {
		if err := WriteAtomic(fsys, path, []byte(content), 0o640); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		got, err := afero.ReadFile(fsys, path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != content {
			t.Errorf("write %d: read %q, want %q", i, got, content)
		}
		entries, err := afero.ReadDir(fsys, filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if !reflect.DeepEqual(names, []string{"file.json"}) {
			t.Errorf("write %d: dir holds %v, want only file.json", i, names)
		}
		fi, err := fsys.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("write %d: mode %v, want 0640", i, fi.Mode().Perm())
		}
	}
}

func TestWriteAtomicFailure(t *testing.T) {
	base := afero.NewMemMapFs()
	if err := base.MkdirAll("/ro", 0o755); err != nil {
		t.Fatal(err)
	}
	fsys := afero.NewReadOnlyFs(base)
	err := WriteAtomic(fsys, "/ro/file.json", []byte("x"), 0o644)
	if err == nil {
		t.Fatal("WriteAtomic on a read-only fs succeeded")
	}
	if !strings.Contains(err.Error(), "/ro/file.json") {
		t.Errorf("error %q does not name the file", err)
	}
	entries, err := afero.ReadDir(base, "/ro")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("dir holds %d entries after a failed write, want none", len(entries))
	}
}

// failRenameFs fails every Rename, as a full or read-only-remounted disk
// can after the temp file was written.
type failRenameFs struct{ afero.Fs }

func (failRenameFs) Rename(oldname, newname string) error {
	return errors.New("rename: no space left on device")
}

func TestWriteAtomicRemovesTempOnFailure(t *testing.T) {
	base := afero.NewMemMapFs()
	if err := afero.WriteFile(base, "/d/file.json", []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteAtomic(failRenameFs{base}, "/d/file.json", []byte("new\n"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), "/d/file.json") {
		t.Fatalf("WriteAtomic = %v, want the rename error naming the file", err)
	}
	entries, err := afero.ReadDir(base, "/d")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "file.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v after a failed write, want only file.json", names)
	}
	if got, _ := afero.ReadFile(base, "/d/file.json"); string(got) != "old\n" {
		t.Errorf("the old content was changed to %q", got)
	}
}
