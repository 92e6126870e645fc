package release

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// unpacker writes the entries of a backup under root, never outside it
// (os.Root refuses a path that leaves it, whatever symlinks say) and
// never through a symlink (the entries below one are refused).
type unpacker struct {
	root *os.Root
	// kinds are the entries unpacked so far, by clean name ("." is the
	// dir itself), as tar type flags.
	kinds    map[string]byte
	dirs     []*tar.Header // their owners, modes and mtimes last
	symlinks []string
}

// entryName is h.Name as a clean relative path ("." for the dir itself),
// or an error for one that leaves the dir.
func entryName(name string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	if name == "./" || name == "." || clean == "." {
		return ".", nil
	}
	if !filepath.IsLocal(clean) {
		return "", fmt.Errorf("%w: entry %q is outside the data dir", ErrBadBackup, name)
	}
	return clean, nil
}

func (u *unpacker) entry(h *tar.Header, r io.Reader) error {
	name, err := entryName(h.Name)
	if err != nil {
		return err
	}
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: entry %q: %s", ErrBadBackup, h.Name, fmt.Sprintf(format, args...))
	}
	switch h.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		return refuse("a device file")
	case tar.TypeFifo:
		return refuse("a fifo")
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
	default:
		return refuse("an entry of type %q, not a file, dir or link", h.Typeflag)
	}
	if name == "." {
		if h.Typeflag != tar.TypeDir {
			return refuse("the data dir itself must be a dir")
		}
		u.dirs = append(u.dirs, h)
		return nil
	}
	if _, dup := u.kinds[name]; dup {
		return refuse("it appears twice")
	}
	if err := u.parents(name, refuse); err != nil {
		return err
	}
	u.kinds[name] = h.Typeflag
	switch h.Typeflag {
	case tar.TypeDir:
		u.dirs = append(u.dirs, h)
		return u.wrap(h, u.root.Mkdir(name, 0o700))
	case tar.TypeSymlink:
		if filepath.IsAbs(h.Linkname) || !filepath.IsLocal(filepath.Join(filepath.Dir(name), h.Linkname)) {
			return refuse("a symlink to %q, outside the data dir", h.Linkname)
		}
		u.symlinks = append(u.symlinks, name)
		if err := u.root.Symlink(h.Linkname, name); err != nil {
			return u.wrap(h, err)
		}
		if err := u.chown(h, func(uid, gid int) error { return u.root.Lchown(name, uid, gid) }); err != nil {
			return u.wrap(h, err)
		}
		return u.wrap(h, u.linkTime(name, h))
	case tar.TypeLink:
		target, err := entryName(h.Linkname)
		if err != nil || u.kinds[target] != tar.TypeReg {
			return refuse("a hard link to %q, not a file unpacked before it", h.Linkname)
		}
		return u.wrap(h, u.root.Link(target, name))
	}
	return u.wrap(h, u.file(name, h, r))
}

// parents makes the dirs above name that the archive did not list (as
// 0700, like a dir entry until finish) and refuses a name below anything
// but a dir: below a symlink, it would be written through it.
func (u *unpacker) parents(name string, refuse func(string, ...any) error) error {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		p := strings.Join(parts[:i], "/")
		kind, ok := u.kinds[p]
		if ok && kind != tar.TypeDir {
			return refuse("below %q, which is not a dir", p)
		}
		if !ok {
			if err := u.root.Mkdir(p, 0o700); err != nil {
				return fmt.Errorf("read backup: %w", err)
			}
			u.kinds[p] = tar.TypeDir
		}
	}
	return nil
}

func (u *unpacker) file(name string, h *tar.Header, r io.Reader) error {
	f, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return archiveError(err, 1)
	}
	err = u.chown(h, f.Chown)
	if err == nil {
		err = f.Chmod(mode(h))
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return u.root.Chtimes(name, h.ModTime, h.ModTime)
}

// linkTime sets the mtime of the symlink name itself, through its dir
// opened under root (os.Root's Chtimes would follow the link).
func (u *unpacker) linkTime(name string, h *tar.Header) error {
	dir, err := u.root.Open(filepath.Dir(name))
	if err != nil {
		return err
	}
	defer dir.Close()
	ts := unix.NsecToTimespec(h.ModTime.UnixNano())
	return unix.UtimesNanoAt(int(dir.Fd()), filepath.Base(name), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// finish checks that no symlink resolves outside the dir (a symlink to a
// symlink to "." and a "..": each inside, together outside) and gives the
// dirs their owners, modes and mtimes, deepest first.
func (u *unpacker) finish() error {
	for _, s := range u.symlinks {
		if _, err := u.root.Stat(s); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: symlink %q: %v", ErrBadBackup, s, err)
		}
	}
	for i := len(u.dirs) - 1; i >= 0; i-- {
		h := u.dirs[i]
		name, _ := entryName(h.Name)
		err := u.chown(h, func(uid, gid int) error { return u.root.Lchown(name, uid, gid) })
		if err == nil {
			err = u.root.Chmod(name, mode(h))
		}
		if err == nil {
			err = u.root.Chtimes(name, h.ModTime, h.ModTime)
		}
		if err != nil {
			return fmt.Errorf("read backup: %w", err)
		}
	}
	return nil
}

func (u *unpacker) chown(h *tar.Header, chown func(uid, gid int) error) error {
	if os.Geteuid() != 0 {
		return nil // the files are gitship's user's: it cannot give them away
	}
	return chown(h.Uid, h.Gid)
}

func (u *unpacker) wrap(h *tar.Header, err error) error {
	if err == nil || errors.Is(err, ErrBadBackup) {
		return err
	}
	return fmt.Errorf("read backup: entry %q: %w", h.Name, err)
}

// mode is the permission bits of h, setgid and sticky included.
func mode(h *tar.Header) fs.FileMode {
	m := fs.FileMode(h.Mode).Perm()
	if h.Mode&04000 != 0 {
		m |= fs.ModeSetuid
	}
	if h.Mode&02000 != 0 {
		m |= fs.ModeSetgid
	}
	if h.Mode&01000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}
