package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// fakeInspector answers Inspect from a map of container states.
type fakeInspector struct {
	states map[string]container.State
	err    error
}

var _ Inspector = (*fakeInspector)(nil)

func (f *fakeInspector) Inspect(_ context.Context, name string) (container.State, error) {
	if f.err != nil {
		return container.State{}, f.err
	}
	st, ok := f.states[name]
	if !ok {
		return container.State{}, fmt.Errorf("inspect %s: %w", name, container.ErrNotFound)
	}
	return st, nil
}

const (
	watchLog = "/gs/apps/demo/access.log"
	oldSock  = "unix:/run/gitship/demo/v1/web.sock"
	newSock  = "unix:/run/gitship/demo/v2/web.sock"
	newSock2 = "unix:/run/gitship/demo/v2/web.2/web.sock"
)

// watchSwitch is when the tests' v2 was switched to.
var watchSwitch = time.Date(2024, 4, 5, 12, 0, 0, 0, time.UTC)

// logLine is a line of gitship's access log format: status answered by
// upstream at after past the switch.
func logLine(after time.Duration, status int, upstream string) string {
	ms := watchSwitch.Add(after).UnixMilli()
	return fmt.Sprintf("%d.%03d\t%d\t%s\t%d\t0.001\t127.0.0.1\tdemo.test\tGET / HTTP/1.1\t12\t-\tcurl/8.0\n", ms/1000, ms%1000, status, upstream, status)
}

// watchEnv is a watch of v2 (two web processes on sockets and a worker),
// all running, on a memory file system whose log holds prior lines.
type watchEnv struct {
	fs  afero.Fs
	rt  *fakeInspector
	rec *state.Record
	w   *Verdict
}

func newWatchEnv(t *testing.T, edit func(*state.Settings)) *watchEnv {
	t.Helper()
	e := &watchEnv{fs: afero.NewMemMapFs()}
	e.rec = &state.Record{App: "demo", Version: 2, Listen: state.ListenSocket, Procs: []state.Proc{
		{Type: "web", Index: 1, Name: "gitship-demo-v2", Socket: strings.TrimPrefix(newSock, "unix:")},
		{Type: "web", Index: 2, Name: "gitship-demo-v2-web-2", Socket: strings.TrimPrefix(newSock2, "unix:")},
		{Type: "worker", Index: 1, Name: "gitship-demo-v2-worker-1"},
	}}
	if edit != nil {
		edit(&e.rec.Settings)
	}
	e.rt = &fakeInspector{states: map[string]container.State{}}
	for _, p := range e.rec.Procs {
		e.rt.states[p.Name] = container.State{Name: p.Name, Status: "running", Running: true, StartedAt: watchSwitch.Add(-time.Second)}
	}
	// before the switch: v1's answers, 5xx among them, and a line of
	// another format; none of it is v2's to answer for
	before := logLine(-time.Minute, 500, oldSock) + logLine(-time.Minute, 500, newSock) + "127.0.0.1 - - [05/Apr/2024] \"GET /\" 500\n"
	if err := afero.WriteFile(e.fs, watchLog, []byte(before), 0o660); err != nil {
		t.Fatal(err)
	}
	e.w = NewVerdict(VerdictConfig{Fs: e.fs, Runtime: e.rt, Log: watchLog, Offset: int64(len(before)), Since: watchSwitch, Release: e.rec})
	return e
}

// log appends lines to the access log, as nginx does.
func (e *watchEnv) log(t *testing.T, lines ...string) {
	t.Helper()
	f, err := e.fs.OpenFile(watchLog, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(lines, "")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// answers are n lines of status from upstream, one per 100 ms from at.
func answers(n int, at time.Duration, status int, upstream string) []string {
	var out []string
	for i := range n {
		out = append(out, logLine(at+time.Duration(i)*100*time.Millisecond, status, upstream))
	}
	return out
}

// check runs a Check and compares its verdict.
func (e *watchEnv) check(t *testing.T, wantBad bool, wantReason string) {
	t.Helper()
	bad, reason, err := e.w.Check(t.Context())
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if bad != wantBad || reason != wantReason {
		t.Fatalf("Check = %v, %q; want %v, %q (stats %+v)", bad, reason, wantBad, wantReason, e.w.Stats())
	}
}

func (e *watchEnv) wantStats(t *testing.T, want VerdictStats) {
	t.Helper()
	if got := e.w.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// A release at the threshold is fine; one answer above it is bad. Both
// web processes' answers count.
func TestWatchThreshold(t *testing.T) {
	e := newWatchEnv(t, nil)
	e.check(t, false, "")
	e.log(t, answers(5, time.Second, 200, newSock)...)
	e.log(t, answers(5, 2*time.Second, 200, newSock2)...)
	e.log(t, answers(10, 3*time.Second, 502, newSock2)...)
	e.check(t, false, "") // 10 of 20: 50% is not above 50%
	e.wantStats(t, VerdictStats{Answers: 20, Errors: 10})
	e.log(t, logLine(8*time.Second, 500, newSock))
	e.check(t, true, "11 of 21 answers were 5xx (52%) in 8s")
}

// Below watch_min answers, even all 5xx are no verdict.
func TestWatchMinimum(t *testing.T) {
	e := newWatchEnv(t, nil)
	e.log(t, answers(19, 200*time.Millisecond, 500, newSock)...)
	e.check(t, false, "")
	e.wantStats(t, VerdictStats{Answers: 19, Errors: 19})
	e.log(t, logLine(12*time.Second+400*time.Millisecond, 503, newSock))
	e.check(t, true, "20 of 20 answers were 5xx (100%) in 12s")
}

// The thresholds are the release's settings.
func TestWatchSettings(t *testing.T) {
	e := newWatchEnv(t, func(s *state.Settings) {
		if err := s.Set("watch_errors=0%"); err != nil {
			t.Fatal(err)
		}
		if err := s.Set("watch_min=3"); err != nil {
			t.Fatal(err)
		}
	})
	e.log(t, answers(2, 0, 200, newSock)...)
	e.check(t, false, "")
	e.log(t, logLine(400*time.Millisecond, 500, newSock))
	e.check(t, true, "1 of 3 answers were 5xx (33%) in 400ms")

	e = newWatchEnv(t, func(s *state.Settings) {
		if err := s.Set("watch_errors=100%"); err != nil {
			t.Fatal(err)
		}
	})
	e.log(t, answers(50, 0, 500, newSock)...)
	e.check(t, false, "") // 100% is never above 100%
}

// Answers of the previous release (still draining after the switch), and
// answers without an upstream, are not the release's; lines before the
// offset are never read; a line of another format is skipped.
func TestWatchIgnoresOthers(t *testing.T) {
	e := newWatchEnv(t, nil)
	e.log(t, answers(30, 0, 500, oldSock)...)
	e.log(t, answers(5, 0, 301, "-")...)
	e.log(t, "not gitship's format\n")
	e.check(t, false, "")
	e.wantStats(t, VerdictStats{Skipped: 1})
	e.log(t, answers(20, time.Second, 200, newSock)...)
	e.check(t, false, "")
	e.wantStats(t, VerdictStats{Answers: 20, Skipped: 1})
}

// Each line is read once, across Checks; a line nginx has not finished
// writing is counted once it is whole.
func TestWatchIncremental(t *testing.T) {
	e := newWatchEnv(t, nil)
	e.log(t, answers(10, 0, 500, newSock)...)
	e.check(t, false, "")
	e.check(t, false, "")
	line := logLine(time.Second, 500, newSock)
	e.log(t, line[:20])
	e.check(t, false, "")
	e.wantStats(t, VerdictStats{Answers: 10, Errors: 10})
	e.log(t, line[20:])
	e.check(t, false, "")
	e.wantStats(t, VerdictStats{Answers: 11, Errors: 11})
}

// A log truncated (logrotate's copytruncate) or replaced by a shorter
// one is read again from its start; the counts so far are kept.
func TestWatchTruncatedLog(t *testing.T) {
	e := newWatchEnv(t, nil)
	e.log(t, answers(15, 0, 200, newSock)...)
	e.check(t, false, "")
	if err := afero.WriteFile(e.fs, watchLog, []byte(strings.Join(answers(10, 9*time.Second, 500, newSock), "")), 0o660); err != nil {
		t.Fatal(err)
	}
	e.check(t, false, "") // 10 of 25
	e.log(t, answers(10, 10*time.Second, 500, newSock)...)
	e.check(t, true, "20 of 35 answers were 5xx (57%) in 11s")

	// moved away and not reopened yet: nothing to read, no error
	if err := e.fs.Remove(watchLog); err != nil {
		t.Fatal(err)
	}
	e.check(t, true, "20 of 35 answers were 5xx (57%) in 11s")
}

// A log rotated by rename gets a new file at the path, read from its
// start even when it has grown past where the old one was read to (told
// by its inode, on a real file system).
func TestWatchRotatedLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	fsys := afero.NewOsFs()
	rec := &state.Record{App: "demo", Version: 2, Procs: []state.Proc{{Type: "web", Index: 1, Name: "w", Socket: strings.TrimPrefix(newSock, "unix:")}}}
	rt := &fakeInspector{states: map[string]container.State{"w": {Status: "running", Running: true}}}
	if err := os.WriteFile(path, []byte(strings.Join(answers(5, 0, 200, newSock), "")), 0o660); err != nil {
		t.Fatal(err)
	}
	w := NewVerdict(VerdictConfig{Fs: fsys, Runtime: rt, Log: path, Since: watchSwitch, Release: rec})
	if bad, _, err := w.Check(t.Context()); bad || err != nil {
		t.Fatalf("Check = %v, %v", bad, err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Join(answers(20, 5*time.Second, 500, newSock), "")), 0o660); err != nil {
		t.Fatal(err)
	}
	bad, reason, err := w.Check(t.Context())
	if want := "20 of 25 answers were 5xx (80%) in 6.9s"; !bad || reason != want || err != nil {
		t.Fatalf("Check after rotation = %v, %q, %v; want true, %q", bad, reason, err, want)
	}
}

// A container of the release that exited, restarted, ran out of memory
// or is gone makes it bad at once, whatever the log says; the reason names
// the process.
func TestWatchContainers(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(map[string]container.State)
		want  string
		other bool // the log has 5xx enough too: the container's reason wins
	}{
		{"exited", func(s map[string]container.State) {
			s["gitship-demo-v2"] = container.State{Status: "exited", ExitCode: 2, StartedAt: watchSwitch, FinishedAt: watchSwitch.Add(5 * time.Second)}
		}, "web #1 exited with status 2 after 5s", true},
		{"exited, times unknown", func(s map[string]container.State) {
			s["gitship-demo-v2-web-2"] = container.State{Status: "stopped", ExitCode: 137}
		}, "web #2 exited with status 137", false},
		{"restarted", func(s map[string]container.State) {
			s["gitship-demo-v2"] = container.State{Status: "running", Running: true, Restarts: 3, ExitCode: 2}
		}, "web #1 restarted 3 times (last exit status 2)", false},
		{"restarted once", func(s map[string]container.State) {
			s["gitship-demo-v2-web-2"] = container.State{Status: "running", Running: true, Restarts: 1, ExitCode: 1}
		}, "web #2 restarted 1 time (last exit status 1)", false},
		{"restarting", func(s map[string]container.State) {
			s["gitship-demo-v2"] = container.State{Status: "restarting", ExitCode: 1}
		}, "web #1 is restarting (last exit status 1)", false},
		{"out of memory", func(s map[string]container.State) {
			s["gitship-demo-v2"] = container.State{Status: "running", Running: true, OOMKilled: true, Restarts: 1, ExitCode: 137}
		}, "web #1 was killed for its memory limit (out of memory)", false},
		{"worker crashed", func(s map[string]container.State) {
			s["gitship-demo-v2-worker-1"] = container.State{Status: "exited", ExitCode: 1, StartedAt: watchSwitch, FinishedAt: watchSwitch.Add(1500 * time.Millisecond)}
		}, "worker #1 exited with status 1 after 1.5s", false},
		{"gone", func(s map[string]container.State) { delete(s, "gitship-demo-v2-web-2") },
			"web #2 is gone (container gitship-demo-v2-web-2 removed)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newWatchEnv(t, nil)
			e.log(t, answers(20, 0, 200, newSock)...)
			e.check(t, false, "")
			tt.edit(e.rt.states)
			if tt.other {
				e.log(t, answers(30, time.Second, 500, newSock)...)
			}
			e.check(t, true, tt.want)
		})
	}
}

// A Runtime that does not answer is an error, not a verdict: the next
// Check may do better.
func TestWatchRuntimeError(t *testing.T) {
	e := newWatchEnv(t, nil)
	e.rt.err = errors.New("connect to podman: refused")
	bad, reason, err := e.w.Check(t.Context())
	if bad || reason != "" || err == nil || !strings.Contains(err.Error(), "watch v2: connect to podman: refused") {
		t.Fatalf("Check = %v, %q, %v; want no verdict and the error", bad, reason, err)
	}
	e.rt.err = nil
	e.check(t, false, "")
}

// A release on $PORT is known by its published loopback ports.
func TestWatchPorts(t *testing.T) {
	e := newWatchEnv(t, nil)
	e.rec.Listen = state.ListenPort
	e.rec.Procs[0].Port, e.rec.Procs[1].Port = 40001, 40002
	e.w = NewVerdict(VerdictConfig{Fs: e.fs, Runtime: e.rt, Log: watchLog, Since: watchSwitch, Release: e.rec})
	e.log(t, answers(20, 0, 500, newSock)...) // the socket is no upstream of a release on ports
	e.log(t, answers(10, 0, 500, "127.0.0.1:40001")...)
	e.log(t, answers(10, 0, 200, "127.0.0.1:40002")...)
	e.log(t, logLine(3*time.Second, 500, "127.0.0.1:40003, 127.0.0.1:40002"))
	e.check(t, true, "11 of 21 answers were 5xx (52%) in 3s")
}

// The Deployer's watch reads the app's access log, which site creates
// (0660: nginx -t runs as gitship's user) and the rendered config names.
func TestDeployerWatch(t *testing.T) {
	e := newMemEnv(t)
	rec := &state.Record{App: "demo", Version: 1, Procs: []state.Proc{{Type: "web", Index: 1, Name: "gitship-demo-v1", Socket: "/run/demo/v1/web.sock"}}}
	_, conf, err := e.d.site("demo", rec)
	if err != nil {
		t.Fatal(err)
	}
	// nginx names the socket through the app's live link
	link := "unix:/run/gitship/demo/live/web.sock"
	if want := "server " + link + " max_fails=0;"; !strings.Contains(string(conf), want) {
		t.Errorf("rendered config has no %q:\n%s", want, conf)
	}
	path := e.d.AccessLog("demo")
	if want := "access_log " + path + " gitship_demo;"; !strings.Contains(string(conf), want) {
		t.Errorf("rendered config has no %q:\n%s", want, conf)
	}
	fi, err := e.d.Fs.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o660 || fi.Size() != 0 {
		t.Fatalf("access log: %v, %v", fi, err)
	}
	if err := afero.WriteFile(e.d.Fs, path, []byte(logLine(0, 500, "unix:/run/demo/v1/web.sock")), 0o660); err != nil {
		t.Fatal(err)
	}
	off, err := e.d.AccessLogOffset("demo")
	if err != nil || off == 0 {
		t.Fatalf("AccessLogOffset = %d, %v", off, err)
	}
	if _, _, err := e.d.site("demo", rec); err != nil {
		t.Fatal(err)
	}
	if after, _ := e.d.AccessLogOffset("demo"); after != off {
		t.Errorf("site emptied the log: %d bytes, were %d", after, off)
	}
	e.rt.mu.Lock()
	e.rt.state = container.State{Status: "running", Running: true}
	e.rt.mu.Unlock()
	w := e.d.NewVerdict(rec, off, watchSwitch)
	// the first line after the offset began 1 ms before the switch: it
	// may be the previous release's
	if err := afero.WriteFile(e.d.Fs, path, []byte(logLine(0, 500, "unix:/run/demo/v1/web.sock")+logLine(0, 500, link)+
		strings.Join(answers(20, 100*time.Millisecond, 500, link), "")), 0o660); err != nil {
		t.Fatal(err)
	}
	bad, reason, err := w.Check(t.Context())
	if want := "20 of 20 answers were 5xx (100%) in 2s"; !bad || reason != want || err != nil {
		t.Fatalf("Check = %v, %q, %v; want true, %q", bad, reason, err, want)
	}
}

// With the live link, nginx logs the same upstream for the release
// switched from and the one switched to: an answer counts when nginx
// began the request after the switch, whenever it ended.
func TestVerdictLinkedByStart(t *testing.T) {
	e := newWatchEnv(t, nil)
	link := []string{"unix:/run/gitship/demo/live/web.sock", "unix:/run/gitship/demo/live/web-2/web.sock"}
	e.w = NewVerdict(VerdictConfig{Fs: e.fs, Runtime: e.rt, Log: watchLog, Since: watchSwitch, Release: e.rec,
		Upstreams: link, Linked: true})
	// begun 4 s before the switch, answered after it: the old release's
	slow := func(after time.Duration) string {
		ms := watchSwitch.Add(after).UnixMilli()
		return fmt.Sprintf("%d.%03d\t500\t%s\t500\t5.000\t127.0.0.1\tdemo.test\tGET /slow HTTP/1.1\t0\t-\t-\n", ms/1000, ms%1000, link[0])
	}
	var lines []string
	for i := range 30 {
		lines = append(lines, slow(time.Second+time.Duration(i)*time.Millisecond))
	}
	e.log(t, lines...)
	e.log(t, answers(20, 10*time.Millisecond, 200, link[1])...)
	e.check(t, false, "")
	if s := e.w.Stats(); s.Answers != 20 || s.Errors != 0 {
		t.Errorf("stats %+v, want 20 answers and no 5xx: the slow ones began before the switch", s)
	}
	e.log(t, answers(21, 3*time.Second, 500, link[0])...)
	e.check(t, true, "21 of 41 answers were 5xx (51%) in 5s")
	// the release's own socket paths are not what nginx logs any more
	e2 := newWatchEnv(t, nil)
	e2.w = NewVerdict(VerdictConfig{Fs: e2.fs, Runtime: e2.rt, Log: watchLog, Since: watchSwitch, Release: e2.rec,
		Upstreams: link, Linked: true})
	e2.log(t, answers(30, time.Second, 500, "unix:"+e2.rec.Procs[0].Socket)...)
	e2.check(t, false, "")
}
