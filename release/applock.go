package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/state"
)

// appLockGrace is how long a change of stored settings waits for the
// app's lock when no release holds it: long enough for a `gitship status`
// or a prune to let go.
const appLockGrace = 5 * time.Second

// loadLocked is the skeleton of every change to an app: load it (an
// unknown app is refused before any lock file is made), take its deploy
// lock with lock, and load it again under the lock, since what was read
// before may have changed while it waited. Two callers differ in how they
// take the lock: beginApp (a release, destroy) waits for it as long as it
// takes and queues, skips and recovers (session.go); lockApp (a change of
// stored settings only) refuses when a release holds it.
func (d *Deployer) loadLocked(app string, lock func() (unlock func(), err error)) (func(), *state.App, error) {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return nil, nil, err
	}
	unlock, err := lock()
	if err != nil {
		return nil, nil, err
	}
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return unlock, a, nil
}

// beginApp is loadLocked for what releases or removes (deploy, rollback,
// config and domain changes, destroy): it takes the lock with begin, in a
// session of kind that the caller ends. ticket, when set, makes the queue
// ticket of a push once the app is known to exist (nil: never superseded).
func (d *Deployer) beginApp(ctx context.Context, app, kind string, p *Progress, ticket func() (*Ticket, error)) (*session, *state.App, error) {
	var s *session
	_, a, err := d.loadLocked(app, func() (func(), error) {
		var t *Ticket
		if ticket != nil {
			var err error
			if t, err = ticket(); err != nil {
				return nil, err
			}
		}
		var err error
		if s, err = d.begin(ctx, app, kind, p, t); err != nil {
			return nil, err
		}
		return s.end, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return s, a, nil
}

// lockApp takes app's deploy lock for a change of its stored state
// (app.json) and loads the app under it: a release running meanwhile,
// which saves the whole app when it ends, can then neither overwrite the
// change nor be overwritten by it. A release (push, deploy, rollback,
// config change) holding the lock is not waited for: that can take
// minutes, and whether it would use the change is unclear. The change is
// refused naming it and what to run again (cmd).
func (d *Deployer) lockApp(ctx context.Context, app, cmd string) (unlock func(), a *state.App, err error) {
	return d.loadLocked(app, func() (func(), error) { return d.tryLockApp(ctx, app, cmd) })
}

// tryLockApp takes app's deploy lock if it is free, refuses at once when
// a release (not a cleanup) holds it, and otherwise waits appLockGrace
// for whatever holds it (a status, a prune) to let go.
func (d *Deployer) tryLockApp(ctx context.Context, app, cmd string) (func(), error) {
	busy := func() error {
		return usererr.New(fmt.Sprintf("%s is busy: %s holds its lock; nothing was changed", app, d.holder(app)),
			fmt.Sprintf("run `gitship %s` again when it is done", cmd))
	}
	unlock, err := d.Locker.TryLock(d.lockPath(app))
	if !errors.Is(err, ErrLocked) {
		return unlock, err
	}
	if o, ok := d.readOwner(app); ok && o.Kind != "cleanup" && d.alive(o.PID) {
		return nil, busy() // a release runs: do not wait for it
	}
	lctx, cancel := context.WithTimeout(ctx, appLockGrace)
	defer cancel()
	unlock, err = d.Locker.Lock(lctx, d.lockPath(app), nil)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, busy()
	}
	return unlock, err
}

// holder names what holds app's deploy lock, from its owner file.
func (d *Deployer) holder(app string) string {
	o, ok := d.readOwner(app)
	if !ok || !d.alive(o.PID) {
		return "another gitship command"
	}
	commit := ""
	if o.Commit != "" {
		commit = hook.Short(o.Commit) + ", "
	}
	return fmt.Sprintf("the %s of %s %s (%spid %d, started %s ago)",
		o.Kind, app, dash(o.Release), commit, o.PID, d.Now().Sub(o.Since).Truncate(time.Second))
}
