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

// lockApp takes app's deploy lock for a change of its stored state
// (app.json) and loads the app under it: a release running meanwhile,
// which saves the whole app when it ends, can then neither overwrite the
// change nor be overwritten by it. A release (push, deploy, rollback,
// config change) holding the lock is not waited for: that can take
// minutes, and whether it would use the change is unclear. The change is
// refused naming it and what to run again (cmd).
func (d *Deployer) lockApp(ctx context.Context, app, cmd string) (unlock func(), a *state.App, err error) {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return nil, nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, appLockGrace)
	defer cancel()
	release := false
	unlock, err = d.Locker.Lock(lctx, d.lockPath(app), func() {
		if o, ok := d.readOwner(app); ok && o.Kind != "cleanup" && d.alive(o.PID) {
			release = true
			cancel() // a release runs: do not wait for it
		}
	})
	if err != nil {
		if ctx.Err() == nil && (release || errors.Is(err, context.DeadlineExceeded)) {
			return nil, nil, usererr.New(fmt.Sprintf("%s is busy: %s holds its lock; nothing was changed", app, d.holder(app)),
				fmt.Sprintf("run `gitship %s` again when it is done", cmd))
		}
		return nil, nil, err
	}
	a, err = state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return unlock, a, nil
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
