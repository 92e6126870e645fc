package release

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// migrated deploys v1 (db=old) then v2, whose release command is taken
// to migrate db: snapshot s-2 ("before release v2") holds db=old.
func migrated(t *testing.T) *env {
	t.Helper()
	e := phaseEnv(t)
	e.mustDeploy(t, sha1)
	writeDB := func(s string) {
		if err := os.WriteFile(filepath.Join(e.d.dataDir("demo"), "db"), []byte(s), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	writeDB("old\n")
	e.mustDeploy(t, sha2)
	writeDB("migrated\n")
	return e
}

// TestRollbackWithData: the rollback to v1 starts one release on the
// data of the snapshot taken before release v2; the data it replaced is
// a snapshot "rollback", whose restore brings the migrated data back.
func TestRollbackWithData(t *testing.T) {
	e := migrated(t)
	var out strings.Builder
	r, err := e.d.Rollback(t.Context(), "demo", "v1", RollbackOptions{WithData: true}, &out)
	if err != nil {
		t.Fatalf("Rollback: %v\n%s", err, out.String())
	}
	if r.Kind != state.KindRollback || r.Version != 3 || r.Commit != sha1 || e.live(t) != "v3" || e.count(t) != 3 {
		t.Errorf("rollback release %+v, live %s, %d releases", r, e.live(t), e.count(t))
	}
	if got := readData(t, e, "db"); got != "old\n" {
		t.Errorf("data after the rollback: %q", got)
	}
	if len(e.rt.runs) != 2 {
		t.Errorf("the release command ran on a rollback: %d runs", len(e.rt.runs))
	}
	wantLines(t, out.String(),
		`-----> Copied snapshot s-2 \(4 B\) \([0-9.]+s\)`,
		`-----> Restored data swapped in, app paused [0-9.]+s`,
		`-----> Data: snapshot s-2, taken before release v2`,
		"-----> The data it replaced is snapshot s-3: `gitship restore demo s-3` puts it back")
	list, err := e.d.Snapshots("demo")
	if err != nil || len(list) != 3 || list[2].ID != "s-3" || list[2].Before != "rollback" {
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

// TestRollbackWithDataRefused: no snapshot before the next release (it
// ran no release command, or the snapshot was removed): one line,
// nothing changed, no release.
func TestRollbackWithDataRefused(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T) *env
		want  string
	}{
		{"no release command", func(t *testing.T) *env {
			e := newOsEnv(t)
			e.mustDeploy(t, sha1)
			e.mustDeploy(t, sha2)
			if err := os.WriteFile(filepath.Join(e.d.dataDir("demo"), "db"), []byte("migrated\n"), 0o640); err != nil {
				t.Fatal(err)
			}
			return e
		}, "cannot roll back demo to v1 with its data: v2 ran no release command"},
		{"snapshot gone", func(t *testing.T) *env {
			e := migrated(t)
			if err := os.Remove(filepath.Join(state.SnapshotsDir(e.d.Config.AppsDir(), "demo"), "s-2.json")); err != nil {
				t.Fatal(err)
			}
			return e
		}, "cannot roll back demo to v1 with its data: the snapshot taken before release v2 is gone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.setup(t)
			before, _ := e.d.Snapshots("demo")
			var out strings.Builder
			_, err := e.d.Rollback(t.Context(), "demo", "v1", RollbackOptions{WithData: true}, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Rollback = %v, want one line with %q", err, tt.want)
			}
			if got := readData(t, e, "db"); got != "migrated\n" || e.live(t) != "v2" || e.count(t) != 2 {
				t.Errorf("data %q, live %s, %d releases after a refused rollback", got, e.live(t), e.count(t))
			}
			if after, _ := e.d.Snapshots("demo"); len(after) != len(before) {
				t.Errorf("%d snapshots, want %d", len(after), len(before))
			}
		})
	}
}

// TestRollbackWithDataUnhealthy: a rollback that fails its checks puts
// the data back under the live release and drops the undo snapshot.
func TestRollbackWithDataUnhealthy(t *testing.T) {
	e := migrated(t)
	e.rt.mu.Lock()
	e.rt.status = 500
	e.rt.state = container.State{Status: "running", Running: true, Restarts: 1}
	e.rt.mu.Unlock()
	var out strings.Builder
	_, err := e.d.Rollback(t.Context(), "demo", "v1", RollbackOptions{WithData: true}, &out)
	if !errors.Is(err, ErrDeployFailed) {
		t.Fatalf("Rollback = %v, want ErrDeployFailed\n%s", err, out.String())
	}
	if got := readData(t, e, "db"); got != "migrated\n" || e.live(t) != "v2" {
		t.Errorf("data %q, live %s after a failed rollback", got, e.live(t))
	}
	wantLines(t, out.String(), `!     The data is back as it was before the rollback\.`)
	if list, _ := e.d.Snapshots("demo"); len(list) != 2 {
		t.Errorf("%d snapshots, want 2", len(list))
	}
	if m, _ := filepath.Glob(filepath.Join(e.d.appDir("demo"), "data.*")); len(m) > 0 {
		t.Errorf("left behind: %v", m)
	}
}
