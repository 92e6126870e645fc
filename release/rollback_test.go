package release

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// rbSha3 is a third commit, for histories of three releases.
const rbSha3 = "aaaabbbbccccddddeeeeffff0000111122223333"

// rollback rolls demo back to target and returns the record, the error
// and the output.
func (e *env) rollback(t *testing.T, target string) (*state.Record, error, string) {
	t.Helper()
	var out strings.Builder
	r, err := e.d.Rollback(t.Context(), "demo", target, RollbackOptions{}, &out)
	if held := e.lk.stillHeld(); len(held) > 0 {
		t.Errorf("locks still held after Rollback: %v", held)
	}
	return r, err, out.String()
}

// editApp changes demo's stored app state.
func (e *env) editApp(t *testing.T, f func(a *state.App)) {
	t.Helper()
	a, err := state.LoadApp(e.d.Fs, e.d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	f(a)
	if err := state.SaveApp(e.d.Fs, e.d.Config.AppsDir(), a); err != nil {
		t.Fatal(err)
	}
}

func (e *env) app(t *testing.T) *state.App {
	t.Helper()
	a, err := state.LoadApp(e.d.Fs, e.d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) count(t *testing.T) int {
	t.Helper()
	list, err := e.store.List("demo")
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// twoReleases deploys v1 (sha1) and v2 (sha2) with different settings and
// environments; v2 is live. It returns the settings and env of each.
func twoReleases(t *testing.T, e *env) (set1, set2 state.Settings, env1, env2 map[string]string) {
	t.Helper()
	e.editApp(t, func(a *state.App) { a.Env = map[string]string{"GREETING": "one"} })
	e.mustDeploy(t, sha1)
	e.editApp(t, func(a *state.App) {
		a.Env = map[string]string{"GREETING": "two", "EXTRA": "x"}
		a.HealthPath = "/up"
		a.Drain = durp(5 * time.Second)
		a.Domains = []string{"two.example.com"}
	})
	e.mustDeploy(t, sha2)
	r1, err := e.store.Get("demo", 1)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e.store.Get("demo", 2)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(r1.Settings, r2.Settings) || reflect.DeepEqual(r1.Env, r2.Env) {
		t.Fatalf("setup: v1 and v2 have the same settings or env: %+v %v / %+v %v", r1.Settings, r1.Env, r2.Settings, r2.Env)
	}
	return r1.Settings, r2.Settings, r1.Env, r2.Env
}

func TestRollbackDefaultTarget(t *testing.T) {
	e := newOsEnv(t)
	set1, _, env1, _ := twoReleases(t, e)
	builds := len(e.b.reqs)
	v1, err := e.store.Get("demo", 1)
	if err != nil {
		t.Fatal(err)
	}

	r, err, out := e.rollback(t, "")
	if err != nil {
		t.Fatalf("Rollback: %v\noutput:\n%s", err, out)
	}
	if r.Version != 3 || r.Kind != state.KindRollback || r.RollbackOf != 1 || r.Status != state.StatusLive {
		t.Errorf("record %s kind %s rollback_of %d status %s; want v3 rollback of 1, live", r.Name(), r.Kind, r.RollbackOf, r.Status)
	}
	if r.Image != v1.Image || r.ImageID != v1.ImageID || r.Commit != sha1 {
		t.Errorf("image %s (%s) commit %s; want v1's %s (%s) %s", r.Image, r.ImageID, r.Commit, v1.Image, v1.ImageID, sha1)
	}
	if !reflect.DeepEqual(r.Settings, set1) || !reflect.DeepEqual(r.Env, env1) {
		t.Errorf("record settings %+v env %v; want v1's %+v %v", r.Settings, r.Env, set1, env1)
	}
	stored, err := e.store.Get("demo", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored, r) {
		t.Errorf("stored v3 differs from the returned record:\nstored %+v\nreturn %+v", stored, r)
	}
	if len(e.b.reqs) != builds {
		t.Errorf("builder called by a rollback: %d builds, want %d", len(e.b.reqs), builds)
	}
	if got := e.status(t, 2); got != state.StatusRetired {
		t.Errorf("v2 is %s, want retired", got)
	}
	if e.live(t) != "v3" || !e.rt.isRunning("gitship-demo-v3") || e.rt.isRunning("gitship-demo-v2") {
		t.Errorf("live %s, v3 running %v, v2 running %v; want only v3", e.live(t), e.rt.isRunning("gitship-demo-v3"), e.rt.isRunning("gitship-demo-v2"))
	}

	// The container runs v1's image (by the ID v1 recorded) with v1's
	// environment and is probed as v1 was (v1's health path and domain,
	// not v2's).
	spec := e.rt.specs[len(e.rt.specs)-1]
	if want := state.ImageID(v1.ImageID); spec.Name != "gitship-demo-v3" || want == "" || spec.Image != want || spec.Env["GREETING"] != "one" || spec.Env["EXTRA"] != "" {
		t.Errorf("spec %+v; want gitship-demo-v3 of %s with GREETING=one and no EXTRA", spec, want)
	}
	if spec.Labels[container.LabelRelease] != "v3" || spec.Env["GITSHIP_RELEASE"] != "v3" {
		t.Errorf("spec labels %v env %v; want release v3", spec.Labels, spec.Env)
	}
	e.rt.mu.Lock()
	lastHost, lastPath := e.rt.hosts[len(e.rt.hosts)-1], e.rt.paths[len(e.rt.paths)-1]
	e.rt.mu.Unlock()
	if lastHost != "demo.example.com" || lastPath != "/" {
		t.Errorf("v3 probed as %s%s, want demo.example.com/", lastHost, lastPath)
	}
	if n := len(e.px.installs); n != 3 || !strings.Contains(e.px.installs[2], "demo.example.com") || strings.Contains(e.px.installs[2], "two.example.com") {
		t.Errorf("%d installs; want 3, the last serving v1's domain", n)
	}

	// The app's settings are v1's again, for the next push.
	a := e.app(t)
	if !reflect.DeepEqual(a.Settings, set1) || !reflect.DeepEqual(a.Env, env1) {
		t.Errorf("app.json settings %+v env %v; want v1's %+v %v", a.Settings, a.Env, set1, env1)
	}
	wantLines(t, out,
		`-----> Rolling back demo to v1 \(0123456789ab\) as v3: no build, image `+regexp.QuoteMeta(v1.Image),
		`-----> Started gitship-demo-v3`+dur,
		`-----> Retired v2 \(image localhost/gitship/demo:fedcba987654 kept for rollback\)`+dur,
		`-----> demo v3 is live at http://demo\.example\.com/`+dur,
	)
	if strings.Contains(out, "Building") || strings.Contains(out, "!     ") {
		t.Errorf("a rollback built or reported errors:\n%s", out)
	}
}

func TestRollbackToVersion(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	e.mustDeploy(t, sha2)
	e.mustDeploy(t, rbSha3)
	r, err, out := e.rollback(t, "v1")
	if err != nil {
		t.Fatalf("Rollback v1: %v\noutput:\n%s", err, out)
	}
	if r.Version != 4 || r.RollbackOf != 1 || r.Image != ImageTag("demo", sha1) || e.live(t) != "v4" {
		t.Errorf("record %s rollback_of %d image %s, live %s; want v4 of v1's image live", r.Name(), r.RollbackOf, r.Image, e.live(t))
	}
	if got := e.status(t, 3); got != state.StatusRetired {
		t.Errorf("v3 is %s, want retired", got)
	}
	wantLines(t, out, `-----> Rolling back demo to v1 \(0123456789ab\) as v4: no build, image localhost/gitship/demo:0123456789ab`)
}

func TestRollbackRefused(t *testing.T) {
	tests := []struct {
		name   string
		target string
		want   string
	}{
		{"live already", "v3", "demo v3 is live already"},
		{"never live", "v2", "cannot roll back demo to v2: it never went live (failed)"},
		{"unknown", "v9", "demo has no release v9 (see `gitship releases demo`)"},
		{"not vN", "three", `invalid release "three": use vN, e.g. v3`},
		{"v0", "v0", `invalid release "v0": use vN, e.g. v3`},
		{"no v", "3", `invalid release "3": use vN, e.g. v3`},
		{"negative", "v-1", `invalid release "v-1": use vN, e.g. v3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOsEnv(t)
			e.mustDeploy(t, sha1)
			e.b.err = errors.New("build: exit status 1")
			if _, err, out := e.deploy(t, sha2); !errors.Is(err, ErrDeployFailed) {
				t.Fatalf("setup: v2 deploy = %v, want it to fail\n%s", err, out)
			}
			e.b.err = nil
			e.mustDeploy(t, rbSha3)
			before := e.count(t)
			app := e.app(t)
			starts := len(e.rt.specs)

			r, err, out := e.rollback(t, tt.target)
			if err == nil {
				t.Fatalf("Rollback(%q) succeeded: %+v\noutput:\n%s", tt.target, r, out)
			}
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if errors.Is(err, ErrDeployFailed) {
				t.Errorf("error %q claims a rollback ran", err)
			}
			if n := e.count(t); n != before {
				t.Errorf("%d records after a refused rollback, want %d", n, before)
			}
			if len(e.rt.specs) != starts || e.live(t) != "v3" {
				t.Errorf("a container was started (%d starts, want %d) or live changed (%s)", len(e.rt.specs), starts, e.live(t))
			}
			if got := e.app(t); !reflect.DeepEqual(got, app) {
				t.Errorf("app.json changed by a refused rollback:\n got %+v\nwant %+v", got, app)
			}
		})
	}
}

func TestRollbackNothingEarlier(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	_, err, out := e.rollback(t, "")
	if err == nil || err.Error() != "demo has no earlier release to roll back to (see `gitship releases demo`)" {
		t.Errorf("Rollback with one release = %v\noutput:\n%s", err, out)
	}
	if n := e.count(t); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

func TestRollbackPrunedImage(t *testing.T) {
	tests := []struct {
		name   string
		target string
		pruned []string
		want   string
	}{
		{
			name: "default target pruned", target: "", pruned: []string{sha2},
			want: "cannot roll back demo to v2: its image localhost/gitship/demo:fedcba987654 was pruned; releases you can roll back to: v1",
		},
		{
			name: "vN pruned", target: "v1", pruned: []string{sha1},
			want: "cannot roll back demo to v1: its image localhost/gitship/demo:0123456789ab was pruned; releases you can roll back to: v2",
		},
		{
			name: "all pruned", target: "v1", pruned: []string{sha1, sha2},
			want: "cannot roll back demo to v1: its image localhost/gitship/demo:0123456789ab was pruned; no release of demo can be rolled back to",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOsEnv(t)
			e.mustDeploy(t, sha1)
			e.mustDeploy(t, sha2)
			e.mustDeploy(t, rbSha3)
			e.rt.mu.Lock()
			e.rt.pruned = map[string]bool{}
			for _, sha := range tt.pruned {
				e.rt.pruned[ImageTag("demo", sha)] = true
			}
			e.rt.mu.Unlock()
			starts := len(e.rt.specs)
			_, err, out := e.rollback(t, tt.target)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Rollback(%q) = %v\nwant %s\noutput:\n%s", tt.target, err, tt.want, out)
			}
			if n := e.count(t); n != 3 {
				t.Errorf("%d records after a refused rollback, want 3", n)
			}
			if len(e.rt.specs) != starts {
				t.Errorf("a container was started for a pruned image")
			}
		})
	}
}

func TestRollbackUnhealthy(t *testing.T) {
	e := newOsEnv(t)
	twoReleases(t, e)
	app := e.app(t)
	installs, _ := e.px.counts()
	e.rt.mu.Lock()
	e.rt.status = 500
	e.rt.state = container.State{Status: "running", Running: true, Restarts: 1}
	e.rt.mu.Unlock()

	r, err, out := e.rollback(t, "")
	if !errors.Is(err, ErrDeployFailed) {
		t.Fatalf("Rollback = %v, want ErrDeployFailed\noutput:\n%s", err, out)
	}
	const reason = "gitship-demo-v3 exited before it answered (restarted 1 times)"
	if r == nil || r.Version != 3 || r.Status != state.StatusFailed || r.Reason != reason {
		t.Fatalf("record %+v, want v3 failed with %q", r, reason)
	}
	if got := e.status(t, 3); got != state.StatusFailed {
		t.Errorf("stored v3 is %s, want failed", got)
	}
	if got := e.status(t, 2); got != state.StatusLive || e.live(t) != "v2" {
		t.Errorf("v2 is %s, live %s; want v2 still live", got, e.live(t))
	}
	if !e.rt.isRunning("gitship-demo-v2") || e.rt.hasCall("stop gitship-demo-v2") {
		t.Error("the live v2 was stopped by a failed rollback")
	}
	if e.rt.isRunning("gitship-demo-v3") || !e.rt.hasCall("remove gitship-demo-v3") {
		t.Error("the unhealthy v3 was not removed")
	}
	if n, _ := e.px.counts(); n != installs {
		t.Errorf("nginx installs went from %d to %d for an unhealthy rollback", installs, n)
	}
	if got := e.app(t); !reflect.DeepEqual(got, app) {
		t.Errorf("app.json changed by a failed rollback:\n got %+v\nwant %+v", got, app)
	}
	wantLines(t, out,
		`!     Rollback of demo v3 failed: `+regexp.QuoteMeta(reason),
		`!     v2 is still live \(fedcba987654\)\.`,
	)
	if strings.Contains(out, "push again") {
		t.Errorf("a failed rollback tells the pusher to push again:\n%s", out)
	}
}

func TestRollbackTwice(t *testing.T) {
	e := newOsEnv(t)
	_, set2, _, env2 := twoReleases(t, e)
	if r, err, out := e.rollback(t, ""); err != nil || r.RollbackOf != 1 {
		t.Fatalf("first rollback: %v (%+v)\noutput:\n%s", err, r, out)
	}
	r, err, out := e.rollback(t, "")
	if err != nil {
		t.Fatalf("second rollback: %v\noutput:\n%s", err, out)
	}
	if r.Version != 4 || r.RollbackOf != 2 || r.Image != ImageTag("demo", sha2) || r.Commit != sha2 {
		t.Errorf("second rollback %s of v%d image %s; want v4 of v2 with image %s", r.Name(), r.RollbackOf, r.Image, ImageTag("demo", sha2))
	}
	if got := e.status(t, 3); got != state.StatusRetired || e.live(t) != "v4" {
		t.Errorf("v3 is %s, live %s; want v3 retired, v4 live", got, e.live(t))
	}
	a := e.app(t)
	if !reflect.DeepEqual(a.Settings, set2) || !reflect.DeepEqual(a.Env, env2) {
		t.Errorf("app.json settings %+v env %v; want v2's %+v %v", a.Settings, a.Env, set2, env2)
	}
	wantLines(t, out, `-----> Rolling back demo to v2 \(fedcba987654\) as v4: no build, image localhost/gitship/demo:fedcba987654`)
}

// TestRollbackAfterUnconfirmedSwitch: when nginx did not confirm v2, v1
// and v2 are both recorded live; v1 is still a rollback target.
func TestRollbackAfterUnconfirmedSwitch(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	e.px.servedErr = errors.New("nginx did not confirm")
	e.setDomains(t, "demo.example.com", "www.demo.example.com") // a new file: a reload to confirm
	e.mustDeploy(t, sha2)
	e.px.servedErr = nil
	if e.status(t, 1) != state.StatusLive || e.status(t, 2) != state.StatusLive {
		t.Fatalf("setup: v1 %s v2 %s, want both live", e.status(t, 1), e.status(t, 2))
	}
	var out strings.Builder
	r, err := e.d.Rollback(context.Background(), "demo", "v1", RollbackOptions{}, &out)
	if err != nil {
		t.Fatalf("Rollback v1: %v\n%s", err, out.String())
	}
	if r.RollbackOf != 1 || e.live(t) != "v3" {
		t.Errorf("rollback of %d, live %s; want a rollback of v1 live as v3", r.RollbackOf, e.live(t))
	}
}

// TestRollbackSaysWhatChanges: the rollback names the environment keys
// and settings it removes, changes or adds, never a value.
func TestRollbackSaysWhatChanges(t *testing.T) {
	e := newOsEnv(t)
	twoReleases(t, e)
	e.editApp(t, func(a *state.App) { a.Env["SECRET_KEY"] = "s3cr3t-value-42" }) // set since, with --no-restart
	_, err, out := e.rollback(t, "v1")
	if err != nil {
		t.Fatalf("Rollback: %v\n%s", err, out)
	}
	wantLines(t, out,
		`-----> Environment: EXTRA removed, SECRET_KEY removed, GREETING changed \(run with --keep-env to keep today's environment\)`,
		`-----> Settings: domains removed, drain changed, health_path changed`)
	for _, v := range []string{"s3cr3t", "one", "two", "/up"} {
		if strings.Contains(out, v) {
			t.Errorf("output shows the value %q:\n%s", v, out)
		}
	}
	if _, ok := e.app(t).Env["SECRET_KEY"]; ok {
		t.Errorf("SECRET_KEY still in the app's environment after a rollback to v1 without it")
	}
}

// TestRollbackKeepEnv: --keep-env releases the target's image and
// settings with today's environment, and keeps it for the next push.
func TestRollbackKeepEnv(t *testing.T) {
	e := newOsEnv(t)
	set1, _, _, env2 := twoReleases(t, e)
	var b strings.Builder
	r, err := e.d.Rollback(t.Context(), "demo", "v1", RollbackOptions{KeepEnv: true}, &b)
	out := b.String()
	if err != nil {
		t.Fatalf("Rollback: %v\n%s", err, out)
	}
	wantLines(t, out,
		`-----> Environment: today's kept \(--keep-env\); v1's would have: EXTRA removed, GREETING changed`,
		`-----> Settings: domains removed, drain changed, health_path changed`)
	if !reflect.DeepEqual(r.Env, env2) || !reflect.DeepEqual(r.Settings, set1) {
		t.Errorf("record env %v settings %+v; want today's env %v and v1's settings %+v", r.Env, r.Settings, env2, set1)
	}
	spec := e.rt.specs[len(e.rt.specs)-1]
	if spec.Env["GREETING"] != "two" || spec.Env["EXTRA"] != "x" {
		t.Errorf("container env %v; want today's GREETING=two EXTRA=x", spec.Env)
	}
	if a := e.app(t); !reflect.DeepEqual(a.Env, env2) || !reflect.DeepEqual(a.Settings, set1) {
		t.Errorf("app env %v settings %+v after; want today's env and v1's settings", a.Env, a.Settings)
	}
}

// TestRollbackSameEnvSaysNothing: no environment line when nothing in it
// changes.
func TestRollbackSameEnvSaysNothing(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	e.mustDeploy(t, sha2)
	_, err, out := e.rollback(t, "v1")
	if err != nil {
		t.Fatalf("Rollback: %v\n%s", err, out)
	}
	if strings.Contains(out, "Environment:") || strings.Contains(out, "Settings:") {
		t.Errorf("a rollback that changes neither says it does:\n%s", out)
	}
}
