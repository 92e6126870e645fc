package release

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitship/gitship/state"
)

// TestBackupAll: every app with a data dir is backed up into
// [backup] dir/APP/, the newest [backup] keep of each kept (other files
// left alone); one that fails does not stop the others, and the error
// names it.
func TestBackupAll(t *testing.T) {
	e := newOsEnv(t)
	e.d.Config.Backup.Dir = filepath.Join(t.TempDir(), "backups")
	e.d.Config.Backup.Keep = 2
	// big's data leaves less than min_free: its backup is refused
	e.d.Config.Podman.MinFreeBytes = 990
	e.d.FreeDisk = func(string) (int64, error) { return 1000, nil }
	for app, data := range map[string]string{"demo": "rows\n", "big": strings.Repeat("x", 100)} {
		if app != "demo" {
			if err := state.SaveApp(e.d.Fs, e.d.Config.AppsDir(), &state.App{Name: app}); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(e.d.dataDir(app), 0o770); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.d.dataDir(app), "db"), []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := state.SaveApp(e.d.Fs, e.d.Config.AppsDir(), &state.App{Name: "fresh"}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.d.Config.Backup.Dir, "demo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"demo-20240101T020000Z.tar.gz", "demo-20240102T020000Z.tar.gz", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	err := e.d.BackupAll(t.Context(), &Progress{W: &out, Now: e.d.Now})
	if err == nil || err.Error() != "the backup of 1 of 3 apps failed: big: see the lines above" {
		t.Fatalf("BackupAll = %v\n%s", err, out.String())
	}
	wantLines(t, out.String(),
		`!     backup of big: backup of big refused: .*`,
		`-----> fresh: no data dir yet, nothing to back up`,
		`-----> demo: backup .*/backups/demo/demo-20240501T1200[0-9]{2}Z\.tar\.gz`)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 3 || names[0] != "demo-20240102T020000Z.tar.gz" || !strings.HasPrefix(names[1], "demo-20240501T") || names[2] != "notes.txt" {
		t.Errorf("backups of demo: %v", names)
	}
	f, err := os.Open(filepath.Join(dir, names[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := t.TempDir()
	if err := ReadBackup(f, got); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(got, "db")); string(b) != "rows\n" {
		t.Errorf("backup holds db=%q", b)
	}
	if m, _ := filepath.Glob(filepath.Join(e.d.Config.Backup.Dir, "big", "*")); len(m) > 0 {
		t.Errorf("a failed backup left %v", m)
	}
}

// TestCronBackupLine: the cron file backs every app up nightly.
func TestCronBackupLine(t *testing.T) {
	content := CronFile("/usr/local/bin/gitship", "/etc/gitship/config.toml", nil)
	if !slices.Contains(strings.Split(content, "\n"), "23 2 * * * root /usr/local/bin/gitship --config /etc/gitship/config.toml backup --all") {
		t.Errorf("no nightly backup line:\n%s", content)
	}
}
