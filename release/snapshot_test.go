package release

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitship/gitship/state"
	"golang.org/x/sys/unix"
)

// fillData makes a data dir with what a copy must keep: modes, owners, a
// setgid dir, symlinks (relative, absolute, dangling), mtimes, a fifo it
// must skip.
func fillData(t *testing.T, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub", "deep"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "db.sqlite"), []byte("rows\n"), 0o640))
	must(os.WriteFile(filepath.Join(dir, "sub", "deep", "run.sh"), []byte("#!/bin/sh\n"), 0o750))
	must(os.Chmod(filepath.Join(dir, "sub"), 0o2770|fs.ModeSetgid))
	must(os.Chmod(filepath.Join(dir, "sub"), 0o770|fs.ModeSetgid))
	must(os.Symlink("db.sqlite", filepath.Join(dir, "current")))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "abs")))
	must(os.Symlink("missing", filepath.Join(dir, "dangling")))
	must(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	if os.Geteuid() == 0 {
		must(os.Lchown(filepath.Join(dir, "db.sqlite"), 1234, 5678))
		must(os.Lchown(filepath.Join(dir, "sub"), 1000, 33))
		must(os.Chmod(filepath.Join(dir, "sub"), 0o770|fs.ModeSetgid)) // chown clears setgid
		must(os.Lchown(filepath.Join(dir, "current"), 1234, 5678))
	}
	old := time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)
	for _, p := range []string{"db.sqlite", "sub/deep/run.sh", "sub/deep", "sub"} {
		must(os.Chtimes(filepath.Join(dir, p), old, old))
	}
	ts := unix.NsecToTimespec(old.UnixNano())
	must(unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(dir, "current"), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
}

// sameTree compares two trees entry by entry: type, mode, owner, mtime,
// content, link target. The fifo is expected missing from the copy.
func sameTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		a, err := os.Lstat(path)
		if err != nil {
			return err
		}
		b, err := os.Lstat(filepath.Join(dst, rel))
		if a.Mode()&fs.ModeNamedPipe != 0 {
			if err == nil {
				t.Errorf("%s: a fifo was copied", rel)
			}
			return nil
		}
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if a.Mode() != b.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, b.Mode(), a.Mode())
		}
		sa, sb := a.Sys().(*syscall.Stat_t), b.Sys().(*syscall.Stat_t)
		if sa.Uid != sb.Uid || sa.Gid != sb.Gid {
			t.Errorf("%s: owner %d:%d, want %d:%d", rel, sb.Uid, sb.Gid, sa.Uid, sa.Gid)
		}
		if !a.ModTime().Equal(b.ModTime()) {
			t.Errorf("%s: mtime %v, want %v", rel, b.ModTime(), a.ModTime())
		}
		switch {
		case a.Mode().IsRegular():
			ca, _ := os.ReadFile(path)
			cb, _ := os.ReadFile(filepath.Join(dst, rel))
			if string(ca) != string(cb) {
				t.Errorf("%s: content %q, want %q", rel, cb, ca)
			}
		case a.Mode()&fs.ModeSymlink != 0:
			la, _ := os.Readlink(path)
			lb, _ := os.Readlink(filepath.Join(dst, rel))
			if la != lb {
				t.Errorf("%s: link to %q, want %q", rel, lb, la)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// snapEnv is an env on the real filesystem with the demo app's data dir
// filled and two running containers.
func snapEnv(t *testing.T) (*env, string) {
	e := newOsEnv(t)
	data := e.d.dataDir("demo")
	fillData(t, data)
	e.rt.mu.Lock()
	e.rt.running["gitship-demo-v1-web-1"] = &http.Server{}
	e.rt.running["gitship-demo-v1-worker-1"] = &http.Server{}
	e.rt.mu.Unlock()
	return e, data
}

func TestSnapshot(t *testing.T) {
	e, data := snapEnv(t)
	var out strings.Builder
	s, err := e.d.Snapshot(t.Context(), "demo", "release v2", &Progress{W: &out, Now: e.d.Now})
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "s-1" || s.Before != "release v2" || s.Size != int64(len("rows\n")+len("#!/bin/sh\n")) || !slices.Equal(s.Skipped, []string{"fifo"}) {
		t.Errorf("snapshot %+v", s)
	}
	copyDir := filepath.Join(e.d.appDir("demo"), "snapshots", "s-1")
	sameTree(t, data, copyDir)
	if !regexp.MustCompile(`(?m)^-----> Snapshot s-1 of /data: 15 B, app paused [0-9]+\.[0-9]{2}s$`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "       skipped (device files, sockets, fifos are not copied): fifo") {
		t.Errorf("output:\n%s", out.String())
	}
	// both containers paused before the copy, both unpaused after
	var pauses []string
	for _, c := range e.rt.callList() {
		if strings.HasPrefix(c, "pause ") || strings.HasPrefix(c, "unpause ") {
			pauses = append(pauses, strings.Fields(c)[0])
		}
	}
	if !slices.Equal(pauses, []string{"pause", "pause", "unpause", "unpause"}) {
		t.Errorf("calls %v", e.rt.callList())
	}
	if p := e.rt.pausedNow(); len(p) > 0 {
		t.Errorf("still paused: %v", p)
	}
	list, err := e.d.Snapshots("demo")
	if err != nil || len(list) != 1 || list[0].ID != "s-1" {
		t.Errorf("Snapshots: %v, %v", list, err)
	}
	if _, err := e.d.Snapshots("nosuch"); err == nil {
		t.Error("Snapshots of an unknown app: no error")
	}
}

// TestSnapshotUnpausesOnFailure: a pause that fails, or a deploy
// cancelled while paused, leaves nothing paused and no snapshot.
func TestSnapshotUnpausesOnFailure(t *testing.T) {
	t.Run("pause fails", func(t *testing.T) {
		e, _ := snapEnv(t)
		e.rt.pauseErr = map[string]error{"gitship-demo-v1-worker-1": errors.New("pause gitship-demo-v1-worker-1: boom")}
		_, err := e.d.Snapshot(t.Context(), "demo", "release v2", &Progress{W: &strings.Builder{}, Now: e.d.Now})
		if err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("err %v", err)
		}
		if p := e.rt.pausedNow(); len(p) > 0 {
			t.Errorf("still paused: %v", p)
		}
		noSnapshot(t, e)
	})
	t.Run("cancelled while paused", func(t *testing.T) {
		e, _ := snapEnv(t)
		ctx, cancel := context.WithCancel(t.Context())
		e.rt.onPause = func(string) { cancel() }
		_, err := e.d.Snapshot(ctx, "demo", "release v2", &Progress{W: &strings.Builder{}, Now: e.d.Now})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
		if p := e.rt.pausedNow(); len(p) > 0 {
			t.Errorf("still paused: %v", p)
		}
		noSnapshot(t, e)
	})
	t.Run("unpause fails", func(t *testing.T) {
		e, _ := snapEnv(t)
		e.rt.unpauseErr = map[string]error{"gitship-demo-v1-web-1": errors.New("unpause gitship-demo-v1-web-1: boom")}
		_, err := e.d.Snapshot(t.Context(), "demo", "release v2", &Progress{W: &strings.Builder{}, Now: e.d.Now})
		if err == nil || !strings.Contains(err.Error(), "podman unpause gitship-demo-v1-web-1") {
			t.Fatalf("err %v", err)
		}
		if !e.rt.hasCall("unpause gitship-demo-v1-worker-1") {
			t.Errorf("the other container was not unpaused: %v", e.rt.callList())
		}
	})
}

func noSnapshot(t *testing.T, e *env) {
	t.Helper()
	list, err := e.d.Snapshots("demo")
	if err != nil || len(list) != 0 {
		t.Errorf("snapshots %v, %v", list, err)
	}
	entries, _ := os.ReadDir(filepath.Join(e.d.appDir("demo"), "snapshots"))
	for _, en := range entries {
		if en.IsDir() {
			t.Errorf("left behind: %s", en.Name())
		}
	}
}

// TestSnapshotKeep: after each snapshot only the newest `snapshots` stay,
// record and copy.
func TestSnapshotKeep(t *testing.T) {
	e, _ := snapEnv(t)
	a, err := state.LoadApp(e.d.Fs, e.d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	two := 2
	a.Snapshots = &two
	if err := state.SaveApp(e.d.Fs, e.d.Config.AppsDir(), a); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := e.d.Snapshot(t.Context(), "demo", "restore", &Progress{W: &strings.Builder{}, Now: e.d.Now}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(e.d.appDir("demo"), "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	if want := []string{"last", "s-3", "s-3.json", "s-4", "s-4.json"}; !slices.Equal(names, want) {
		t.Errorf("snapshots dir %v, want %v", names, want)
	}
}

// TestSnapshotDiskGuard: a copy that would leave less than min_free is
// refused in one line before anything is paused or copied.
func TestSnapshotDiskGuard(t *testing.T) {
	e, _ := snapEnv(t)
	e.d.Config.Podman.MinFreeBytes = 2e9
	e.d.FreeDisk = func(string) (int64, error) { return 2e9 + 10, nil } // the data is 15 B
	_, err := e.d.Snapshot(t.Context(), "demo", "release v2", &Progress{W: &strings.Builder{}, Now: e.d.Now})
	want := "snapshot of demo refused: 2.0 GB free under " + e.d.Config.Root + ", a copy of /data (15 B) would leave less than [podman] min_free (2.0 GB): free disk space or lower min_free"
	if err == nil || err.Error() != want {
		t.Fatalf("err %v\nwant %s", err, want)
	}
	if e.rt.hasCall("pause gitship-demo-v1-web-1") {
		t.Error("paused before refusing")
	}
	noSnapshot(t, e)
	if _, err := os.Stat(filepath.Join(e.d.appDir("demo"), "snapshots", "last")); err == nil {
		t.Error("a snapshot number was taken")
	}
	e.d.FreeDisk = func(string) (int64, error) { return 2e9 + 15, nil }
	if _, err := e.d.Snapshot(t.Context(), "demo", "release v2", &Progress{W: &strings.Builder{}, Now: e.d.Now}); err != nil {
		t.Errorf("with just enough: %v", err)
	}
}

// TestTreeCopyClone: a filesystem that cannot clone gets a copy; a clone
// that fails otherwise fails the copy.
func TestTreeCopyClone(t *testing.T) {
	src := t.TempDir()
	fillData(t, src)
	for _, tt := range []struct {
		name   string
		err    error
		fails  bool
		clones int
	}{
		{"cloned", nil, false, 2},
		{"EOPNOTSUPP", unix.EOPNOTSUPP, false, 0},
		{"EXDEV", unix.EXDEV, false, 0},
		{"EINVAL", unix.EINVAL, false, 0},
		{"EIO", unix.EIO, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "copy")
			c := &treeCopy{clone: func(dst, src *os.File) error {
				if tt.err != nil {
					return tt.err
				}
				return cloneByCopy(dst, src)
			}}
			err := c.copy(src, dst)
			if tt.fails {
				if !errors.Is(err, unix.EIO) {
					t.Fatalf("err %v, want EIO", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.reflinked != tt.clones {
				t.Errorf("reflinked %d, want %d", c.reflinked, tt.clones)
			}
			sameTree(t, src, dst)
		})
	}
}

// cloneByCopy stands in for a clone on a filesystem that has none.
func cloneByCopy(dst, src *os.File) error {
	b, err := os.ReadFile(src.Name())
	if err != nil {
		return err
	}
	_, err = dst.Write(b)
	return err
}

// TestSnapshotProgress: a snapshot that takes longer than the progress
// interval says what it is doing while it waits.
func TestSnapshotProgress(t *testing.T) {
	e, _ := snapEnv(t)
	e.d.healthEvery = 5 * time.Millisecond
	e.rt.onPause = func(string) { time.Sleep(30 * time.Millisecond) }
	var out syncBuffer
	if _, err := e.d.Snapshot(t.Context(), "demo", "release v2", &Progress{W: &out, Now: e.d.Now}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !regexp.MustCompile(`(?m)^       copying /data for the snapshot, the app paused: [0-9]+ B of 15 B \([0-9]+s\)$`).MatchString(got) {
		t.Errorf("no progress line while the snapshot waited:\n%s", got)
	}
	// nothing after the snapshot's own line: the ticker stopped
	if i := strings.Index(got, "-----> Snapshot s-1"); i < 0 || strings.Contains(got[i:], "copying") {
		t.Errorf("progress after the snapshot was done:\n%s", got)
	}
}
