package release

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gitship/gitship/container"
)

// Backup writes a gzip'd tar of app's data dir to w (`gitship backup`),
// taken while every running container of the app is paused, as a
// snapshot is. The tar is first written to a temp file beside the app's
// state, so the app is paused for the time of a local write only, never
// for that of a slow reader of w (`ssh ... gitship backup APP >
// app.tar.gz`). Device files, sockets and fifos are left out, hard
// links come out as separate files. It takes app's deploy lock (a
// release running is not waited for: the backup is refused naming it).
func (d *Deployer) Backup(ctx context.Context, app string, w io.Writer, p *Progress) error {
	if err := d.onHostOnly(app, "`gitship backup` (its /data is the cluster's claim)"); err != nil {
		return err
	}
	unlock, _, err := d.lockApp(ctx, app, "gitship backup "+app)
	if err != nil {
		return err
	}
	defer unlock()
	src := d.dataDir(app)
	need, err := treeSize(src)
	if err != nil {
		return err
	}
	if err := d.guardCopy("backup", app, need); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.appDir(app), ".backup-*.tar.gz")
	if err != nil {
		return fmt.Errorf("backup of %s: %w", app, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	var tw tarWriter
	paused, err := d.whilePaused(ctx, app, func() error { return tw.write(src, tmp) })
	if err != nil {
		return fmt.Errorf("backup of %s: %w", app, err)
	}
	p.Say("Backup of %s: %s in %s compressed, app paused %.2fs", container.DataMount, size(tw.size), size(tw.written), paused.Seconds())
	if len(tw.skipped) > 0 {
		p.Info("skipped (device files, sockets, fifos are not copied): %s", strings.Join(tw.skipped, ", "))
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("backup of %s: %w", app, err)
	}
	if _, err := io.Copy(w, tmp); err != nil {
		return fmt.Errorf("backup of %s: write: %w", app, err)
	}
	return nil
}

// BackupToFile is Backup into the file path, atomically (a temp file
// renamed over it once complete) and with mode 0600: the data is the
// app's.
func (d *Deployer) BackupToFile(ctx context.Context, app, path string, p *Progress) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup of %s: %w", app, err)
	}
	defer os.Remove(f.Name()) // nothing left after the rename
	err = f.Chmod(0o600)
	if err == nil {
		err = d.Backup(ctx, app, f, p)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("backup of %s: %w", app, cerr)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("backup of %s: %w", app, err)
	}
	return nil
}

// tarWriter writes a data dir as a gzip'd tar: "./" for the dir itself,
// "./PATH" below it (what `tar -C DIR -czf F .` makes), numeric owners,
// PAX headers (sub-second mtimes, long names).
type tarWriter struct {
	size    int64 // bytes of the files
	written int64 // bytes of the archive
	skipped []string
}

type countWriter struct {
	w io.Writer
	n *int64
}

func (c countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	*c.n += int64(n)
	return n, err
}

func (t *tarWriter) write(src string, w io.Writer) error {
	bw := bufio.NewWriter(countWriter{w, &t.written})
	gz := gzip.NewWriter(bw)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		link := ""
		switch mode := info.Mode(); {
		case mode.IsDir(), mode.IsRegular():
		case mode&fs.ModeSymlink != 0:
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		default:
			t.skipped = append(t.skipped, rel)
			return nil
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = "./" + filepath.ToSlash(rel)
		if rel == "." {
			h.Name = "./"
		} else if info.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		h.Format = tar.FormatPAX
		h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		// exactly the size in the header: a file that grew is cut there
		// (nothing writes: the app is paused)
		n, err := io.Copy(tw, io.LimitReader(f, h.Size))
		if err == nil && n < h.Size {
			err = fmt.Errorf("%s shrank while it was read", rel)
		}
		t.size += n
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("archive %s: %w", src, err)
	}
	return nil
}

// ErrBadBackup is what ReadBackup refuses an archive with.
var ErrBadBackup = errors.New("bad backup")

// ReadBackup unpacks a backup (a gzip'd tar of a data dir, as Backup
// writes it or `tar -C DIR -czf F .` does) into dir, an empty staging
// dir, and nothing outside it. It refuses, with one line naming the
// entry, a truncated or foreign archive, a path outside dir (absolute,
// ..), a symlink whose target leaves dir, a hard link to outside dir or
// to anything not unpacked before it, an entry below a symlink (nothing
// is written through one), device files and fifos. Refused, dir holds
// part of the archive: the caller removes it; the data it was to replace
// has not been touched.
func ReadBackup(r io.Reader, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read backup: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("read backup: %s is not empty", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("read backup: %w", err)
	}
	defer root.Close()
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: not a gzip'd tar (%v)", ErrBadBackup, err)
	}
	u := &unpacker{root: root, kinds: map[string]byte{".": tar.TypeDir}}
	tr := tar.NewReader(gz)
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			if n == 0 {
				return fmt.Errorf("%w: an empty archive", ErrBadBackup)
			}
			break
		}
		if err != nil {
			return archiveError(err, n)
		}
		if err := u.entry(h, tr); err != nil {
			return err
		}
	}
	// the gzip trailer (its CRC and length) after the tar's end
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return archiveError(err, 1)
	}
	return u.finish()
}

// archiveError says whether a gzip or tar error means a cut archive or
// not a tar at all.
func archiveError(err error, entries int) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, gzip.ErrChecksum):
		return fmt.Errorf("%w: truncated or damaged (%v)", ErrBadBackup, err)
	case entries == 0:
		return fmt.Errorf("%w: not a gzip'd tar (%v)", ErrBadBackup, err)
	}
	return fmt.Errorf("%w: %v", ErrBadBackup, err)
}
