package release

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// treeCopy copies a data dir as it is: modes (setgid dirs too), owners,
// symlinks as symlinks (never followed), mtimes. Regular files are cloned
// (reflink: copy on write, nearly free) where the filesystem can, else
// copied. Device files, sockets and fifos are skipped and listed: an app's
// data has no use for them and a copy of one is no copy of its data.
// Hard links come out as separate files.
type treeCopy struct {
	// clone makes dst share src's blocks (nil: the FICLONE ioctl).
	clone func(dst, src *os.File) error

	size int64
	// copied is size as the copy goes, for the progress lines of another
	// goroutine
	copied    atomic.Int64
	files     int
	reflinked int
	skipped   []string
}

// cloneFile is the FICLONE ioctl.
func cloneFile(dst, src *os.File) error {
	return unix.IoctlFileClone(int(dst.Fd()), int(src.Fd()))
}

// noClone says whether a clone error means "not here" (copy instead)
// rather than a failure.
func noClone(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EINVAL) ||
		errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EBADF)
}

type dirMeta struct {
	path string
	info fs.FileInfo
}

// copy copies the dir src to dst, which must not exist.
func (c *treeCopy) copy(src, dst string) error {
	var dirs []dirMeta // their modes, owners and mtimes last, deepest first
	err := filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := e.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			// 0700 while it is filled: a read-only dir of the app's stays
			// writable for the copy until its mode is set at the end
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, dirMeta{target, info})
		case mode.IsRegular():
			if err := c.file(path, target, info); err != nil {
				return err
			}
			c.size += info.Size()
			c.copied.Store(c.size)
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
			if err := own(info, func(u, g int) error { return os.Lchown(target, u, g) }); err != nil {
				return err
			}
			if err := lutimes(target, info); err != nil {
				return err
			}
		default:
			c.skipped = append(c.skipped, rel)
			return nil
		}
		c.files++
		return nil
	})
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if err := own(d.info, func(u, g int) error { return os.Lchown(d.path, u, g) }); err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
		// after chown, which may clear setgid
		if err := os.Chmod(d.path, d.info.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSetuid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
		if err := os.Chtimes(d.path, d.info.ModTime(), d.info.ModTime()); err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
	}
	return nil
}

// file clones or copies one regular file, never through a symlink.
func (c *treeCopy) file(src, dst string, info fs.FileInfo) error {
	in, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	clone := c.clone
	if clone == nil {
		clone = cloneFile
	}
	err = clone(out, in)
	switch {
	case err == nil:
		c.reflinked++
	case noClone(err):
		_, err = io.Copy(out, in)
	}
	if err == nil {
		err = own(info, out.Chown)
	}
	if err == nil {
		err = out.Chmod(info.Mode() & (fs.ModePerm | fs.ModeSetgid | fs.ModeSetuid | fs.ModeSticky))
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return os.Chtimes(dst, info.ModTime(), info.ModTime())
}

// own gives the copy the owner of info through chown. Not running as
// root, a change of owner is refused by the kernel and skipped: the copy
// then belongs to gitship's user.
func own(info fs.FileInfo, chown func(uid, gid int) error) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	err := chown(int(st.Uid), int(st.Gid))
	if errors.Is(err, fs.ErrPermission) && os.Geteuid() != 0 {
		return nil
	}
	return err
}

// lutimes sets a symlink's own mtime (os.Chtimes would follow it).
func lutimes(path string, info fs.FileInfo) error {
	ts := unix.NsecToTimespec(info.ModTime().UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("mtime of %s: %w", path, err)
	}
	return nil
}

// treeSize adds up the regular files under dir (without following
// symlinks). The app may be running: a file it removes while the walk
// goes (a temp file renamed into place) is not counted, not an error.
func treeSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != dir {
				return nil
			}
			return err
		}
		if e.Type().IsRegular() {
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return n, nil
}
