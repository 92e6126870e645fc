package state

import (
	"io/fs"
	"syscall"
	"time"
)

// fileID is what tells one file from another at a path (cache.go).
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64 // ns
	ctimeNs  int64
}

func (id fileID) ctime() time.Time { return time.Unix(0, id.ctimeNs) }

// identity is the identity of the file info describes; false when the
// filesystem gives none (afero's memory filesystem).
func identity(info fs.FileInfo) (fileID, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st == nil {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctimeNs: st.Ctim.Nano()}, true
}
