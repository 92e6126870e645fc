package release

import (
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
)

const (
	zero  = "0000000000000000000000000000000000000000"
	sha3  = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	short = "0123456789ab" // hook.Short(sha1)
)

// revSource is the fake source resolving a full sha to itself, so a test
// sees which update of a push was deployed.
type revSource struct {
	*fakeSource
	revs []string
}

func (s *revSource) Resolve(repo, rev string) (string, error) {
	s.revs = append(s.revs, rev)
	s.fakeSource.sha = rev
	return s.fakeSource.Resolve(repo, rev)
}

// push runs Push for the updates and returns the deployed revisions, the
// error and the output.
func (e *env) push(t *testing.T, opts PushOptions, updates ...hook.RefUpdate) ([]string, error, string) {
	t.Helper()
	src := &revSource{fakeSource: e.src}
	e.d.Source = src
	var out strings.Builder
	err := e.d.Push(t.Context(), "demo", updates, opts, &out)
	if held := e.lk.stillHeld(); len(held) > 0 {
		t.Errorf("locks still held after Push: %v", held)
	}
	return src.revs, err, out.String()
}

func TestPushPicksTheDeployBranch(t *testing.T) {
	main := hook.RefUpdate{Old: zero, New: sha1, Ref: "refs/heads/main"}
	tests := []struct {
		name    string
		branch  string // the app's deploy branch; "" for main
		updates []hook.RefUpdate
		deploys string // the sha deployed, "" for none
		notes   []string
	}{
		{name: "deploy branch", updates: []hook.RefUpdate{main}, deploys: sha1},
		{name: "other branch", updates: []hook.RefUpdate{{Old: zero, New: sha2, Ref: "refs/heads/feature"}},
			notes: []string{`push to refs/heads/feature: not the deploy branch "main", nothing deployed`}},
		{name: "tag", updates: []hook.RefUpdate{{Old: zero, New: sha2, Ref: "refs/tags/v1.0"}},
			notes: []string{`tag v1.0: not deployed`}},
		{name: "deploy branch deleted", updates: []hook.RefUpdate{{Old: sha1, New: zero, Ref: "refs/heads/main"}},
			notes: []string{`branch main deleted: nothing deployed`}},
		{name: "several refs", updates: []hook.RefUpdate{
			{Old: zero, New: sha2, Ref: "refs/heads/feature"},
			main,
			{Old: zero, New: sha3, Ref: "refs/tags/v1.0"},
			{Old: sha2, New: zero, Ref: "refs/heads/old"},
		}, deploys: sha1, notes: []string{
			`push to refs/heads/feature: not the deploy branch "main", nothing deployed`,
			`tag v1.0: not deployed`,
			`branch old deleted: nothing deployed`,
		}},
		{name: "the app's branch setting", branch: "prod", updates: []hook.RefUpdate{
			main, {Old: zero, New: sha2, Ref: "refs/heads/prod"},
		}, deploys: sha2, notes: []string{`push to refs/heads/main: not the deploy branch "prod", nothing deployed`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOsEnv(t)
			if tt.branch != "" {
				if _, err := e.d.Set(t.Context(), "demo", []string{"branch=" + tt.branch}); err != nil {
					t.Fatal(err)
				}
			}
			revs, err, out := e.push(t, PushOptions{}, tt.updates...)
			if err != nil {
				t.Fatalf("Push: %v\noutput:\n%s", err, out)
			}
			for _, n := range tt.notes {
				wantLines(t, out, `-----> `+regexp.QuoteMeta(n))
			}
			recs, err := e.store.List("demo")
			if err != nil {
				t.Fatal(err)
			}
			if tt.deploys == "" {
				if len(revs) > 0 || len(recs) > 0 || strings.Contains(out, "Deploying") {
					t.Errorf("deployed %v, %d releases; want nothing\noutput:\n%s", revs, len(recs), out)
				}
				return
			}
			if len(revs) != 1 || revs[0] != tt.deploys {
				t.Errorf("deployed %v, want [%s]", revs, tt.deploys)
			}
			if len(recs) != 1 || recs[0].Commit != tt.deploys || recs[0].Kind != state.KindPush || recs[0].Status != state.StatusLive {
				t.Errorf("releases %+v, want one live push of %s", recs, tt.deploys)
			}
			if n := len(strings.Split(strings.TrimSpace(out), "\n")); n < len(tt.notes)+2 {
				t.Errorf("output has %d lines:\n%s", n, out)
			}
		})
	}
}

func TestPushUnknownApp(t *testing.T) {
	e := newMemEnv(t)
	var out strings.Builder
	err := e.d.Push(t.Context(), "nope", []hook.RefUpdate{{Old: zero, New: sha1, Ref: "refs/heads/main"}}, PushOptions{}, &out)
	if !errors.Is(err, state.ErrNoApp) {
		t.Errorf("Push of an unknown app = %v, want state.ErrNoApp", err)
	}
}

func TestParsePushOptions(t *testing.T) {
	tests := []struct {
		name    string
		raw     map[string]string
		want    PushOptions
		wantErr string
	}{
		{name: "none", raw: map[string]string{}},
		{name: "others ignored", raw: map[string]string{"ci.skip": "true", "merge_request.create": "true", "gitshipdeploy": "false"}},
		{name: "deploy=false", raw: map[string]string{"gitship.deploy": "false"}, want: PushOptions{NoDeploy: true}},
		{name: "deploy=true", raw: map[string]string{"gitship.deploy": "true"}},
		{name: "deploy=no", raw: map[string]string{"gitship.deploy": "no"},
			wantErr: `push option gitship.deploy=no: want true or false; nothing deployed`},
		{name: "health_timeout", raw: map[string]string{"gitship.health_timeout": "2m"},
			want: PushOptions{HealthTimeout: 2 * time.Minute}},
		{name: "health_timeout as the setting checks it", raw: map[string]string{"gitship.health_timeout": "2h"},
			wantErr: `push option gitship.health_timeout: invalid duration "2h": use Go's form (30s, 2m) between 1s and 1h0m0s; nothing deployed`},
		{name: "health_timeout not a duration", raw: map[string]string{"gitship.health_timeout": "soon"},
			wantErr: `push option gitship.health_timeout: invalid duration "soon"`},
		{name: "both", raw: map[string]string{"gitship.deploy": "false", "gitship.health_timeout": "5s"},
			want: PushOptions{NoDeploy: true, HealthTimeout: 5 * time.Second}},
		{name: "unknown", raw: map[string]string{"gitship.skip-health": "true", "gitship.deploy": "false"},
			wantErr: `unknown push option "gitship.skip-health": use gitship.deploy=false or gitship.health_timeout=DURATION or gitship.watch=DURATION; nothing deployed`},
		{name: "watch=0", raw: map[string]string{"gitship.watch": "0"}, want: PushOptions{HasWatch: true}},
		{name: "watch=5m", raw: map[string]string{"gitship.watch": "5m"}, want: PushOptions{Watch: 5 * time.Minute, HasWatch: true}},
		{name: "watch as the setting checks it", raw: map[string]string{"gitship.watch": "-1s"},
			wantErr: `push option gitship.watch: invalid duration "-1s": use Go's form (30s, 2m) between 0s and 1h0m0s; nothing deployed`},
		{name: "unknown, case matters", raw: map[string]string{"gitship.Deploy": "false"},
			wantErr: `unknown push option "gitship.Deploy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePushOptions(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("options %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The push's watch is recorded with its release (WatchOf reads it) and
// stays out of the app's settings.
func TestPushWatch(t *testing.T) {
	e := newOsEnv(t)
	_, err, out := e.push(t, PushOptions{HasWatch: true}, hook.RefUpdate{Old: zero, New: sha1, Ref: "refs/heads/main"})
	if err != nil {
		t.Fatalf("Push: %v\noutput:\n%s", err, out)
	}
	wantLines(t, out, `-----> Watch off for v1 only \(push option gitship\.watch\)`)
	v1 := storedRecord(t, e, 1)
	if v1.Watch == nil || *v1.Watch != 0 || WatchOf(v1) != 0 {
		t.Errorf("v1 recorded watch %v (WatchOf %s), want 0", v1.Watch, WatchOf(v1))
	}
	a, err := state.LoadApp(e.d.Fs, e.d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if a.Watch != nil {
		t.Errorf("app's watch became %v", *a.Watch)
	}
	_, err, out = e.push(t, PushOptions{}, hook.RefUpdate{Old: sha1, New: sha2, Ref: "refs/heads/main"})
	if err != nil {
		t.Fatalf("Push: %v\noutput:\n%s", err, out)
	}
	if v2 := storedRecord(t, e, 2); v2.Watch != nil || WatchOf(v2) != state.DefaultWatch || strings.Contains(out, "Watch") {
		t.Errorf("a push without the option: watch %v (WatchOf %s), output:\n%s", v2.Watch, WatchOf(v2), out)
	}
}

func TestPushNoDeploy(t *testing.T) {
	e := newOsEnv(t)
	revs, err, out := e.push(t, PushOptions{NoDeploy: true},
		hook.RefUpdate{Old: zero, New: sha1, Ref: "refs/heads/main"},
		hook.RefUpdate{Old: zero, New: sha2, Ref: "refs/tags/v1.0"})
	if err != nil {
		t.Fatalf("Push: %v\noutput:\n%s", err, out)
	}
	wantLines(t, out,
		`-----> tag v1\.0: not deployed`,
		"-----> push to refs/heads/main: not deployed \\(gitship\\.deploy=false\\); release it with `gitship deploy demo`",
	)
	if len(revs) > 0 || len(e.b.reqs) > 0 || len(e.rt.callList()) > 0 || len(e.px.installs) > 0 {
		t.Errorf("resolved %v, built %d, runtime %v, nginx %d: want nothing done", revs, len(e.b.reqs), e.rt.callList(), len(e.px.installs))
	}
	if _, err := e.store.Get("demo", 1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("v1: %v, want no release", err)
	}
}

// The push's health timeout is recorded with its release and used by its
// health check, and stays out of the app's settings: neither the next push
// nor a rollback to the release inherits it.
func TestPushHealthTimeout(t *testing.T) {
	e := newOsEnv(t)
	e.setHealthTimeout(t, 20*time.Second)
	main := hook.RefUpdate{Old: zero, New: sha1, Ref: "refs/heads/main"}
	_, err, out := e.push(t, PushOptions{HealthTimeout: 90 * time.Second}, main)
	if err != nil {
		t.Fatalf("Push: %v\noutput:\n%s", err, out)
	}
	wantLines(t, out, `-----> Health timeout 1m30s for v1 only \(push option gitship\.health_timeout\)`)
	v1, err := e.store.Get("demo", 1)
	if err != nil {
		t.Fatal(err)
	}
	if v1.HealthTimeout != state.Duration(90*time.Second) || v1.Settings.HealthTimeout != state.Duration(20*time.Second) {
		t.Errorf("v1 recorded health timeout %v, setting %v; want 1m30s, 20s", v1.HealthTimeout, v1.Settings.HealthTimeout)
	}
	a, err := state.LoadApp(e.d.Fs, e.d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if a.HealthTimeout != state.Duration(20*time.Second) {
		t.Errorf("app's health_timeout became %v", a.HealthTimeout)
	}

	// Used: an app that never answers fails after the push's timeout, not
	// after the setting's.
	e.rt.noSocket = true
	_, err, out = e.push(t, PushOptions{HealthTimeout: time.Second}, hook.RefUpdate{Old: sha1, New: sha2, Ref: "refs/heads/main"})
	checkFailed(t, e, storedRecord(t, e, 2), err, out, 2, "gitship-demo-v2 did not answer / within 1s", "v1")

	// Not inherited by the next push.
	e.rt.noSocket = false
	_, err, out = e.push(t, PushOptions{}, hook.RefUpdate{Old: sha2, New: sha1, Ref: "refs/heads/main"})
	if err != nil {
		t.Fatalf("Push: %v\noutput:\n%s", err, out)
	}
	if strings.Contains(out, "Health timeout") {
		t.Errorf("a push without the option says:\n%s", out)
	}
	v3, err := e.store.Get("demo", 3)
	if err != nil {
		t.Fatal(err)
	}
	if v3.HealthTimeout != 0 {
		t.Errorf("v3 recorded health timeout %v, want none", v3.HealthTimeout)
	}
}

// storedRecord is release v of demo as stored.
func storedRecord(t *testing.T, e *env, v int) *state.Record {
	t.Helper()
	r, err := e.store.Get("demo", v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
