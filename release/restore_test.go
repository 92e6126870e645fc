package release

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitship/gitship/state"
)

func readData(t *testing.T, e *env, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.d.dataDir("demo"), name))
	if os.IsNotExist(err) {
		return "<none>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRestore: a restore swaps the snapshot's data in, keeps what it
// replaced as a snapshot "restore" and releases the live image again as
// a new release; restoring that snapshot undoes it.
func TestRestore(t *testing.T) {
	e := phaseEnv(t)
	e.mustDeploy(t, sha1)
	data := e.d.dataDir("demo")
	if err := os.WriteFile(filepath.Join(data, "db"), []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	e.mustDeploy(t, sha2) // snapshot s-2 holds db=old
	if err := os.WriteFile(filepath.Join(data, "db"), []byte("migrated\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	r, err := e.d.Restore(t.Context(), "demo", RestoreFrom{Snapshot: "s-2"}, &out)
	if err != nil {
		t.Fatalf("Restore: %v\n%s", err, out.String())
	}
	if r.Kind != state.KindRestore || r.Version != 3 || e.live(t) != "v3" || r.Commit != sha2 {
		t.Errorf("restore release %+v, live %s", r, e.live(t))
	}
	if got := readData(t, e, "db"); got != "old\n" {
		t.Errorf("data after restore: %q", got)
	}
	if len(e.rt.runs) != 2 {
		t.Errorf("the release command ran on a restore: %d runs", len(e.rt.runs))
	}
	wantLines(t, out.String(),
		`-----> Copied snapshot s-2 \(4 B\) \([0-9.]+s\)`,
		`-----> Restored data swapped in, app paused [0-9.]+s`,
		"-----> The data it replaced is snapshot s-3: `gitship restore demo s-3` undoes this restore")
	list, err := e.d.Snapshots("demo")
	if err != nil || len(list) != 3 || list[2].ID != "s-3" || list[2].Before != "restore" {
		t.Fatalf("snapshots %v, %v", list, err)
	}
	if _, err := e.d.Restore(t.Context(), "demo", RestoreFrom{Snapshot: "s-3"}, &out); err != nil {
		t.Fatal(err)
	}
	if got := readData(t, e, "db"); got != "migrated\n" {
		t.Errorf("data after the undo: %q", got)
	}
	if m, _ := filepath.Glob(filepath.Join(e.d.appDir("demo"), "data.*")); len(m) > 0 {
		t.Errorf("left behind: %v", m)
	}
}

// TestRestoreRefused: an unknown snapshot, an unknown app, a foreign
// archive: one line, nothing changed.
func TestRestoreRefused(t *testing.T) {
	e := phaseEnv(t)
	e.mustDeploy(t, sha1)
	if err := os.WriteFile(filepath.Join(e.d.dataDir("demo"), "db"), []byte("now\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		app  string
		from RestoreFrom
		want string
	}{
		{"demo", RestoreFrom{Snapshot: "s-9"}, `demo has no snapshot "s-9"`},
		{"nosuch", RestoreFrom{Snapshot: "s-1"}, "nosuch"},
		{"demo", RestoreFrom{Backup: strings.NewReader("not a tar\n"), What: "x.tar.gz"}, "cannot restore demo from x.tar.gz"},
	} {
		var out strings.Builder
		_, err := e.d.Restore(t.Context(), tt.app, tt.from, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Restore(%s, %+v) = %v, want one line with %q", tt.app, tt.from, err, tt.want)
		}
		if got := readData(t, e, "db"); got != "now\n" || e.live(t) != "v1" {
			t.Errorf("data %q, live %s after a refused restore", got, e.live(t))
		}
		if m, _ := filepath.Glob(filepath.Join(e.d.appDir("demo"), "data.*")); len(m) > 0 {
			t.Errorf("left behind: %v", m)
		}
	}
	if list, _ := e.d.Snapshots("demo"); len(list) != 1 {
		t.Errorf("%d snapshots, want 1", len(list))
	}
}
