package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitship/gitship/state"
)

// warmEnv is an env whose switches start a watch process (Spawn) that the
// test runs itself, in its own goroutine or inline: the pid the fake
// Spawn returns is the test's own, so the watch recognises itself. Its
// sleeps advance the fake clock (no real wait), and whether "the watch
// process" is alive is the test's to say.
type warmEnv struct {
	*env
	clock *fakeClock

	mu      sync.Mutex
	spawned []int
	signals []syscall.Signal
	alive   bool
	slept   time.Duration
	// onSignal runs on every signal sent to the watch (the tests end a
	// watch running in a goroutine there).
	onSignal func(sig syscall.Signal)
}

func newWarmEnv(t *testing.T) *warmEnv {
	e := newOsEnv(t)
	w := &warmEnv{env: e, clock: newClock()}
	e.d.Now = w.clock.Now
	e.d.Spawn = func(app string, v int) (int, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.spawned = append(w.spawned, v)
		w.alive = true
		return os.Getpid(), nil
	}
	e.d.Sleep = func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		w.mu.Lock()
		w.slept += d
		w.mu.Unlock()
		w.clock.advance(d)
		return nil
	}
	e.d.Signal = func(pid int, sig syscall.Signal) error {
		w.mu.Lock()
		w.signals = append(w.signals, sig)
		f := w.onSignal
		w.alive = false // a watch that is not running here ends at once
		w.mu.Unlock()
		if f != nil {
			f(sig)
		}
		return nil
	}
	e.d.Alive = func(pid int) bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return pid == os.Getpid() && w.alive
	}
	return w
}

func (w *warmEnv) setAlive(b bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.alive = b
}

// watch runs the watch of release v to its end and returns its output.
func (w *warmEnv) watch(t *testing.T, v int) string {
	t.Helper()
	var out strings.Builder
	if err := w.d.Watch(t.Context(), "demo", v, &out); err != nil {
		t.Fatalf("Watch v%d: %v\noutput:\n%s", v, err, out.String())
	}
	if held := w.lk.stillHeld(); len(held) > 0 {
		t.Errorf("locks still held after Watch: %v", held)
	}
	w.setAlive(false)
	return out.String()
}

// peek reads the clock without moving it.
func (c *fakeClock) peek() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// stoppedAt records when (on the fake clock) each container was first
// stopped.
func (w *warmEnv) stoppedAt() map[string]time.Time {
	at := map[string]time.Time{}
	var mu sync.Mutex
	w.rt.onStop = func(name string) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := at[name]; !ok {
			at[name] = w.clock.peek()
		}
	}
	return at
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (w *warmEnv) record(t *testing.T, v int) *state.Record {
	t.Helper()
	r, err := w.store.Get("demo", v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// starts lists the containers started, in order.
func (rt *fakeRuntime) starts() []string {
	var out []string
	for _, c := range rt.callList() {
		if n, ok := strings.CutPrefix(c, "start "); ok {
			out = append(out, n)
		}
	}
	return out
}

// TestWarmAfterSwitch: the push returns with the previous release warm:
// its web container still runs (no stop, no remove), its record says
// until when, and a watch process was started for the rest, which the
// push's last line points at.
func TestWarmAfterSwitch(t *testing.T) {
	w := newWarmEnv(t)
	v1 := w.mustDeploy(t, sha1)
	if len(w.spawned) != 0 {
		t.Errorf("the first release started a watch: %v", w.spawned)
	}
	r, err, out := w.deploy(t, sha2)
	if err != nil {
		t.Fatalf("second deploy: %v\n%s", err, out)
	}
	got := w.record(t, 1)
	if got.Status != state.StatusWarm || got.WarmUntil.Sub(r.LiveSince) < state.DefaultWarm || got.WarmUntil.Sub(r.LiveSince) > state.DefaultWarm+5*time.Second {
		t.Errorf("v1 is %s until %s (v2 live since %s), want warm for %s", got.Status, got.WarmUntil, r.LiveSince, state.DefaultWarm)
	}
	if !w.rt.isRunning("gitship-demo-v1") || w.rt.hasCall("stop gitship-demo-v1") || !w.exists(t, v1.Socket) {
		t.Errorf("v1 was stopped or lost its socket: calls %v", w.rt.callList())
	}
	if !slices.Equal(w.spawned, []int{2}) {
		t.Errorf("watches spawned %v, want one of v2", w.spawned)
	}
	if wf, ok := w.d.readWatch("demo"); !ok || wf.PID != os.Getpid() || wf.Live != 2 || wf.Warm != 1 || !wf.WarmUntil.Equal(got.WarmUntil) {
		t.Errorf("watch file %+v, want the watch of v2 keeping v1 warm", wf)
	}
	if strings.Contains(out, "Retired") || len(w.px.drains) != 0 {
		t.Errorf("the push drained or retired v1 itself (drains %v):\n%s", w.px.drains, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	wantLines(t, lines[len(lines)-2], "-----> v1 stays warm until [0-9:]{8}: `gitship rollback demo` switches back at once")
	wantLines(t, lines[len(lines)-1], "-----> v2 is watched until [0-9:]{8}: a crash or a burst of 5xx switches back to v1 by itself; see `gitship status demo`")
	if wf, _ := w.d.readWatch("demo"); wf.WatchUntil.Sub(r.LiveSince) < state.DefaultWatch || wf.WatchUntil.Sub(r.LiveSince) > state.DefaultWatch+5*time.Second {
		t.Errorf("watch until %s (v2 live since %s), want %s after", wf.WatchUntil, r.LiveSince, state.DefaultWatch)
	}
}

// TestWatchRetiresWarmAfterWindow: the watch process retires the warm
// release when its window is over, not before, on the injected clock.
func TestWatchRetiresWarmAfterWindow(t *testing.T) {
	for _, warm := range []time.Duration{state.DefaultWarm, 5 * time.Minute} {
		t.Run(warm.String(), func(t *testing.T) {
			w := newWarmEnv(t)
			w.editApp(t, func(a *state.App) { d := state.Duration(warm); a.Warm = &d })
			v1 := w.mustDeploy(t, sha1)
			w.mustDeploy(t, sha2)
			until := w.record(t, 1).WarmUntil
			at := w.stoppedAt()
			out := w.watch(t, 2)
			if got := w.record(t, 1).Status; got != state.StatusRetired {
				t.Errorf("v1 is %s after the watch, want retired\n%s", got, out)
			}
			if stop := at["gitship-demo-v1"]; stop.Before(until) || stop.After(until.Add(5*time.Second)) {
				t.Errorf("v1 stopped at %s, want at the end of its warm window %s", stop, until)
			}
			if !w.rt.hasCall("stop gitship-demo-v1") || w.rt.isRunning("gitship-demo-v1") || w.exists(t, filepath.Dir(v1.Socket)) {
				t.Errorf("v1 still runs or kept its socket dir: %v", w.rt.callList())
			}
			if !w.rt.isRunning("gitship-demo-v2") {
				t.Error("v2 was stopped")
			}
			if _, ok := w.d.readWatch("demo"); ok {
				t.Error("the watch file is left after the watch ended")
			}
			wantLines(t, out, `-----> v1's warm window is over \(image localhost/gitship/demo:0123456789ab kept for rollback\)`, `-----> Retired v1`)
		})
	}
}

// TestWatchWarmZero: with warm=0 nothing stays warm: the watch retires
// the old release once nginx's old workers drained, or at the drain
// timeout when they do not.
func TestWatchWarmZero(t *testing.T) {
	for _, busy := range []bool{false, true} {
		t.Run(map[bool]string{false: "drained", true: "drain timeout"}[busy], func(t *testing.T) {
			w := newWarmEnv(t)
			w.editApp(t, func(a *state.App) { z := state.Duration(0); a.Warm, a.Watch = &z, &z })
			w.mustDeploy(t, sha1)
			_, err, out := w.deploy(t, sha2)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.record(t, 1).Status; got != state.StatusRetired || !w.rt.isRunning("gitship-demo-v1") {
				t.Errorf("v1 is %s (running %v) when the push returns, want retired and still draining", got, w.rt.isRunning("gitship-demo-v1"))
			}
			wantLines(t, out, "-----> The old release retires in the background; see `gitship status demo`")
			w.px.busy = busy
			wf, _ := w.d.readWatch("demo")
			at := w.stoppedAt()
			out = w.watch(t, 2)
			if w.rt.isRunning("gitship-demo-v1") {
				t.Errorf("v1 still runs after the watch:\n%s", out)
			}
			// drained: at once; nginx's old workers busy: at the drain timeout
			stop := at["gitship-demo-v1"]
			if !busy && w.slept != 0 || busy && (stop.Before(wf.DrainUntil) || stop.After(wf.DrainUntil.Add(5*time.Second))) {
				t.Errorf("v1 stopped at %s after %s of sleep (nginx busy %v, drain until %s)", stop, w.slept, busy, wf.DrainUntil)
			}
		})
	}
}

// TestRollbackWhileWarm: a rollback to the warm release starts no
// container: the new release runs the warm one's, nginx points at its
// socket, and the release rolled from becomes warm in turn.
func TestRollbackWhileWarm(t *testing.T) {
	w := newWarmEnv(t)
	v1 := w.mustDeploy(t, sha1)
	w.mustDeploy(t, sha2)
	before := len(w.rt.starts())
	r, err, out := w.rollback(t, "")
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if started := w.rt.starts()[before:]; len(started) != 0 {
		t.Errorf("the rollback started %v, want no container", started)
	}
	if r.Version != 3 || r.RollbackOf != 1 || r.Status != state.StatusLive || r.Container != v1.Container || r.Socket != v1.Socket || len(r.Procs) != 1 {
		t.Errorf("rollback record %+v, want v3 live on v1's container %s", r, v1.Container)
	}
	if got := w.link(t); got != filepath.Base(filepath.Dir(v1.Socket)) {
		t.Errorf("the live link names %q, want v1's socket dir", got)
	}
	if w.px.switchReloads != 1 {
		t.Errorf("%d installs changed nginx's file, want only the first deploy's: the rollback is the link", w.px.switchReloads)
	}
	if got := w.record(t, 2).Status; got != state.StatusWarm {
		t.Errorf("v2 is %s, want warm", got)
	}
	if got := w.record(t, 1).Status; got != state.StatusRetired {
		t.Errorf("v1 is %s, want retired (v3 runs its container)", got)
	}
	wantLines(t, out,
		`-----> Rolling back demo to v1 \(warm\) \(0123456789ab\) as v3: no build, image localhost/gitship/demo:0123456789ab`,
		`-----> Took over the warm containers of v1: gitship-demo-v1 \(no start, one probe\)`+dur)
	// the watch of v3 retires v2 after the window, never v3's container
	w.watch(t, 3)
	if !w.rt.isRunning("gitship-demo-v1") || w.rt.hasCall("stop gitship-demo-v1") || !w.exists(t, v1.Socket) {
		t.Errorf("v3's container (v1's) was stopped or lost its socket: %v", w.rt.callList())
	}
	if w.rt.isRunning("gitship-demo-v2") || w.record(t, 2).Status != state.StatusRetired {
		t.Error("v2 still runs after the watch")
	}
	// and a release after it retires the taken-over container at last
	w.mustDeploy(t, rbSha3)
	w.watch(t, 4)
	if w.rt.isRunning("gitship-demo-v1") || w.exists(t, filepath.Dir(v1.Socket)) {
		t.Errorf("v3's container (v1's) still runs after v4's watch: %v", w.rt.callList())
	}
}

// TestRollbackWarmGone: a warm release whose container died meanwhile is
// rolled back to by starting its image, and the output says so.
func TestRollbackWarmGone(t *testing.T) {
	w := newWarmEnv(t)
	w.mustDeploy(t, sha1)
	w.mustDeploy(t, sha2)
	if err := w.rt.Remove(t.Context(), "gitship-demo-v1"); err != nil {
		t.Fatal(err)
	}
	r, err, out := w.rollback(t, "v1")
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if !slices.Contains(w.rt.starts(), "gitship-demo-v3") || r.Container != "gitship-demo-v3" {
		t.Errorf("the rollback did not start v1's image as v3: %v", w.rt.callList())
	}
	wantLines(t, out, `-----> v1 is no longer warm \(gitship-demo-v1 is gone\): starting its image`)
}

// TestNewPushEndsWatch: a release made while the watch of the previous
// switch runs ends it, takes over what it had left, and the new watch
// retires the old warm release with the drain, the new one after its
// window.
func TestNewPushEndsWatch(t *testing.T) {
	w := newWarmEnv(t)
	// not watched: v2 is known good, so it becomes the warm one (see
	// TestWarmKeptWhileWatched for a push while v2 is watched)
	w.editApp(t, func(a *state.App) { z := state.Duration(0); a.Watch = &z })
	w.mustDeploy(t, sha1)
	w.mustDeploy(t, sha2)
	// the watch of v2 runs (sleeping) until it is signalled
	type watchKey struct{}
	ctx, cancel := context.WithCancel(context.WithValue(t.Context(), watchKey{}, true))
	defer cancel()
	w.onSignal = func(sig syscall.Signal) {
		if sig == syscall.SIGTERM {
			cancel()
		}
	}
	w.d.Sleep = func(ctx context.Context, d time.Duration) error {
		if ctx.Value(watchKey{}) != nil {
			<-ctx.Done() // the watch's sleep, until it is signalled
			return ctx.Err()
		}
		runtime.Gosched() // the push's, while it waits for the watch to end
		return ctx.Err()
	}
	done := make(chan error, 1)
	var wout strings.Builder
	go func() { done <- w.d.Watch(ctx, "demo", 2, &wout) }()
	// Alive follows the goroutine: the push waits for it to end.
	w.d.Alive = func(pid int) bool {
		select {
		case err := <-done:
			done <- err
			return false
		default:
			return true
		}
	}
	// v2's switch was the live link: the watch first reloads nginx for
	// v1's drain, under the app's lock, which the fake locker does not
	// wait for
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if wf, ok := w.d.readWatch("demo"); ok && !wf.Reload && len(wf.Drain) > 0 && w.lk.mode(w.d.lockPath("demo")) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watch of v2 did not reload nginx for v1's drain")
		}
	}
	_, err, out := w.deploy(t, rbSha3)
	if err != nil {
		t.Fatalf("third deploy: %v\n%s", err, out)
	}
	if err := <-done; err != nil {
		t.Errorf("the watch of v2 ended with %v", err)
	}
	if !slices.Equal(w.signals, []syscall.Signal{syscall.SIGTERM}) {
		t.Errorf("signals to the watch of v2: %v, want one SIGTERM", w.signals)
	}
	if got := w.record(t, 1).Status; got != state.StatusRetired {
		t.Errorf("the old warm v1 is %s, want retired", got)
	}
	if got := w.record(t, 2).Status; got != state.StatusWarm {
		t.Errorf("v2 is %s, want warm", got)
	}
	wf, ok := w.d.readWatch("demo")
	if !ok || wf.Live != 3 || wf.Warm != 2 || !slices.Equal(wf.Retire, []int{1}) {
		t.Fatalf("watch file %+v, want v3's, retiring v1, keeping v2 warm", wf)
	}
	// v3's watch: v1 goes after the drain, v2 after the window
	w.d.Alive = func(pid int) bool { return pid == os.Getpid() }
	w.d.Sleep = func(ctx context.Context, d time.Duration) error {
		w.mu.Lock()
		w.slept += d
		w.mu.Unlock()
		w.clock.advance(d)
		return nil
	}
	out = w.watch(t, 3)
	if w.rt.isRunning("gitship-demo-v1") || w.rt.isRunning("gitship-demo-v2") || !w.rt.isRunning("gitship-demo-v3") {
		t.Errorf("after v3's watch: v1 %v v2 %v v3 %v running, want v3 alone\n%s",
			w.rt.isRunning("gitship-demo-v1"), w.rt.isRunning("gitship-demo-v2"), w.rt.isRunning("gitship-demo-v3"), out)
	}
	wantLines(t, out, `-----> Retired v1`, `-----> v2's warm window is over .*`, `-----> Retired v2`)
}

// TestKilledWatch: a watch killed with -9 leaves its file behind; the
// next command (here status's tidy-up) says what happened and retires the
// warm release it kept; the live release and nginx are untouched.
func TestKilledWatch(t *testing.T) {
	w := newWarmEnv(t)
	w.mustDeploy(t, sha1)
	r := w.mustDeploy(t, sha2)
	w.setAlive(false) // kill -9
	installs, _ := w.px.counts()
	var out strings.Builder
	if err := w.d.Tidy(t.Context(), "demo", &Progress{W: &out, Now: w.d.Now}); err != nil {
		t.Fatal(err)
	}
	wantLines(t, out.String(), `-----> The watch of demo v2 \(pid [0-9]+\) ended unexpectedly; v1 was warm until .*, retiring it now`)
	if got := w.record(t, 1).Status; got != state.StatusRetired || w.rt.isRunning("gitship-demo-v1") {
		t.Errorf("v1 is %s (running %v), want retired and stopped", got, w.rt.isRunning("gitship-demo-v1"))
	}
	if got := w.live(t); got != "v2" || !w.rt.isRunning(r.Container) || !w.exists(t, r.Socket) {
		t.Errorf("live %s, v2 running %v: the live release was touched", got, w.rt.isRunning(r.Container))
	}
	if n, _ := w.px.counts(); n != installs {
		t.Errorf("nginx was changed (%d installs, was %d)", n, installs)
	}
	if _, ok := w.d.readWatch("demo"); ok {
		t.Error("the dead watch's file is left")
	}
	// while a watch is alive, the tidy-up leaves its warm release alone
	w.mustDeploy(t, rbSha3)
	out.Reset()
	if err := w.d.Tidy(t.Context(), "demo", &Progress{W: &out, Now: w.d.Now}); err != nil {
		t.Fatal(err)
	}
	if got := w.record(t, 2).Status; got != state.StatusWarm || !w.rt.isRunning("gitship-demo-v2") {
		t.Errorf("v2 is %s (running %v) after a tidy-up beside its live watch, want warm\n%s", got, w.rt.isRunning("gitship-demo-v2"), out.String())
	}
}

// TestAutoRollback: a check that says bad makes the watch switch nginx
// back to the warm release by itself: a new release records why, starts
// no web container, keeps the bad release's output, writes the audit log
// and retires the bad release.
func TestAutoRollback(t *testing.T) {
	w := newWarmEnv(t)
	v1 := w.mustDeploy(t, sha1)
	w.mustDeploy(t, sha2)
	w.rt.logs = []string{"panic: the database is gone"}
	looks := 0
	w.d.NewCheck = func(ctx context.Context, live *state.Record) (Check, time.Duration) {
		if live.Version != 2 {
			t.Errorf("check of %s, want v2", live.Name())
		}
		return func(ctx context.Context) (bool, string) {
			looks++
			return looks == 3, "12 of 20 answers were 5xx"
		}, time.Minute
	}
	var audit []string
	w.d.Audit = func(command, result string) error {
		audit = append(audit, command+" => "+result)
		return nil
	}
	before := len(w.rt.starts())
	out := w.watch(t, 2)
	r := w.record(t, 3)
	if r.Status != state.StatusLive || r.RollbackOf != 1 || r.Reason != "automatic rollback to v1: 12 of 20 answers were 5xx" || r.Container != v1.Container {
		t.Errorf("v3 = %s rollback of v%d (%q) on %s, want live on v1's container\n%s", r.Status, r.RollbackOf, r.Reason, r.Container, out)
	}
	if started := w.rt.starts()[before:]; len(started) != 0 {
		t.Errorf("the automatic rollback started %v", started)
	}
	if got := w.record(t, 2).Status; got != state.StatusRetired || w.rt.isRunning("gitship-demo-v2") {
		t.Errorf("the bad v2 is %s (running %v), want retired and stopped", got, w.rt.isRunning("gitship-demo-v2"))
	}
	if b, err := os.ReadFile(w.d.outputPath("demo", 2)); err != nil || !strings.Contains(string(b), "the database is gone") {
		t.Errorf("the bad release's output was not kept: %q %v", b, err)
	}
	if len(audit) != 1 || !strings.Contains(audit[0], "rollback demo (automatic, watch of v2) => ok: v3 is automatic rollback to v1: 12 of 20 answers were 5xx") {
		t.Errorf("audit log: %q", audit)
	}
	if _, ok := w.d.readWatch("demo"); ok {
		t.Error("the watch file is left after the automatic rollback")
	}
	wantLines(t, out, `!     demo v2 went bad: 12 of 20 answers were 5xx`, `-----> demo v3 is live at .*`)
}

// TestStatusShowsWarm: status and ps show the warm release, until when,
// and what it costs.
func TestStatusShowsWarm(t *testing.T) {
	w := newWarmEnv(t)
	w.mustDeploy(t, sha1)
	w.mustDeploy(t, sha2)
	st, err := w.d.Status(t.Context(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if st.Warm == nil || st.Warm.Release != "v1" || st.Warm.MemoryBytes != 20<<20 || st.Warm.Until.IsZero() || len(st.Warm.Containers) != 1 || st.Warm.Containers[0].State != "running" {
		t.Errorf("status warm = %+v, want v1 running with 20 MiB", st.Warm)
	}
	if st.Watch == nil || st.Watch.Release != "v2" {
		t.Errorf("status watch = %+v, want the watch of v2", st.Watch)
	}
	var b strings.Builder
	if err := w.d.WriteStatus(t.Context(), &b, "demo"); err != nil {
		t.Fatal(err)
	}
	wantLines(t, b.String(), "warm: +v1 until .* \\([0-9ms]+ left; `gitship rollback demo` switches back at once\\), 20\\.0 MiB in use",
		"warm container: gitship-demo-v1 running")
	_, ps, err := w.d.Ps(t.Context(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].Release != "v1" || ps[1].State != "warm" || ps[1].WarmUntil.IsZero() || ps[0].Release != "v2" {
		t.Errorf("ps = %+v, want v2's web then v1's warm one", ps)
	}
}

// TestSpawnFails: when the watch process cannot start, the old release
// retires before the push returns, as without warm releases.
func TestSpawnFails(t *testing.T) {
	w := newWarmEnv(t)
	w.d.Spawn = func(string, int) (int, error) { return 0, errors.New("fork: out of memory") }
	w.mustDeploy(t, sha1)
	_, err, out := w.deploy(t, sha2)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.record(t, 1).Status; got != state.StatusRetired || w.rt.isRunning("gitship-demo-v1") {
		t.Errorf("v1 is %s (running %v), want retired and stopped", got, w.rt.isRunning("gitship-demo-v1"))
	}
	wantLines(t, out, `!     could not start the process that retires the old release in the background: fork: out of memory; retiring it now`,
		`-----> Retired v1 .*`)
}

// TestWarmRollbacksInARow: rollbacks back and forth between two warm
// releases each take the other's running container over; no watch ever
// stops the container of the release that is warm at the time.
func TestWarmRollbacksInARow(t *testing.T) {
	w := newWarmEnv(t)
	w.mustDeploy(t, sha1)
	w.mustDeploy(t, sha2)
	before := len(w.rt.starts())
	for i, want := range []string{"gitship-demo-v1", "gitship-demo-v2", "gitship-demo-v1", "gitship-demo-v2"} {
		r, err, out := w.rollback(t, "")
		if err != nil || r.Container != want {
			t.Fatalf("rollback %d: %v, runs %s, want %s\n%s", i+1, err, r.Container, want, out)
		}
	}
	if started := w.rt.starts()[before:]; len(started) != 0 {
		t.Errorf("the rollbacks started %v", started)
	}
	// live v6 runs gitship-demo-v2, warm v5 gitship-demo-v1 until its window ends
	until := w.record(t, 5).WarmUntil
	at := w.stoppedAt()
	w.watch(t, 6)
	if stop, ok := at["gitship-demo-v1"]; !ok || stop.Before(until) {
		t.Errorf("warm v5's container stopped at %v (stopped %v), before its window ended at %s", stop, ok, until)
	}
	if _, ok := at["gitship-demo-v2"]; ok || !w.rt.isRunning("gitship-demo-v2") {
		t.Errorf("live v6's container was stopped: %v", w.rt.callList())
	}
}

// TestWarmRollbackDecodesOnce: a rollback lists the app's releases many
// times (recover, the target, the new release, the hand-over); each
// record is decoded once per process, however long the history.
func TestWarmRollbackDecodesOnce(t *testing.T) {
	w := newWarmEnv(t)
	w.mustDeploy(t, sha1)
	w.mustDeploy(t, sha2)
	for range 8 {
		if _, err, out := w.rollback(t, ""); err != nil {
			t.Fatalf("rollback: %v\n%s", err, out)
		}
	}
	// a new process: a Deployer that read nothing yet
	w.d.store, w.d.storeOnce = nil, sync.Once{}
	before := state.Decodes()
	if _, err, out := w.rollback(t, ""); err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if got := state.Decodes() - before; got > 10 {
		t.Errorf("a rollback of an app with 10 releases decoded %d records, want each at most once", got)
	}
}

// TestWatchAccessLog: with no NewCheck the watch reads the app's access
// log from the switch on: a release whose answers are mostly 5xx is
// switched back to the warm one by itself; one that answers well is
// left alone once its window is over.
func TestWatchAccessLog(t *testing.T) {
	for _, status := range []int{500, 200} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			w := newWarmEnv(t)
			w.mustDeploy(t, sha1)
			// answers before the switch are not v2's, whatever they say
			logf := w.d.AccessLog("demo")
			if err := os.WriteFile(logf, []byte(strings.Repeat(accessLine(500, "unix:/elsewhere.sock"), 30)), 0o640); err != nil {
				t.Fatal(err)
			}
			v2 := w.mustDeploy(t, sha2)
			wf, _ := w.d.readWatch("demo")
			if wf.LogOffset != 30*int64(len(accessLine(500, "unix:/elsewhere.sock"))) {
				t.Errorf("watch file %+v, want the log's offset at the switch", wf)
			}
			f, err := os.OpenFile(logf, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 25; i++ {
				st := status
				if i%5 == 0 {
					st = 200
				}
				// nginx names v2's socket through the app's live link
				f.WriteString(accessLine(st, "unix:"+filepath.Join(w.d.liveLink("demo"), filepath.Base(v2.Procs[0].Socket))))
			}
			f.Close()
			out := w.watch(t, 2)
			if status == 500 {
				r := w.record(t, 3)
				if !regexp.MustCompile(`^automatic rollback to v1: 20 of 25 answers were 5xx \(80%\) in [0-9]+s$`).MatchString(r.Reason) {
					t.Errorf("v3 reason %q\n%s", r.Reason, out)
				}
				wantLines(t, out, `!     demo v2 went bad: 20 of 25 answers were 5xx \(80%\) in [0-9]+s`)
				return
			}
			if _, err := w.d.Store().Get("demo", 3); err == nil {
				t.Errorf("a healthy release was rolled back:\n%s", out)
			}
			wantLines(t, out, `-----> Watched v2 until [0-9:]{8}: 25 answers, 0 of them 5xx; left alone`)
		})
	}
}

// accessLine is one line of gitship's access log format (nginx/accesslog.go).
func accessLine(status int, upstream string) string {
	return fmt.Sprintf("%d.000\t%d\t%s\t%d\t0.001\t127.0.0.1\tdemo.test\tGET / HTTP/1.1\t12\t-\tcurl/8.0\n", time.Date(2024, 5, 1, 12, 0, 30, 0, time.UTC).Unix(), status, upstream, status)
}

// TestWarmKeptWhileWatched: a config change released while the release
// before it is still watched keeps the warm release of that watch, the
// last one known good, and retires the one it replaces (the same code);
// once the watch is over, or for a push, the one replaced stays warm.
func TestWarmKeptWhileWatched(t *testing.T) {
	for _, tt := range []struct {
		name            string
		watched, config bool
	}{{"config change, still watched", true, true}, {"config change, watch over", false, true}, {"push, still watched", true, false}} {
		t.Run(tt.name, func(t *testing.T) {
			watched := tt.watched && tt.config
			w := newWarmEnv(t)
			w.mustDeploy(t, sha1)
			w.mustDeploy(t, sha2)
			if !tt.watched {
				w.clock.advance(state.DefaultWatch + time.Second)
			}
			var out strings.Builder
			var err error
			if tt.config {
				err = w.d.SetEnv(t.Context(), "demo", []string{"GREETING=hi"}, true, &out)
			} else {
				_, err, _ = w.deploy(t, sha3)
			}
			if err != nil {
				t.Fatalf("third release: %v\n%s", err, out.String())
			}
			if got := w.record(t, 3); got.Status != state.StatusLive {
				t.Fatalf("v3 is %s, want live", got.Status)
			}
			warm, retired := 1, 2
			if !watched {
				warm, retired = 2, 1
			}
			if got := w.record(t, warm); got.Status != state.StatusWarm || !got.WarmUntil.After(w.clock.peek()) {
				t.Errorf("v%d is %s until %s, want warm\n%s", warm, got.Status, got.WarmUntil, out.String())
			}
			if got := w.record(t, retired).Status; got != state.StatusRetired {
				t.Errorf("v%d is %s, want retired\n%s", retired, got, out.String())
			}
			if wf, _ := w.d.readWatch("demo"); wf.Warm != warm || !slices.Contains(wf.Retire, retired) {
				t.Errorf("watch file %+v, want v%d warm and v%d retiring", wf, warm, retired)
			}
			if watched {
				wantLines(t, out.String(), `-----> v2 was still watched: v1 stays the warm release to switch back to`)
			}
		})
	}
}

// TestWatchEndedWhileRetiring: a watch ended (SIGTERM: a newer release)
// while it stops a retired release does not claim it retired, and leaves
// it listed for the newer release to stop.
func TestWatchEndedWhileRetiring(t *testing.T) {
	w := newWarmEnv(t)
	w.editApp(t, func(a *state.App) { z := state.Duration(0); a.Warm, a.Watch = &z, &z })
	w.mustDeploy(t, sha1)
	w.mustDeploy(t, sha2)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w.rt.onStop = func(string) { cancel() }
	var out strings.Builder
	if err := w.d.Watch(ctx, "demo", 2, &out); err != nil {
		t.Fatalf("Watch: %v\n%s", err, out.String())
	}
	wantLines(t, out.String(), `-----> Watch of demo v2 ended while it retired v1: a newer release took over`)
	if strings.Contains(out.String(), "Retired v1") {
		t.Errorf("the watch claims v1 retired:\n%s", out.String())
	}
	if wf, ok := w.d.readWatch("demo"); !ok || !slices.Equal(wf.Retire, []int{1}) {
		t.Errorf("watch file %+v, want v1 still listed to retire", wf)
	}
}

// TestRollbackWarmGonePruned: the warm release's container died and its
// image was pruned meanwhile: the rollback, which looks for the image only
// once it cannot take the warm containers over, fails saying so, as for
// any pruned image, starts nothing and leaves v2 live.
func TestRollbackWarmGonePruned(t *testing.T) {
	w := newWarmEnv(t)
	w.mustDeploy(t, sha1)
	w.mustDeploy(t, sha2)
	if err := w.rt.Remove(t.Context(), "gitship-demo-v1"); err != nil {
		t.Fatal(err)
	}
	w.rt.mu.Lock()
	w.rt.pruned = map[string]bool{ImageTag("demo", sha1): true}
	w.rt.mu.Unlock()
	starts := len(w.rt.starts())
	_, err, out := w.rollback(t, "v1")
	want := "cannot roll back demo to v1: its image localhost/gitship/demo:0123456789ab was pruned; no release of demo can be rolled back to"
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("rollback = %v\nwant ...%s\noutput:\n%s", err, want, out)
	}
	if len(w.rt.starts()) != starts {
		t.Errorf("a container was started for a pruned image: %v", w.rt.callList())
	}
	if got := w.live(t); got != "v2" {
		t.Errorf("live release %s, want v2", got)
	}
}
