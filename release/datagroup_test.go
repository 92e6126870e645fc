package release

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gitship/gitship/state"
)

// statOf returns path's mode and group, not following a symlink.
func statOf(t *testing.T, path string) (fs.FileMode, int) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode(), int(fi.Sys().(*syscall.Stat_t).Gid)
}

func TestGroupShare(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("chown to another group needs root")
	}
	const gid = AppGIDBase + 7
	base := t.TempDir()
	data := filepath.Join(base, "data")
	outside := filepath.Join(base, "outside.txt")
	for _, d := range []string{data, filepath.Join(data, "db"), filepath.Join(data, "db", "deep")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]fs.FileMode{
		"app.db":          0o644, // SQLite's default, as root: read-only for the group
		"db/deep/x.log":   0o600,
		"db/run.sh":       0o750,
		"already.txt":     0o660,
		"db/other.sqlite": 0o640,
	}
	for name, mode := range files {
		p := filepath.Join(data, name)
		if err := os.WriteFile(p, []byte(name), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(data, "already.txt"), -1, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outside, []byte("host file"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Links out of the data dir (the app can plant them) are left alone,
	// and so is what they point at.
	if err := os.Symlink(outside, filepath.Join(data, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(base, filepath.Join(data, "db", "up")); err != nil {
		t.Fatal(err)
	}
	linkMode, linkGID := statOf(t, filepath.Join(data, "escape"))

	n, err := GroupShare(data, gid)
	if err != nil {
		t.Fatal(err)
	}
	// every entry but already.txt and the two links
	if n != 7 {
		t.Errorf("changed %d entries, want 7", n)
	}
	want := map[string]fs.FileMode{
		".":               fs.ModeDir | fs.ModeSetgid | 0o775,
		"db":              fs.ModeDir | fs.ModeSetgid | 0o775,
		"db/deep":         fs.ModeDir | fs.ModeSetgid | 0o775,
		"app.db":          0o664,
		"db/deep/x.log":   0o660,
		"db/run.sh":       0o770,
		"already.txt":     0o660,
		"db/other.sqlite": 0o660,
	}
	for name, wm := range want {
		mode, g := statOf(t, filepath.Join(data, name))
		if mode != wm || g != gid {
			t.Errorf("%s: mode %v group %d, want %v group %d", name, mode, g, wm, gid)
		}
	}
	if mode, g := statOf(t, outside); mode != 0o600 || g != os.Getgid() {
		t.Errorf("the file a link points to was changed: mode %v group %d", mode, g)
	}
	if mode, g := statOf(t, base); g != os.Getgid() || mode&0o070 == 0o070 {
		t.Errorf("the dir a link points to was changed: mode %v group %d", mode, g)
	}
	if mode, g := statOf(t, filepath.Join(data, "escape")); mode != linkMode || g != linkGID {
		t.Errorf("a link was changed: mode %v group %d", mode, g)
	}

	// Run again: nothing left to do.
	if n, err := GroupShare(data, gid); err != nil || n != 0 {
		t.Errorf("second run changed %d entries (%v), want 0", n, err)
	}
}

func TestGroupShareMissingDir(t *testing.T) {
	_, err := GroupShare(filepath.Join(t.TempDir(), "nope"), AppGIDBase)
	if err == nil || !strings.Contains(err.Error(), "open data dir") {
		t.Errorf("err = %v, want one about the data dir", err)
	}
}

func TestAppGIDUniqueAndKept(t *testing.T) {
	e := newMemEnv(t)
	// "one" holds the gid "two" hashes to: "two" gets the next one.
	apps := []*state.App{{Name: "one", GID: hashGID("two")}, {Name: "two"}, {Name: "three"}}
	for _, a := range apps {
		if err := state.SaveApp(e.d.Fs, e.d.Config.AppsDir(), a); err != nil {
			t.Fatal(err)
		}
	}
	if g, err := e.d.appGID("two"); err != nil || g != hashGID("two")+1 {
		t.Errorf("two: gid %d (%v), want %d", g, err, hashGID("two")+1)
	}
	seen := map[int]string{hashGID("two"): "one"}
	for _, name := range []string{"two", "three"} {
		g, err := e.d.appGID(name)
		if err != nil {
			t.Fatal(err)
		}
		if g < AppGIDBase || g >= AppGIDBase+AppGIDCount {
			t.Errorf("%s: gid %d outside the range", name, g)
		}
		if other, ok := seen[g]; ok {
			t.Errorf("%s and %s share gid %d", name, other, g)
		}
		seen[g] = name
		again, err := e.d.appGID(name)
		if err != nil || again != g {
			t.Errorf("%s: second lookup %d (%v), want %d kept", name, again, err, g)
		}
		stored, err := state.LoadApp(e.d.Fs, e.d.Config.AppsDir(), name)
		if err != nil || stored.GID != g {
			t.Errorf("%s: app.json holds gid %d (%v), want %d", name, stored.GID, err, g)
		}
	}
}

// A release whose image runs as another user than the last one's starts
// only after the data dir's content is the app group's and
// group-writable; a release with the same user does not walk it.
func TestDeployUserChangeSharesData(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("chown to another group needs root")
	}
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	data := e.d.dataDir("demo")
	db := filepath.Join(data, "app.db")
	writeAs := func(mode fs.FileMode) {
		if err := os.WriteFile(db, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(db, mode); err != nil {
			t.Fatal(err)
		}
	}
	writeAs(0o644) // as the root release's SQLite would
	// same user (root): no walk
	_, err, out := e.deploy(t, sha2)
	if err != nil {
		t.Fatal(err)
	}
	if mode, _ := statOf(t, db); mode != 0o644 || strings.Contains(out, "group-writable") {
		t.Errorf("same user: app.db mode %v, output:\n%s", mode, out)
	}
	// another user: the walk runs before the start, and again once the
	// old release (still root until it stops) is gone
	e.rt.mu.Lock()
	e.rt.user = "1000"
	e.rt.mu.Unlock()
	late := filepath.Join(data, "late.db")
	e.d.Pause = func(_ context.Context, step string) {
		if step != "drain" {
			return
		}
		if err := os.WriteFile(late, []byte("x"), 0o644); err != nil {
			t.Error(err)
		}
	}
	_, err, out = e.deploy(t, sha1)
	if err != nil {
		t.Fatal(err)
	}
	a, err := state.LoadApp(e.d.Fs, e.d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{db, late} {
		if mode, g := statOf(t, p); mode != 0o664 || g != a.GID {
			t.Errorf("after a change of user: %s mode %v group %d, want 0664 group %d", p, mode, g, a.GID)
		}
	}
	wantLines(t, out, `-----> Made the data dir group-writable for user 1000 \(1 changed\)`+dur)
	if rec, err := e.store.Get("demo", 3); err != nil || rec.ImageUser != "1000" {
		t.Errorf("v3 records image user %q (%v), want 1000", rec.ImageUser, err)
	}
}

// A data dir from before data groups (nginx's group) is migrated, with
// what it holds, by the next release.
func TestDeployMigratesDataGroup(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("chown to another group needs root")
	}
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	data := e.d.dataDir("demo")
	old := filepath.Join(data, "old.txt")
	if err := os.WriteFile(old, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	const nginxGID = 33
	for _, p := range []string{data, old} {
		if err := os.Chown(p, -1, nginxGID); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(data, fs.ModeSetgid|0o770); err != nil {
		t.Fatal(err)
	}
	e.mustDeploy(t, sha2)
	a, err := state.LoadApp(e.d.Fs, e.d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{data, old} {
		if _, g := statOf(t, p); g != a.GID {
			t.Errorf("%s has group %d after the release, want the app's %d", p, g, a.GID)
		}
	}
}
