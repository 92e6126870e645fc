package release

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// phaseEnv is an env on the real filesystem whose commit has a
// Procfile with a release command, and a data dir with a file in it.
func phaseEnv(t *testing.T) *env {
	e := newOsEnv(t)
	e.rt.noShell = true
	e.src.files["Procfile"] = "web: /web\nrelease: /web touch migrated\n"
	return e
}

// callIndex is where call is in the runtime's calls (-1: not there).
func (e *env) callIndex(prefix string) int {
	return slices.IndexFunc(e.rt.callList(), func(c string) bool { return strings.HasPrefix(c, prefix) })
}

// TestReleasePhase: the release command runs once, after a snapshot and
// before the web container starts, in a container of the new image with
// the release label, /data and restart "no", its output under its step.
func TestReleasePhase(t *testing.T) {
	e := phaseEnv(t)
	e.rt.runOut = "migrating\ndone\n"
	r, err, out := e.deploy(t, sha1)
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	if len(e.rt.runs) != 1 {
		t.Fatalf("%d runs, want 1", len(e.rt.runs))
	}
	s := e.rt.runs[0]
	if s.Process != "release" || s.Restart != "no" || s.Image != r.StartImage() || !slices.Equal(s.Command, []string{"/web", "touch", "migrated"}) ||
		!strings.HasPrefix(s.Name, "gitship-demo-release-v1") || s.DataDir != e.d.dataDir("demo") {
		t.Errorf("release container %+v", s)
	}
	run, start := e.callIndex("run gitship-demo-release-v1"), e.callIndex("start gitship-demo-v1")
	if run < 0 || start < 0 || run > start {
		t.Errorf("release command not run before the web container started: %v", e.rt.callList())
	}
	wantLines(t, out,
		`-----> Snapshot s-1 of /data: 0 B, app paused [0-9.]+s`,
		`-----> Release command: /web touch migrated`,
		`       migrating`,
		`       done`,
		`-----> Release command succeeded \([0-9.]+s\)`)
	list, err := e.d.Snapshots("demo")
	if err != nil || len(list) != 1 || list[0].Before != "release v1" {
		t.Errorf("snapshots %v, %v", list, err)
	}
}

// TestReleasePhaseFails: a release command that exits non-zero fails the
// deploy before anything of the new release starts; the live release
// keeps serving and the output gives the restore command of the snapshot
// taken before it.
func TestReleasePhaseFails(t *testing.T) {
	e := phaseEnv(t)
	e.mustDeploy(t, sha1)
	if err := os.WriteFile(filepath.Join(e.d.dataDir("demo"), "db"), []byte("v1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	e.rt.runCode = 1
	r, err, out := e.deploy(t, sha2)
	if err == nil {
		t.Fatalf("deploy succeeded:\n%s", out)
	}
	if r.Status != state.StatusFailed || e.live(t) != "v1" || !strings.Contains(r.Reason, "release command exited 1") {
		t.Errorf("v2 %s (%s), live %s", r.Status, r.Reason, e.live(t))
	}
	if e.callIndex("start gitship-demo-v2") >= 0 {
		t.Errorf("v2 started: %v", e.rt.callList())
	}
	if !e.rt.isRunning("gitship-demo-v1-web-1") && !e.rt.isRunning("gitship-demo-v1") {
		t.Errorf("v1 no longer runs: %v", e.rt.callList())
	}
	wantLines(t, out,
		`!     Deploy of demo v2 failed: release command exited 1`,
		`!     v1 is still live \(.*\)\.`,
		`!     The release command ran: the data in /data may have changed\.`,
		"!     Put it back as it was before with `gitship restore demo s-2`\\.")
	b, err := os.ReadFile(filepath.Join(e.d.Config.AppsDir(), "demo", "snapshots", "s-2", "db"))
	if err != nil || string(b) != "v1\n" {
		t.Errorf("snapshot s-2 holds %q, %v", b, err)
	}
}

// TestReleasePhaseTimeout: release_timeout ends the command and fails the
// deploy, naming the setting.
func TestReleasePhaseTimeout(t *testing.T) {
	e := phaseEnv(t)
	e.editApp(t, func(a *state.App) { a.Settings.ReleaseTimeout = state.Duration(50 * time.Millisecond) })
	e.rt.runFn = func(ctx context.Context, s container.Spec, stdout io.Writer) (int, error) {
		<-ctx.Done()
		return -1, ctx.Err()
	}
	r, err, out := e.deploy(t, sha1)
	if err == nil || r.Status != state.StatusFailed {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	wantLines(t, out,
		`!     Deploy of demo v1 failed: release command timed out after 50ms \(setting release_timeout\)`,
		"!     Put it back as it was before with `gitship restore demo s-1`\\.")
	if e.callIndex("start ") >= 0 {
		t.Errorf("a container started: %v", e.rt.callList())
	}
}

// TestReleasePhaseNotOnConfigOrRollback: a config change and a rollback
// release the same code: no release command, no snapshot.
func TestReleasePhaseNotOnConfigOrRollback(t *testing.T) {
	e := phaseEnv(t)
	e.mustDeploy(t, sha1)
	e.mustDeploy(t, sha2)
	if len(e.rt.runs) != 2 {
		t.Fatalf("%d runs after two pushes, want 2", len(e.rt.runs))
	}
	if err := e.d.AddDomain(t.Context(), "demo", "www.demo.test", io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Rollback(t.Context(), "demo", "", RollbackOptions{}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if len(e.rt.runs) != 2 {
		t.Errorf("%d runs after a config change and a rollback, want 2", len(e.rt.runs))
	}
	if list, _ := e.d.Snapshots("demo"); len(list) != 2 {
		t.Errorf("%d snapshots, want 2", len(list))
	}
}

// TestReleasePhaseNone: without a release line, no run and no snapshot.
func TestReleasePhaseNone(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	if len(e.rt.runs) != 0 {
		t.Errorf("%d runs", len(e.rt.runs))
	}
	if list, _ := e.d.Snapshots("demo"); len(list) != 0 {
		t.Errorf("%d snapshots", len(list))
	}
}
