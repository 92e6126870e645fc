package release

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/state"
)

// leftovers is what dead deploys of demo may leave behind.
type leftovers struct {
	records   map[int]state.Status // version → status; all of sha1
	running   []int                // versions whose containers run
	sockDirs  []int                // versions with a socket dir under RunDir/demo
	buildDirs []string             // names under Root/tmp
}

// lay stores the records, "starts" the containers and creates the dirs.
func (l leftovers) lay(t *testing.T, e *env) {
	t.Helper()
	d := e.d
	for v, st := range l.records {
		r := &state.Record{App: "demo", Version: v, Kind: state.KindPush, Commit: sha1, Status: st,
			Image: ImageTag("demo", sha1), Container: ContainerName("demo", v, ""),
			Socket:   filepath.Join(d.socketDir("demo", v), "web.sock"),
			Settings: state.Settings{Branch: "main", Drain: durp(7 * time.Second)}}
		if st == state.StatusLive || st == state.StatusRetired {
			r.LiveSince = sessionT0
		}
		if err := e.store.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	e.rt.mu.Lock()
	for _, v := range l.running {
		e.rt.running[ContainerName("demo", v, "")] = &http.Server{}
	}
	e.rt.mu.Unlock()
	for _, v := range l.sockDirs {
		if err := os.MkdirAll(d.socketDir("demo", v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range l.buildDirs {
		if err := os.MkdirAll(filepath.Join(d.Config.Root, "tmp", n, "src"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) statuses(t *testing.T) map[int]state.Status {
	t.Helper()
	list, err := e.store.List("demo")
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]state.Status{}
	for _, r := range list {
		m[r.Version] = r.Status
	}
	return m
}

func (e *env) runningNames() []string {
	e.rt.mu.Lock()
	defer e.rt.mu.Unlock()
	var names []string
	for n := range e.rt.running {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestRecover(t *testing.T) {
	tests := []struct {
		name string
		l    leftovers
		// live is the release nginx must be pointed back at; "" with
		// wantRemove for none, "" without it for no nginx change.
		live       int
		wantRemove bool
		want       map[int]state.Status
		reasons    map[int]string
		running    []string
		sockDirs   []string
		buildDirs  []string
		lines      []string
	}{
		{
			name: "killed while starting beside a live release",
			l: leftovers{
				records:   map[int]state.Status{1: state.StatusRetired, 2: state.StatusLive, 3: state.StatusBuilding, 4: state.StatusStarting},
				running:   []int{2, 4},
				sockDirs:  []int{1, 2, 4},
				buildDirs: []string{"build-demo.123", "build-demo.456", "build-other.789", "build-demo-api.1"},
			},
			live: 2,
			want: map[int]state.Status{1: state.StatusRetired, 2: state.StatusLive, 3: state.StatusFailed, 4: state.StatusFailed},
			reasons: map[int]string{
				3: "interrupted while building: the deploy process died",
				4: "interrupted while starting: the deploy process died",
			},
			running: []string{"gitship-demo-v2"},
			// the live link, pointed at v2 with nginx
			sockDirs:  []string{"live", "v2"},
			buildDirs: []string{"build-demo-api.1", "build-other.789"},
			lines: []string{
				`-----> Marked v3 of demo failed: interrupted while building`,
				`-----> Marked v4 of demo failed: interrupted while starting`,
				`-----> Pointed nginx back at v2`,
				`-----> Removed leftover container gitship-demo-v4 \(running\)`,
				`-----> Removed 2 build context\(s\) of interrupted builds`,
			},
		},
		{
			name: "killed during the first deploy",
			l: leftovers{
				records:  map[int]state.Status{1: state.StatusStarting},
				running:  []int{1},
				sockDirs: []int{1},
			},
			wantRemove: true,
			want:       map[int]state.Status{1: state.StatusFailed},
			reasons:    map[int]string{1: "interrupted while starting: the deploy process died"},
			lines: []string{
				`-----> Marked v1 of demo failed: interrupted while starting`,
				`-----> Removed leftover container gitship-demo-v1 \(running\)`,
			},
		},
		{
			name: "killed after a failed release, none live",
			l: leftovers{
				records: map[int]state.Status{1: state.StatusFailed, 2: state.StatusBuilding},
			},
			wantRemove: true,
			want:       map[int]state.Status{1: state.StatusFailed, 2: state.StatusFailed},
			lines:      []string{`-----> Marked v2 of demo failed: interrupted while building`},
		},
		{
			// Killed while retiring: the records are final, but the old
			// container still runs. nginx is not touched.
			name: "killed while retiring",
			l: leftovers{
				records:  map[int]state.Status{1: state.StatusRetired, 2: state.StatusLive},
				running:  []int{1, 2},
				sockDirs: []int{1, 2},
			},
			want:     map[int]state.Status{1: state.StatusRetired, 2: state.StatusLive},
			running:  []string{"gitship-demo-v2"},
			sockDirs: []string{"v2"},
			lines:    []string{`-----> Removed leftover container gitship-demo-v1 \(running\)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOsEnv(t)
			tt.l.lay(t, e)
			var out strings.Builder
			if err := e.d.recover(t.Context(), "demo", &Progress{W: &out, Now: e.d.Now}); err != nil {
				t.Fatalf("recover: %v\noutput:\n%s", err, out.String())
			}
			if got := e.statuses(t); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("statuses %v, want %v", got, tt.want)
			}
			for v, reason := range tt.reasons {
				r, err := e.store.Get("demo", v)
				if err != nil {
					t.Fatal(err)
				}
				if r.Reason != reason || r.Finished.IsZero() {
					t.Errorf("v%d: reason %q finished %v; want %q and a finish time", v, r.Reason, r.Finished, reason)
				}
			}

			e.px.mu.Lock()
			installs, removes, drains := slices.Clone(e.px.installs), e.px.removes, slices.Clone(e.px.drains)
			e.px.mu.Unlock()
			switch {
			case tt.live != 0:
				live, err := e.store.Get("demo", tt.live)
				if err != nil {
					t.Fatal(err)
				}
				_, conf, err := e.d.site("demo", live)
				if err != nil {
					t.Fatal(err)
				}
				if len(installs) != 1 || installs[0] != string(conf) {
					t.Errorf("nginx installs %q, want the live v%d's config once:\n%s", installs, tt.live, conf)
				}
				if removes != 0 {
					t.Errorf("nginx Remove called %d times with a live release", removes)
				}
				if !slices.Equal(drains, []time.Duration{7 * time.Second}) {
					t.Errorf("drains %v, want the live release's 7s", drains)
				}
			case tt.wantRemove:
				if len(installs) != 0 || removes != 1 {
					t.Errorf("nginx: %d installs, %d removes; want the app removed once", len(installs), removes)
				}
			default:
				if len(installs) != 0 || removes != 0 {
					t.Errorf("nginx touched without an interrupted deploy: %d installs, %d removes", len(installs), removes)
				}
			}

			if got := e.runningNames(); !slices.Equal(got, tt.running) {
				t.Errorf("running %v, want %v", got, tt.running)
			}
			for _, v := range tt.l.running {
				name := ContainerName("demo", v, "")
				kept := slices.Contains(tt.running, name)
				if stopped := e.rt.hasCall("stop " + name); stopped == kept {
					t.Errorf("%s: stopped %v, want %v", name, stopped, !kept)
				}
			}
			if got := dirNames(t, filepath.Join(e.d.Config.RunDir, "demo")); !slices.Equal(got, tt.sockDirs) {
				t.Errorf("socket dirs %v, want %v", got, tt.sockDirs)
			}
			if got := dirNames(t, filepath.Join(e.d.Config.Root, "tmp")); !slices.Equal(got, tt.buildDirs) {
				t.Errorf("build dirs %v, want %v", got, tt.buildDirs)
			}
			wantLines(t, out.String(), tt.lines...)
			if n := strings.Count(out.String(), "\n"); n != len(tt.lines) {
				t.Errorf("%d output lines, want %d:\n%s", n, len(tt.lines), out.String())
			}
		})
	}
}

// recoverClean is the state of an app whose deploys all finished.
var recoverClean = leftovers{
	records:  map[int]state.Status{1: state.StatusRetired, 2: state.StatusFailed, 3: state.StatusLive},
	running:  []int{3},
	sockDirs: []int{3},
}

func TestRecoverClean(t *testing.T) {
	e := newOsEnv(t)
	recoverClean.lay(t, e)
	before, err := e.store.List("demo")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := e.d.recover(t.Context(), "demo", &Progress{W: &out, Now: e.d.Now}); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("output for a clean app:\n%s", out.String())
	}
	after, err := e.store.List("demo")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Errorf("records changed:\nbefore %+v\nafter  %+v", before, after)
	}
	if calls := e.rt.callList(); !slices.Equal(calls, []string{"list"}) {
		t.Errorf("runtime calls %v, want only list", calls)
	}
	if installs, _ := e.px.counts(); installs != 0 || e.px.removes != 0 || len(e.px.drains) != 0 {
		t.Errorf("nginx touched: %d installs, %d removes, drains %v", installs, e.px.removes, e.px.drains)
	}
	if got := dirNames(t, filepath.Join(e.d.Config.RunDir, "demo")); !slices.Equal(got, []string{"v3"}) {
		t.Errorf("socket dirs %v, want [v3]", got)
	}
	if got := e.runningNames(); !slices.Equal(got, []string{"gitship-demo-v3"}) {
		t.Errorf("running %v", got)
	}
}

var recoverDirty = leftovers{
	records:   map[int]state.Status{1: state.StatusLive, 2: state.StatusStarting},
	running:   []int{1, 2},
	sockDirs:  []int{1, 2},
	buildDirs: []string{"build-demo.1"},
}

func TestTidyWhileLocked(t *testing.T) {
	e := newOsEnv(t)
	e.d.Locker = FileLock{}
	recoverDirty.lay(t, e)
	unlock, err := FileLock{}.Lock(t.Context(), e.d.lockPath("demo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	var out strings.Builder
	ctx, cancel := context.WithTimeout(t.Context(), lockWait)
	defer cancel()
	if err := e.d.Tidy(ctx, "demo", &Progress{W: &out, Now: e.d.Now}); err != nil {
		t.Fatalf("Tidy while a deploy holds the lock = %v, want nil", err)
	}
	// Tidy never waits for the lock: it returned long before ctx ends.
	if ctx.Err() != nil {
		t.Errorf("Tidy waited for the lock until its ctx ended (%v)", ctx.Err())
	}
	if out.Len() != 0 {
		t.Errorf("output:\n%s", out.String())
	}
	if got, want := e.statuses(t), recoverDirty.records; !reflect.DeepEqual(got, want) {
		t.Errorf("statuses %v, want untouched %v", got, want)
	}
	if calls := e.rt.callList(); len(calls) != 0 {
		t.Errorf("runtime calls %v while a deploy runs", calls)
	}
	if installs, _ := e.px.counts(); installs != 0 || e.px.removes != 0 {
		t.Errorf("nginx touched while a deploy runs")
	}
	if got := dirNames(t, filepath.Join(e.d.Config.RunDir, "demo")); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("socket dirs %v, want [v1 v2] untouched", got)
	}
	if got := dirNames(t, filepath.Join(e.d.Config.Root, "tmp")); !slices.Equal(got, []string{"build-demo.1"}) {
		t.Errorf("build dirs %v, want the running deploy's untouched", got)
	}
	if e.exists(t, e.d.ownerPath("demo")) {
		t.Error("Tidy wrote an owner file without the lock")
	}
}

func TestTidy(t *testing.T) {
	e := newOsEnv(t)
	e.d.Locker = FileLock{}
	recoverDirty.lay(t, e)
	var out strings.Builder
	ctx, cancel := context.WithTimeout(t.Context(), lockWait)
	defer cancel()
	if err := e.d.Tidy(ctx, "demo", &Progress{W: &out, Now: e.d.Now}); err != nil {
		t.Fatalf("Tidy: %v\noutput:\n%s", err, out.String())
	}
	if got, want := e.statuses(t), map[int]state.Status{1: state.StatusLive, 2: state.StatusFailed}; !reflect.DeepEqual(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if got := e.runningNames(); !slices.Equal(got, []string{"gitship-demo-v1"}) {
		t.Errorf("running %v, want only the live v1", got)
	}
	if installs, _ := e.px.counts(); installs != 1 {
		t.Errorf("%d nginx installs, want v1's config once", installs)
	}
	if got := dirNames(t, filepath.Join(e.d.Config.Root, "tmp")); len(got) != 0 {
		t.Errorf("build dirs %v left", got)
	}
	wantLines(t, out.String(), `-----> Marked v2 of demo failed: interrupted while starting`)
	if e.exists(t, e.d.ownerPath("demo")) || e.exists(t, e.d.donePath("demo")) {
		t.Error("Tidy left an owner file or a done mark")
	}
	if !lockFree(t, e.d) {
		t.Error("Tidy left the deploy lock held")
	}
}

// A deploy killed after it pointed the live link at its release, before
// recording it live: the next command points the link back at the live
// release (the file nginx has is the same) and removes the other one.
func TestRecoverRelinks(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	v2 := &state.Record{App: "demo", Version: 2, Kind: state.KindPush, Commit: sha2, Status: state.StatusStarting,
		Image: ImageTag("demo", sha2), Container: ContainerName("demo", 2, ""),
		Socket: filepath.Join(e.d.socketDir("demo", 2), "web.sock"), Settings: state.Settings{Branch: "main"}}
	if err := e.store.Save(v2); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.d.socketDir("demo", 2), 0o755); err != nil {
		t.Fatal(err)
	}
	if changed, err := e.d.pointLink(v2); err != nil || !changed {
		t.Fatalf("pointLink(v2) = %v, %v", changed, err)
	}
	reloads := e.px.switchReloads
	var out strings.Builder
	if err := e.d.recover(t.Context(), "demo", &Progress{W: &out, Now: e.d.Now}); err != nil {
		t.Fatalf("recover: %v\n%s", err, out.String())
	}
	if got := e.link(t); got != "v1" {
		t.Errorf("live link names %q after recover, want v1", got)
	}
	if e.px.switchReloads != reloads {
		t.Errorf("recover changed nginx's file (%d reloads), want the link alone", e.px.switchReloads-reloads)
	}
	wantLines(t, out.String(), `-----> Marked v2 of demo failed: interrupted while starting`, `-----> Pointed nginx back at v1`)
	if e.exists(t, e.d.socketDir("demo", 2)) {
		t.Error("v2's socket dir is left")
	}
}
