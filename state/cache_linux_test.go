package state

import (
	"io/fs"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/afero"
)

// sameIDFs gives every file one identity, as inode reuse and a coarse
// clock can: the new file of a rewrite took the old one's inode number,
// and both were written within one tick.
type sameIDFs struct {
	afero.Fs
	ctime time.Time
}

func (s sameIDFs) Open(name string) (afero.File, error) {
	f, err := s.Fs.Open(name)
	if err != nil {
		return nil, err
	}
	return sameIDFile{f, s.ctime}, nil
}

type sameIDFile struct {
	afero.File
	ctime time.Time
}

func (f sameIDFile) Stat() (fs.FileInfo, error) {
	fi, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	return sameIDInfo{fi, f.ctime}, nil
}

func (f sameIDFile) Readdir(n int) ([]fs.FileInfo, error) {
	list, err := f.File.Readdir(n)
	for i, fi := range list {
		list[i] = sameIDInfo{fi, f.ctime}
	}
	return list, err
}

type sameIDInfo struct {
	fs.FileInfo
	ctime time.Time
}

func (i sameIDInfo) ModTime() time.Time { return i.ctime }
func (i sameIDInfo) Sys() any {
	ts := syscall.NsecToTimespec(i.ctime.UnixNano())
	return &syscall.Stat_t{Dev: 1, Ino: 7, Size: i.Size(), Mtim: ts, Ctim: ts}
}

// A young file's identity proves nothing: a record rewritten with the
// same size, inode number and timestamps is read again.
func TestStoreYoungIdentityIsNotTrusted(t *testing.T) {
	mem := afero.NewMemMapFs()
	s := &Store{Fs: sameIDFs{Fs: mem, ctime: time.Now()}, AppsDir: "/apps"}
	other := &Store{Fs: mem, AppsDir: "/apps"}
	saveN(t, other, 2)
	for _, st := range []Status{StatusLive, StatusWarm, StatusLive} {
		if _, err := s.List("demo"); err != nil {
			t.Fatal(err)
		}
		r, err := other.Get("demo", 2)
		if err != nil {
			t.Fatal(err)
		}
		r.Status = st
		if err := other.Save(r); err != nil {
			t.Fatal(err)
		}
		list, err := s.List("demo")
		if err != nil {
			t.Fatal(err)
		}
		if list[1].Status != st {
			t.Fatalf("List says v2 is %s, the file says %s", list[1].Status, st)
		}
	}
}
