package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitship/gitship/internal/testenv"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// sessionClock is a clock the test sets: ticket names come from it, so
// the test decides which push arrived first.
type sessionClock struct {
	mu sync.Mutex
	t  time.Time
}

var sessionT0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func (c *sessionClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *sessionClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newLockEnv is an env on the real filesystem with the real flock and a
// clock the test sets.
func newLockEnv(t *testing.T) (*env, *sessionClock) {
	t.Helper()
	e := newOsEnv(t)
	clk := &sessionClock{t: sessionT0}
	e.d.Now = clk.Now
	e.d.Locker = FileLock{}
	return e, clk
}

// lockFree reports whether the deploy lock of demo can be taken at once
// (and releases it again).
func lockFree(t *testing.T, d *Deployer) bool {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	unlock, err := FileLock{}.Lock(ctx, d.lockPath("demo"), nil)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("probe the deploy lock: %v", err)
		}
		return false
	}
	unlock()
	return true
}

// queued lists the ticket files in demo's queue.
func queued(t *testing.T, d *Deployer) []string {
	t.Helper()
	entries, err := afero.ReadDir(d.Fs, d.queueDir("demo"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	return names
}

// ticketAt queues a ticket for commit as if it arrived at at from process
// pid (0: this process).
func ticketAt(t *testing.T, d *Deployer, clk *sessionClock, at time.Time, commit string, pid int) string {
	t.Helper()
	clk.set(at)
	tk := &Ticket{Commit: commit, Kind: state.KindPush}
	path, err := d.writeTicket("demo", tk)
	if err != nil {
		t.Fatal(err)
	}
	if tk.PID != os.Getpid() {
		t.Fatalf("writeTicket recorded pid %d, want %d", tk.PID, os.Getpid())
	}
	if pid != 0 {
		tk.PID = pid
		b, err := json.Marshal(tk)
		if err != nil {
			t.Fatal(err)
		}
		if err := afero.WriteFile(d.Fs, path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func doneName(at time.Time, pid int) string { return fmt.Sprintf("%020d-%d.json", at.UnixNano(), pid) }

func TestNewerTicket(t *testing.T) {
	const dead = 999999
	type tk struct {
		at     time.Duration // after mine
		commit string
		pid    int
	}
	tests := []struct {
		name    string
		tickets []tk
		done    string // content of queue/done
		junk    string // raw content of a ticket file 1s after mine
		want    string
		left    []string // commits whose tickets remain besides mine
	}{
		{name: "alone"},
		{name: "older alive is not newer", tickets: []tk{{-time.Second, sha2, 0}}, left: []string{sha2}},
		{name: "newer alive", tickets: []tk{{time.Second, sha2, 0}}, want: sha2, left: []string{sha2}},
		{name: "newer of a dead process is removed", tickets: []tk{{time.Second, sha2, dead}}},
		{
			name:    "newest wins",
			tickets: []tk{{time.Second, sha2, 0}, {2 * time.Second, rbSha3, 0}},
			want:    rbSha3, left: []string{sha2, rbSha3},
		},
		{
			name:    "newest dead, next alive",
			tickets: []tk{{time.Second, sha2, 0}, {2 * time.Second, rbSha3, dead}},
			want:    sha2, left: []string{sha2},
		},
		{
			name:    "all newer dead",
			tickets: []tk{{-time.Second, sha1, dead}, {time.Second, sha2, dead}, {2 * time.Second, rbSha3, dead}},
			left:    []string{sha1}, // older tickets are not its business
		},
		{name: "done mark of a newer push", done: doneName(sessionT0.Add(time.Second), 1) + " " + sha2, want: sha2},
		{name: "done mark of an older push", done: doneName(sessionT0.Add(-time.Second), 1) + " " + sha2},
		{name: "unreadable newer ticket is removed", junk: "{not json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, clk := newLockEnv(t)
			d := e.d
			d.Alive = func(pid int) bool { return pid == os.Getpid() }
			mine := ticketAt(t, d, clk, sessionT0, sha1, 0)
			byName := map[string]string{filepath.Base(mine): "mine"}
			for _, k := range tt.tickets {
				p := ticketAt(t, d, clk, sessionT0.Add(k.at), k.commit, k.pid)
				byName[filepath.Base(p)] = k.commit
			}
			if tt.done != "" {
				if err := afero.WriteFile(d.Fs, d.donePath("demo"), []byte(tt.done), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.junk != "" {
				if err := afero.WriteFile(d.Fs, filepath.Join(d.queueDir("demo"), doneName(sessionT0.Add(time.Second), 7)), []byte(tt.junk), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, ok := d.newerTicket("demo", mine)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("newerTicket = %q, %v; want %q, %v", got, ok, tt.want, tt.want != "")
			}
			var left []string
			for _, n := range queued(t, d) {
				c, known := byName[n]
				switch {
				case !known:
					left = append(left, "junk "+n)
				case c != "mine":
					left = append(left, c)
				}
			}
			if !slices.Contains(queued(t, d), filepath.Base(mine)) {
				t.Error("my own ticket was removed")
			}
			slices.Sort(left)
			want := slices.Clone(tt.left)
			slices.Sort(want)
			if !slices.Equal(left, want) {
				t.Errorf("tickets left %v, want %v", left, want)
			}
		})
	}
}

func TestBeginSupersededByWaiting(t *testing.T) {
	e, clk := newLockEnv(t)
	d := e.d
	var asked []int
	d.Alive = func(pid int) bool { asked = append(asked, pid); return true }
	newer := ticketAt(t, d, clk, sessionT0.Add(time.Second), sha2, 0)

	clk.set(sessionT0)
	var out strings.Builder
	p := &Progress{W: &out, Now: d.Now}
	s, err := d.begin(t.Context(), "demo", state.KindPush, p, &Ticket{Commit: sha1, Kind: state.KindPush})
	if !errors.Is(err, ErrSuperseded) {
		if s != nil {
			s.end()
		}
		t.Fatalf("begin = %v, want ErrSuperseded\noutput:\n%s", err, out.String())
	}
	if s != nil {
		t.Error("begin returned a session with ErrSuperseded")
	}
	if len(asked) == 0 || slices.ContainsFunc(asked, func(pid int) bool { return pid != os.Getpid() }) {
		t.Errorf("Alive asked about %v, want only the newer ticket's pid %d", asked, os.Getpid())
	}
	wantLines(t, out.String(), `-----> Skipped push 0123456789ab: superseded by the newer push of fedcba987654`)
	if got := queued(t, d); !slices.Equal(got, []string{filepath.Base(newer)}) {
		t.Errorf("queue %v, want only the newer ticket %s", got, filepath.Base(newer))
	}
	if e.exists(t, d.ownerPath("demo")) || e.exists(t, d.donePath("demo")) {
		t.Error("a skipped push wrote an owner file or a done mark")
	}
	// Even a skipped push cleans up after a dead holder first (one List
	// here: nothing was left), so no mess waits for the next one.
	if calls := e.rt.callList(); !slices.Equal(calls, []string{"list"}) {
		t.Errorf("runtime calls %v, want the cleanup's list only", calls)
	}
	if !lockFree(t, d) {
		t.Error("the deploy lock is still held after a skipped push")
	}
}

func TestBeginIgnoresDeadNewer(t *testing.T) {
	e, clk := newLockEnv(t)
	d := e.d
	d.Alive = func(pid int) bool { return false }
	ticketAt(t, d, clk, sessionT0.Add(time.Second), sha2, 0)

	clk.set(sessionT0)
	var out strings.Builder
	p := &Progress{W: &out, Now: d.Now}
	s, err := d.begin(t.Context(), "demo", state.KindPush, p, &Ticket{Commit: sha1, Kind: state.KindPush})
	if err != nil {
		t.Fatalf("begin = %v, want a session\noutput:\n%s", err, out.String())
	}
	mine := filepath.Base(s.ticket)
	if got := queued(t, d); !slices.Equal(got, []string{mine}) {
		t.Errorf("queue %v during the session, want only mine %s (the dead one removed)", got, mine)
	}
	if lockFree(t, d) {
		t.Error("the deploy lock is free during a session")
	}
	o, ok := d.readOwner("demo")
	host, _ := os.Hostname()
	want := Owner{PID: os.Getpid(), Host: host, Kind: state.KindPush, Commit: sha1, Since: sessionT0}
	if !ok || o != want {
		t.Errorf("owner during the session %+v (%v), want %+v", o, ok, want)
	}
	s.owns(&state.Record{Version: 4})
	if o, _ := d.readOwner("demo"); o.Release != "v4" {
		t.Errorf("owner release %q after owns(v4), want v4", o.Release)
	}
	if strings.Contains(out.String(), "Skipped") || strings.Contains(out.String(), "died") {
		t.Errorf("output:\n%s", out.String())
	}

	s.end()
	if e.exists(t, d.ownerPath("demo")) {
		t.Error("owner file left after end")
	}
	if got := queued(t, d); len(got) != 0 {
		t.Errorf("queue %v after end, want empty", got)
	}
	done, err := afero.ReadFile(d.Fs, d.donePath("demo"))
	if err != nil || string(done) != mine+" "+sha1 {
		t.Errorf("done mark %q (%v), want %q", done, err, mine+" "+sha1)
	}
	if !lockFree(t, d) {
		t.Error("the deploy lock is still held after end")
	}
}

// TestBeginSupersededByDone: a push that waited while a newer one ran
// (and finished) is skipped; a push newer than that is not.
func TestBeginSupersededByDone(t *testing.T) {
	e, clk := newLockEnv(t)
	d := e.d
	d.Alive = func(pid int) bool { return true }
	begin := func(at time.Time, commit string) (*session, string, error) {
		clk.set(at)
		var out strings.Builder
		s, err := d.begin(t.Context(), "demo", state.KindPush, &Progress{W: &out, Now: d.Now}, &Ticket{Commit: commit, Kind: state.KindPush})
		return s, out.String(), err
	}
	s, out, err := begin(sessionT0.Add(time.Second), sha2)
	if err != nil {
		t.Fatalf("newer push: %v\n%s", err, out)
	}
	s.end()

	s, out, err = begin(sessionT0, sha1)
	if !errors.Is(err, ErrSuperseded) {
		if s != nil {
			s.end()
		}
		t.Fatalf("older push after the newer one finished: begin = %v, want ErrSuperseded\n%s", err, out)
	}
	wantLines(t, out, `-----> Skipped push 0123456789ab: superseded by the newer push of fedcba987654`)
	if got := queued(t, d); len(got) != 0 {
		t.Errorf("queue %v, want empty", got)
	}

	s, out, err = begin(sessionT0.Add(2*time.Second), rbSha3)
	if err != nil {
		t.Fatalf("a push newer than the done mark: begin = %v\n%s", err, out)
	}
	s.end()
}

// TestBeginWithoutTicket: a rollback (no ticket) is never superseded and
// leaves the done mark alone.
func TestBeginWithoutTicket(t *testing.T) {
	e, clk := newLockEnv(t)
	d := e.d
	d.Alive = func(pid int) bool { return true }
	ticketAt(t, d, clk, sessionT0.Add(time.Hour), sha2, 0)
	clk.set(sessionT0)
	var out strings.Builder
	s, err := d.begin(t.Context(), "demo", state.KindRollback, &Progress{W: &out, Now: d.Now}, nil)
	if err != nil {
		t.Fatalf("begin without a ticket = %v\n%s", err, out.String())
	}
	if o, _ := d.readOwner("demo"); o.Kind != state.KindRollback || o.Commit != "" {
		t.Errorf("owner %+v, want kind rollback without a commit", o)
	}
	s.end()
	if e.exists(t, d.donePath("demo")) {
		t.Error("a session without a ticket wrote a done mark")
	}
	if len(queued(t, d)) != 1 {
		t.Errorf("queue %v: the waiting push's ticket must stay", queued(t, d))
	}
}

func writeOwnerFile(t *testing.T, d *Deployer, o Owner) {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(d.Fs, d.ownerPath("demo"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBeginAfterDeadHolder(t *testing.T) {
	e, _ := newLockEnv(t)
	d := e.d
	// The dead holder was starting v7 when it died.
	writeOwnerFile(t, d, Owner{PID: 4242, Host: "h", Kind: state.KindPush, Commit: sha2, Release: "v7", Since: sessionT0.Add(-time.Hour)})
	if err := e.store.Save(&state.Record{App: "demo", Version: 7, Kind: state.KindPush, Commit: sha2, Status: state.StatusStarting}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	s, err := d.begin(t.Context(), "demo", state.KindRollback, &Progress{W: &out, Now: d.Now}, nil)
	if err != nil {
		t.Fatalf("begin = %v\n%s", err, out.String())
	}
	defer s.end()
	wantLines(t, out.String(),
		`-----> The previous push of demo \(v7, pid 4242\) died; cleaning up after it`,
		`-----> Marked v7 of demo failed: interrupted while starting`,
	)
	if o, _ := d.readOwner("demo"); o.PID != os.Getpid() || o.Kind != state.KindRollback || o.Release != "" {
		t.Errorf("owner %+v, want this process's rollback", o)
	}
	if got := e.status(t, 7); got != state.StatusFailed {
		t.Errorf("v7 is %s, want failed", got)
	}
}

func TestWaitingFor(t *testing.T) {
	tests := []struct {
		name  string
		owner *Owner
		raw   string
		want  string
	}{
		{
			name:  "push",
			owner: &Owner{PID: 4242, Kind: state.KindPush, Commit: sha2, Release: "v7", Since: sessionT0.Add(-65500 * time.Millisecond)},
			want:  "Waiting for the push of demo v7 (fedcba987654, pid 4242, started 1m5s ago) to finish",
		},
		{
			name:  "before a release number",
			owner: &Owner{PID: 17, Kind: "cleanup", Since: sessionT0},
			want:  "Waiting for the cleanup of demo - (pid 17, started 0s ago) to finish",
		},
		{name: "no owner file", want: "Another deploy of demo is running; waiting for it to finish"},
		{name: "unreadable owner file", raw: "{", want: "Another deploy of demo is running; waiting for it to finish"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newLockEnv(t)
			if tt.owner != nil {
				writeOwnerFile(t, e.d, *tt.owner)
			}
			if tt.raw != "" {
				if err := afero.WriteFile(e.d.Fs, e.d.ownerPath("demo"), []byte(tt.raw), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := e.d.waitingFor("demo"); got != tt.want {
				t.Errorf("waitingFor = %q\n           want %q", got, tt.want)
			}
		})
	}
}

// cancelWriter cancels a context on its first write: begin waits for
// the lock until then, so the test needs no timing.
type cancelWriter struct {
	mu     sync.Mutex
	buf    strings.Builder
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cancel()
	return w.buf.Write(b)
}

func (w *cancelWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestBeginWaits: while another process holds the lock, begin says whom
// it waits for, and gives up (dropping its ticket) when ctx ends.
func TestBeginWaits(t *testing.T) {
	e, _ := newLockEnv(t)
	d := e.d
	unlock, err := FileLock{}.Lock(t.Context(), d.lockPath("demo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	writeOwnerFile(t, d, Owner{PID: 4242, Kind: state.KindDeploy, Commit: sha2, Release: "v3", Since: sessionT0.Add(-2 * time.Second)})

	ctx, cancel := context.WithTimeout(t.Context(), lockWait)
	defer cancel()
	w := &cancelWriter{cancel: cancel}
	s, err := d.begin(ctx, "demo", state.KindPush, &Progress{W: w, Now: d.Now}, &Ticket{Commit: sha1, Kind: state.KindPush})
	if err == nil {
		s.end()
		t.Fatal("begin got the lock another holder has")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("begin = %v, want it to end with ctx (context.Canceled)", err)
	}
	wantLines(t, w.String(), `-----> Waiting for the deploy of demo v3 \(fedcba987654, pid 4242, started 2s ago\) to finish`)
	if got := queued(t, d); len(got) != 0 {
		t.Errorf("queue %v after giving up, want the ticket dropped", got)
	}
	if o, ok := d.readOwner("demo"); !ok || o.PID != 4242 {
		t.Errorf("the holder's owner file was changed: %+v %v", o, ok)
	}
}

// TestDeadTicketsRemoved: the tickets of pushes whose process is gone
// (killed while waiting) are removed by whatever looks at the queue next,
// `gitship status` (Tidy) or the next deploy, older and newer alike; the
// tickets of waiting processes stay.
func TestDeadTicketsRemoved(t *testing.T) {
	const dead = 999999
	for _, via := range []string{"status", "deploy"} {
		t.Run(via, func(t *testing.T) {
			e := newMemEnv(t)
			d := e.d
			clk := &sessionClock{}
			d.Now = clk.Now
			d.Alive = func(pid int) bool { return pid == os.Getpid() }
			old := ticketAt(t, d, clk, sessionT0.Add(-time.Hour), sha1, dead)
			waiting := ticketAt(t, d, clk, sessionT0.Add(-time.Minute), sha2, 0)
			newer := ticketAt(t, d, clk, sessionT0.Add(time.Hour), rbSha3, dead)
			if err := afero.WriteFile(d.Fs, filepath.Join(d.queueDir("demo"), doneName(sessionT0, 7)), []byte("{junk"), 0o644); err != nil {
				t.Fatal(err)
			}
			clk.set(sessionT0)
			var out strings.Builder
			p := &Progress{W: &out, Now: d.Now}
			want := []string{filepath.Base(waiting)}
			switch via {
			case "status":
				if err := d.Tidy(t.Context(), "demo", p); err != nil {
					t.Fatalf("Tidy: %v\n%s", err, out.String())
				}
			case "deploy":
				s, err := d.begin(t.Context(), "demo", state.KindRollback, p, nil)
				if err != nil {
					t.Fatalf("begin: %v\n%s", err, out.String())
				}
				s.end()
			}
			wantLines(t, out.String(), `-----> Removed 3 queued push\(es\) of demo whose process is gone`)
			got := queued(t, d)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("queue %v, want only the waiting push's %v (old %s, newer %s gone)", got, want, filepath.Base(old), filepath.Base(newer))
			}
		})
	}
}

// TestAliveZombie: a process that exited but is not reaped yet is gone.
func TestAliveZombie(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &Deployer{}
	pid := cmd.Process.Pid
	if err := testenv.Poll(10*time.Second, func() error {
		if d.alive(pid) {
			return fmt.Errorf("pid %d (exited, not reaped) is alive", pid)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if !d.alive(os.Getpid()) {
		t.Error("this process is not alive")
	}
}
