package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackupRoundTrip: what Backup writes, ReadBackup unpacks as it was
// (modes, owners, setgid, symlinks, mtimes; the fifo left out), taken
// while the app's containers were paused.
func TestBackupRoundTrip(t *testing.T) {
	e, data := snapEnv(t)
	// an absolute symlink is copied by a snapshot but refused by
	// ReadBackup (it leaves the dir): not in a backup meant to restore
	if err := os.Remove(filepath.Join(data, "abs")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var out strings.Builder
	if err := e.d.Backup(t.Context(), "demo", &buf, &Progress{W: &out, Now: e.d.Now}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "-----> Backup of /data: 15 B in ") || !strings.Contains(out.String(), "skipped (device files, sockets, fifos are not copied): fifo") {
		t.Errorf("output:\n%s", out.String())
	}
	if !e.rt.hasCall("pause gitship-demo-v1-web-1") || !e.rt.hasCall("unpause gitship-demo-v1-web-1") || len(e.rt.pausedNow()) > 0 {
		t.Errorf("calls %v, paused %v", e.rt.callList(), e.rt.pausedNow())
	}
	if left, _ := filepath.Glob(filepath.Join(e.d.appDir("demo"), ".backup-*")); len(left) > 0 {
		t.Errorf("temp files left: %v", left)
	}
	stage := t.TempDir()
	if err := ReadBackup(bytes.NewReader(buf.Bytes()), stage); err != nil {
		t.Fatal(err)
	}
	sameTree(t, data, stage)
}

// TestBackupToFile: the file appears whole with mode 0600, or not at all.
func TestBackupToFile(t *testing.T) {
	e, _ := snapEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "b.tgz")
	if err := e.d.BackupToFile(t.Context(), "demo", path, &Progress{W: &strings.Builder{}, Now: e.d.Now}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode())
	}
	if err := e.d.BackupToFile(t.Context(), "nosuch", filepath.Join(dir, "n.tgz"), &Progress{W: &strings.Builder{}, Now: e.d.Now}); err == nil {
		t.Error("backup of an unknown app: no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files %v, want b.tgz alone", entries)
	}
}

type entry struct {
	name, link string
	typ        byte
	body       string
}

// archive makes a gzip'd tar of entries.
func archive(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), ModTime: time.Unix(1e9, 0)}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil && e.typ == tar.TypeReg {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, s string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	gz.Write([]byte(s))
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReadBackupRefuses: each bad archive is one line, ErrBadBackup, and
// nothing appears outside the staging dir.
func TestReadBackupRefuses(t *testing.T) {
	good := archive(t, entry{name: "./", typ: tar.TypeDir}, entry{name: "./a.txt", typ: tar.TypeReg, body: strings.Repeat("data ", 5000)})
	reg := func(name string) entry { return entry{name: name, typ: tar.TypeReg, body: "x"} }
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "truncated or damaged"},
		{"trailer cut", good[:len(good)-4], "truncated or damaged"},
		{"not gzip", []byte("hello, not an archive\n"), "not a gzip'd tar"},
		{"gzip but not tar", gzipped(t, strings.Repeat("not a tar header ", 64)), "not a gzip'd tar"},
		{"empty", archive(t), "an empty archive"},
		{"dotdot", archive(t, reg("../x")), `entry "../x" is outside the data dir`},
		{"dotdot inside", archive(t, reg("./a/../../x")), `entry "./a/../../x" is outside the data dir`},
		{"absolute", archive(t, reg("/tmp/x")), `entry "/tmp/x" is outside the data dir`},
		{"absolute symlink", archive(t, entry{name: "l", link: "/etc", typ: tar.TypeSymlink}), `entry "l": a symlink to "/etc", outside the data dir`},
		{"escaping symlink", archive(t, entry{name: "d/l", link: "../../x", typ: tar.TypeSymlink}), `entry "d/l": a symlink to "../../x", outside the data dir`},
		{"symlinks escaping together", archive(t, entry{name: "s", link: ".", typ: tar.TypeSymlink}, entry{name: "t", link: "s/..", typ: tar.TypeSymlink}), `symlink "t"`},
		{"through a symlink", archive(t, entry{name: "sub", typ: tar.TypeDir}, entry{name: "l", link: "sub", typ: tar.TypeSymlink}, reg("l/x")), `entry "l/x": below "l", which is not a dir`},
		{"symlink replaced", archive(t, entry{name: "l", link: "sub", typ: tar.TypeSymlink}, reg("l")), `entry "l": it appears twice`},
		{"char device", archive(t, entry{name: "null", typ: tar.TypeChar}), `entry "null": a device file`},
		{"block device", archive(t, entry{name: "sda", typ: tar.TypeBlock}), `entry "sda": a device file`},
		{"fifo", archive(t, entry{name: "p", typ: tar.TypeFifo}), `entry "p": a fifo`},
		{"hard link outside", archive(t, entry{name: "h", link: "../x", typ: tar.TypeLink}), `entry "h": a hard link to "../x"`},
		{"hard link absolute", archive(t, entry{name: "h", link: "/etc/passwd", typ: tar.TypeLink}), `entry "h": a hard link to "/etc/passwd"`},
		{"hard link to a symlink", archive(t, entry{name: "l", link: "a", typ: tar.TypeSymlink}, entry{name: "h", link: "l", typ: tar.TypeLink}), `entry "h": a hard link to "l"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			stage := filepath.Join(parent, "stage")
			if err := os.Mkdir(stage, 0o700); err != nil {
				t.Fatal(err)
			}
			err := ReadBackup(bytes.NewReader(tt.data), stage)
			if !errors.Is(err, ErrBadBackup) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err %v, want one line with %q", err, tt.want)
			}
			entries, _ := os.ReadDir(parent)
			if len(entries) != 1 {
				t.Errorf("outside the staging dir: %v", entries)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		if err := ReadBackup(bytes.NewReader(good), t.TempDir()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("hard link inside", func(t *testing.T) {
		dir := t.TempDir()
		if err := ReadBackup(bytes.NewReader(archive(t, reg("a"), entry{name: "b", link: "./a", typ: tar.TypeLink})), dir); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "b")); err != nil || string(b) != "x" {
			t.Errorf("b: %q, %v", b, err)
		}
	})
	t.Run("not empty", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "old"), nil, 0o600)
		if err := ReadBackup(bytes.NewReader(good), dir); err == nil || !strings.Contains(err.Error(), "is not empty") {
			t.Errorf("err %v", err)
		}
	})
}
