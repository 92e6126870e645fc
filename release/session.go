package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// ErrSuperseded is returned by a deploy that was waiting for the app's
// lock while a newer push of the same app arrived: only the newest runs.
var ErrSuperseded = errors.New("superseded by a newer push")

// Owner is who holds an app's deploy lock, written beside the lock: a
// waiting deploy says what it waits for, and the next holder can tell that
// the previous one died (the kernel dropped its flock, the file stayed).
type Owner struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Kind    string    `json:"kind"`
	Commit  string    `json:"commit,omitempty"`
	Release string    `json:"release,omitempty"`
	Since   time.Time `json:"since"`
}

// Ticket is a push (or deploy) waiting for the lock, in apps/APP/queue.
type Ticket struct {
	Commit string `json:"commit"`
	Kind   string `json:"kind"`
	PID    int    `json:"pid"`
}

// session is a held deploy lock of one app.
type session struct {
	d      *Deployer
	p      *Progress
	app    string
	unlock func()
	kind   string
	owner  Owner
	ticket string // path of this deploy's ticket, if any
	// skipped is set when a newer push superseded this one.
	skipped bool
}

func (d *Deployer) lockPath(app string) string  { return filepath.Join(d.appDir(app), "deploy.lock") }
func (d *Deployer) ownerPath(app string) string { return filepath.Join(d.appDir(app), "deploy.owner") }
func (d *Deployer) queueDir(app string) string  { return filepath.Join(d.appDir(app), "queue") }
func (d *Deployer) donePath(app string) string  { return filepath.Join(d.queueDir(app), "done") }

// begin takes app's deploy lock, skips a push that a newer waiting (or
// already deployed) push supersedes, and cleans up after an interrupted
// deploy. t is nil for what is never superseded (a rollback).
func (d *Deployer) begin(ctx context.Context, app, kind string, p *Progress, t *Ticket) (*session, error) {
	s := &session{d: d, p: p, app: app, kind: kind}
	if t != nil {
		path, err := d.writeTicket(app, t)
		if err != nil {
			return nil, err
		}
		s.ticket = path
	}
	unlock, err := d.Locker.Lock(ctx, d.lockPath(app), func() { p.Say("%s", d.waitingFor(app)) })
	if err != nil {
		s.dropTicket()
		return nil, err
	}
	s.unlock = unlock
	if err := s.start(ctx, p, t); err != nil {
		s.end()
		return nil, err
	}
	return s, nil
}

func (s *session) start(ctx context.Context, p *Progress, t *Ticket) error {
	d := s.d
	if prev, ok := d.readOwner(s.app); ok {
		p.Say("The previous %s of %s (%s, pid %d) died; cleaning up after it", prev.Kind, s.app, dash(prev.Release), prev.PID)
	}
	host, _ := os.Hostname()
	s.owner = Owner{PID: os.Getpid(), Host: host, Kind: s.kind, Since: d.Now()}
	if t != nil {
		s.owner.Commit = t.Commit
	}
	if err := s.writeOwner(); err != nil {
		return err
	}
	// Clean up first: a skipped push must not leave a dead holder's mess
	// to be reported again.
	if err := d.recover(ctx, s.app, p); err != nil {
		return err
	}
	d.dropDeadTickets(s.app, s.ticket, p)
	if t != nil {
		if newer, ok := d.newerTicket(s.app, s.ticket); ok {
			p.Say("Skipped %s %s: superseded by the newer push of %s", t.Kind, hook.Short(t.Commit), hook.Short(newer))
			s.skipped = true // nothing of it ran: it marks nothing done
			return ErrSuperseded
		}
	}
	return nil
}

// owns records that the lock holder now works on release r.
func (s *session) owns(r *state.Record) {
	s.owner.Release = r.Name()
	if err := s.writeOwner(); err != nil {
		s.p.Fail("could not record the lock owner: %v", err)
	}
}

func (s *session) writeOwner() error {
	b, err := json.Marshal(s.owner)
	if err != nil {
		return fmt.Errorf("encode lock owner: %w", err)
	}
	return state.WriteAtomic(s.d.Fs, s.d.ownerPath(s.app), b, 0o644)
}

// end releases the lock; a ticket that was deployed (or tried) marks every
// older one as superseded.
func (s *session) end() {
	d := s.d
	if s.ticket != "" && s.owner.PID != 0 && !s.skipped {
		mark := filepath.Base(s.ticket) + " " + s.owner.Commit
		if err := state.WriteAtomic(d.Fs, d.donePath(s.app), []byte(mark), 0o644); err != nil {
			s.p.Fail("could not mark older waiting pushes as superseded: %v", err)
		}
	}
	s.dropTicket()
	if s.owner.PID != 0 {
		if err := d.Fs.Remove(d.ownerPath(s.app)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.p.Fail("could not remove the lock owner file: %v", err)
		}
	}
	if s.unlock != nil {
		s.unlock()
	}
}

func (s *session) dropTicket() {
	if s.ticket != "" {
		if err := s.d.Fs.Remove(s.ticket); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.p.Fail("could not remove the queue ticket: %v", err)
		}
	}
}

func (d *Deployer) readOwner(app string) (Owner, bool) {
	var o Owner
	b, err := afero.ReadFile(d.Fs, d.ownerPath(app))
	if err != nil || json.Unmarshal(b, &o) != nil {
		return o, false
	}
	return o, true
}

// waitingFor says what a deploy waits for.
func (d *Deployer) waitingFor(app string) string {
	o, ok := d.readOwner(app)
	if !ok {
		return fmt.Sprintf("Another deploy of %s is running; waiting for it to finish", app)
	}
	commit := ""
	if o.Commit != "" {
		commit = hook.Short(o.Commit) + ", "
	}
	return fmt.Sprintf("Waiting for the %s of %s %s (%spid %d, started %s ago) to finish",
		o.Kind, app, dash(o.Release), commit, o.PID, d.Now().Sub(o.Since).Truncate(time.Second))
}

// writeTicket queues t; names sort by arrival.
func (d *Deployer) writeTicket(app string, t *Ticket) (string, error) {
	t.PID = os.Getpid()
	b, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("encode ticket: %w", err)
	}
	path := filepath.Join(d.queueDir(app), fmt.Sprintf("%020d-%d.json", d.Now().UnixNano(), t.PID))
	if err := state.WriteAtomic(d.Fs, path, b, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// newerTicket returns the commit of a push that arrived after mine and is
// either still waiting (its process alive) or already done.
func (d *Deployer) newerTicket(app, mine string) (string, bool) {
	me := filepath.Base(mine)
	if done, err := afero.ReadFile(d.Fs, d.donePath(app)); err == nil {
		name, commit, _ := strings.Cut(string(done), " ")
		if name > me {
			return commit, true
		}
	}
	entries, err := afero.ReadDir(d.Fs, d.queueDir(app))
	if err != nil {
		return "", false
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") && e.Name() > me {
			names = append(names, e.Name())
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	for _, n := range names {
		path := filepath.Join(d.queueDir(app), n)
		var t Ticket
		b, err := afero.ReadFile(d.Fs, path)
		if err == nil && json.Unmarshal(b, &t) == nil && d.alive(t.PID) {
			return t.Commit, true
		}
		// The ticket of a process that is gone: it will never run.
		if err := d.Fs.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
	}
	return "", false
}

// dropDeadTickets removes the queue tickets of processes that are gone
// (a push killed while it waited): they will never run, and nothing else
// would remove them. mine is the caller's own ticket (if any). The caller
// holds the app's lock.
func (d *Deployer) dropDeadTickets(app, mine string, p *Progress) {
	entries, err := afero.ReadDir(d.Fs, d.queueDir(app))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			p.Fail("could not list the queue of %s: %v", app, err)
		}
		return
	}
	gone := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(d.queueDir(app), e.Name())
		if path == mine {
			continue
		}
		var t Ticket
		b, err := afero.ReadFile(d.Fs, path)
		if err == nil && json.Unmarshal(b, &t) == nil && d.alive(t.PID) {
			continue
		}
		if err := d.Fs.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			p.Fail("could not remove the stale queue ticket %s: %v", e.Name(), err)
			continue
		}
		gone++
	}
	if gone > 0 {
		p.Say("Removed %d queued push(es) of %s whose process is gone", gone, app)
	}
}

func (d *Deployer) alive(pid int) bool {
	if d.Alive != nil {
		return d.Alive(pid)
	}
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return (err == nil || errors.Is(err, syscall.EPERM)) && !zombie(pid)
}

// zombie says whether pid has exited but is not reaped yet: a detached
// process (a watch) whose parent is gone waits for init to reap it, which
// may take a while (a second, on a VM's minimal init).
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": comm may hold spaces and parens
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}
