package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// Check is one look of a watch at the live release: bad, with a reason
// that says what was seen (numbers included), switches nginx back to the
// warm release.
type Check func(ctx context.Context) (bad bool, reason string)

// watchTick is how often the watch process looks at what it waits for.
const watchTick = 250 * time.Millisecond

// endWait is how long a release waits for the watch of the previous one
// to exit after SIGTERM before it kills it.
const endWait = 10 * time.Second

// watchFile is apps/APP/watch.json: what the detached process of the last
// switch (Watch) still has to do. The release that switched writes it
// under the app's lock before it lets go; the process rewrites it under
// the lock as it goes; the next release, or a recovery after the process
// died, takes over what is left.
type watchFile struct {
	// PID is the watch process (0 while it is being started).
	PID int `json:"pid"`
	// Live is the release switched to, the one watched.
	Live int `json:"live"`
	// Warm is the release switched from, kept running until WarmUntil
	// (0: none).
	Warm      int       `json:"warm,omitempty"`
	WarmUntil time.Time `json:"warm_until,omitzero"`
	// Retire are releases recorded retired whose containers run until
	// nginx's old workers have drained (or DrainUntil).
	Retire []int `json:"retire,omitempty"`
	// StopNow are the old release's workers: they stop at once, since
	// two sets of workers would take the same jobs.
	StopNow []string `json:"stop_now,omitempty"`
	// Drain are nginx's workers from before the switch.
	Drain []int `json:"drain,omitempty"`
	// Reload says the switch did not reload nginx (the live link): the
	// watch reloads it first, and Drain are the workers from before that
	// reload, which serve what the releases it retires still answer.
	Reload     bool      `json:"reload,omitempty"`
	DrainUntil time.Time `json:"drain_until,omitzero"`
	// Reshare repeats the data dir's group share once the old release
	// stopped writing (datagroup.go).
	Reshare bool      `json:"reshare,omitempty"`
	Since   time.Time `json:"since"`
	// WatchUntil ends the watch of Live (zero: it is not watched): until
	// then its containers and its answers in the app's access log after
	// LogOffset are checked every tick (verdict.go).
	WatchUntil time.Time `json:"watch_until,omitzero"`
	LogOffset  int64     `json:"log_offset,omitempty"`
}

// empty says whether there is nothing left to do.
func (w *watchFile) empty() bool {
	return w.Warm == 0 && len(w.Retire) == 0 && len(w.StopNow) == 0 && w.WatchUntil.IsZero()
}

func (d *Deployer) watchPath(app string) string { return filepath.Join(d.appDir(app), "watch.json") }

// WatchLog is the log of app's watch processes (their stdout and stderr).
func (d *Deployer) WatchLog(app string) string { return filepath.Join(d.appDir(app), "watch.log") }

func (d *Deployer) readWatch(app string) (*watchFile, bool) {
	b, err := afero.ReadFile(d.Fs, d.watchPath(app))
	if err != nil {
		return nil, false
	}
	var w watchFile
	if json.Unmarshal(b, &w) != nil {
		return nil, false
	}
	return &w, true
}

func (d *Deployer) writeWatch(app string, w *watchFile) error {
	b, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode watch file: %w", err)
	}
	return state.WriteAtomic(d.Fs, d.watchPath(app), b, 0o644)
}

func (d *Deployer) removeWatch(app string) error {
	if err := d.Fs.Remove(d.watchPath(app)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove watch file: %w", err)
	}
	return nil
}

func (d *Deployer) sleep(ctx context.Context, dur time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, dur)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (d *Deployer) signal(pid int, sig syscall.Signal) error {
	if d.Signal != nil {
		return d.Signal(pid, sig)
	}
	return syscall.Kill(pid, sig)
}

func (d *Deployer) tick() time.Duration {
	if d.WatchTick > 0 {
		return d.WatchTick
	}
	return watchTick
}

// endWatch ends the watch process of app's previous switch, if one runs,
// and returns what it had left to do (nil: no watch file). The caller
// holds the app's lock, so the process is not in the middle of a change:
// it sleeps or waits for the lock, and SIGTERM ends it there.
// self is set when the caller is that process (its automatic rollback).
func (d *Deployer) endWatch(ctx context.Context, app string, p *Progress, self bool) *watchFile {
	w, ok := d.readWatch(app)
	if !ok {
		return nil
	}
	if w.PID > 0 && !self && d.alive(w.PID) {
		if err := d.signal(w.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			p.Fail("could not end the watch of v%d (pid %d): %v", w.Live, w.PID, err)
		}
		deadline := time.Now().Add(endWait)
		for d.alive(w.PID) && time.Now().Before(deadline) {
			if d.sleep(ctx, 2*time.Millisecond) != nil {
				break
			}
		}
		if d.alive(w.PID) {
			p.Fail("the watch of v%d (pid %d) did not end within %s: killed", w.Live, w.PID, endWait)
			if err := d.signal(w.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				p.Fail("could not kill pid %d: %v", w.PID, err)
			}
		}
	}
	if err := d.removeWatch(app); err != nil {
		p.Fail("%v", err)
	}
	return w
}

// spawnWatch writes w as the watch file of this switch and starts the
// detached process that does what it lists.
func (r *run) spawnWatch(w *watchFile) error {
	d, app := r.d, r.app.Name
	w.PID = 0
	if err := d.writeWatch(app, w); err != nil {
		return err
	}
	pid, err := d.Spawn(app, r.rec.Version)
	if err != nil {
		return errors.Join(err, d.removeWatch(app))
	}
	w.PID = pid
	return d.writeWatch(app, w)
}

// Watch is the detached process a switch starts (`gitship watch APP vN`,
// Spawn) once release v of app is live, so that the push returns at once:
// it stops the old release's workers, waits for nginx's old workers to
// drain and stops the releases it retires, keeps the previous release warm
// until its window ends and then retires it, and while the release is
// watched (NewCheck) asks the check every tick: a bad answer switches
// nginx back to the warm release (autoRollback). It holds the app's lock
// only for each change, never while it waits. A newer release of the app
// ends it (SIGTERM: ctx ends) and takes over what it had left.
func (d *Deployer) Watch(ctx context.Context, app string, v int, out io.Writer) error {
	p := &Progress{W: out, Now: d.Now}
	w, err := d.awaitWatch(ctx, app, v)
	if err != nil || w == nil {
		return err
	}
	p.Say("Watch of %s v%d (pid %d) started", app, v, os.Getpid())
	if len(w.StopNow) > 0 {
		// Not under the lock: the records say so already, and a push
		// that holds the lock for minutes must not leave two sets of
		// workers running meanwhile.
		for _, n := range w.StopNow {
			d.stopContainer(context.WithoutCancel(ctx), p, n)
		}
		p.Say("Stopped the workers of the previous release: %s", joinNames(w.StopNow))
	}
	if w.Reload {
		if w, err = d.drainReload(ctx, app, v, p); err != nil || w == nil {
			return err
		}
	}
	d.pause(ctx, "drain")
	var check Check
	var stats func() VerdictStats
	until := w.WatchUntil
	if d.NewCheck != nil || !until.IsZero() {
		if live, err := d.Store().Get(app, v); err != nil {
			p.Fail("not watched: %v", err)
		} else if d.NewCheck != nil {
			var window time.Duration
			check, window = d.NewCheck(ctx, live)
			until = w.Since.Add(window)
		} else {
			check, stats = d.accessCheck(live, w, p)
			p.Say("Watching v%d until %s: its containers, and its answers in %s", v, until.Local().Format("15:04:05"), d.AccessLog(app))
		}
	}
	for {
		now := d.Now()
		watching := check != nil && now.Before(until)
		if watching {
			if bad, reason := check(ctx); bad {
				return d.autoRollback(ctx, app, v, reason, p)
			}
		} else if check != nil {
			check = nil
			if stats != nil {
				s := stats()
				p.Say("Watched v%d until %s: %d answers, %d of them 5xx; left alone", v, until.Local().Format("15:04:05"), s.Answers, s.Errors)
			}
		}
		if len(w.Retire) > 0 && (!now.Before(w.DrainUntil) || d.Proxy.DrainWorkers(ctx, w.Drain, time.Time{}) == nil) {
			if w, err = d.retireDrained(ctx, app, v, w, p); err != nil || w == nil {
				return err
			}
		}
		if len(w.Retire) == 0 && w.Warm != 0 && !now.Before(w.WarmUntil) {
			if w, err = d.retireWarm(ctx, app, v, w, p); err != nil || w == nil {
				return err
			}
		}
		if len(w.Retire) == 0 && w.Warm == 0 && !watching {
			break
		}
		if err := d.sleep(ctx, d.tick()); err != nil {
			p.Say("Watch of %s v%d ended: a newer release took over", app, v)
			return nil
		}
	}
	_, err = d.watchStep(ctx, app, v, p, func(ctx context.Context, app string, w *watchFile, p *Progress) error {
		return d.removeWatch(app)
	})
	if err == nil {
		p.Say("Watch of %s v%d done", app, v)
	}
	return err
}

// awaitWatch reads the watch file until it names this process as the
// watch of v (its starter writes the pid once the process runs); nil when
// it names another (a newer release took over before this one began).
func (d *Deployer) awaitWatch(ctx context.Context, app string, v int) (*watchFile, error) {
	deadline := time.Now().Add(endWait)
	for {
		w, ok := d.readWatch(app)
		switch {
		case ok && w.Live == v && w.PID == os.Getpid():
			return w, nil
		case ok && w.Live == v && w.PID == 0 && time.Now().Before(deadline):
		default:
			return nil, nil
		}
		if err := d.sleep(ctx, 20*time.Millisecond); err != nil {
			return nil, nil
		}
	}
}

// watchStep does one change of the watch of v under the app's lock,
// taken with TryLock: while something else holds it, it tries again every
// tick. It returns the watch file as left by the step, or nil when the
// file no longer names this process (a newer release took over, or ctx
// ended while it waited).
func (d *Deployer) watchStep(ctx context.Context, app string, v int, p *Progress,
	step func(ctx context.Context, app string, w *watchFile, p *Progress) error) (*watchFile, error) {
	for {
		unlock, err := d.Locker.TryLock(d.lockPath(app))
		if err == nil {
			defer unlock()
			w, ok := d.readWatch(app)
			if !ok || w.Live != v || w.PID != os.Getpid() {
				return nil, nil
			}
			if err := step(context.WithoutCancel(ctx), app, w, p); err != nil {
				return nil, err
			}
			return w, nil
		}
		if !errors.Is(err, ErrLocked) {
			return nil, err
		}
		if err := d.sleep(ctx, d.tick()); err != nil {
			return nil, nil
		}
	}
}

// drainReload reloads nginx for a switch that did not (Reload): the
// connections the releases switched from still serve are then in old
// workers, whose exit the retirement waits for (Drain). Under the nginx
// lock for the reload, then the app's lock to record it.
func (d *Deployer) drainReload(ctx context.Context, app string, v int, p *Progress) (*watchFile, error) {
	old, err := d.reloadToDrain(ctx)
	if err != nil && ctx.Err() != nil {
		return nil, nil // ended while it waited: the newer release reloads
	}
	if err != nil {
		p.Fail("could not reload nginx to drain what the previous release serves: %v", err)
	} else if uerr := d.Proxy.Unwatched(); uerr != nil {
		p.Fail("nginx could not be watched, so the old workers' drain is not confirmed: %v", uerr)
	}
	return d.watchStep(ctx, app, v, p, func(ctx context.Context, app string, w *watchFile, p *Progress) error {
		w.Reload = false
		if err == nil {
			w.Drain = old
		}
		return d.writeWatch(app, w)
	})
}

// retireDrained stops the releases the watch retires once nginx's old
// workers are gone (or the drain timed out): it holds the lock only to
// look (and the watch file keeps listing them until they are stopped, so
// a newer release that ends this process meanwhile takes them over).
func (d *Deployer) retireDrained(ctx context.Context, app string, v int, w *watchFile, p *Progress) (*watchFile, error) {
	if err := d.Proxy.DrainWorkers(ctx, w.Drain, time.Time{}); err != nil {
		p.Fail("%v; stopping anyway", err)
	}
	var stop []*state.Record
	w, err := d.watchStep(ctx, app, v, p, func(ctx context.Context, app string, w *watchFile, p *Progress) error {
		for _, v := range w.Retire {
			o, err := d.Store().Get(app, v)
			if err != nil {
				p.Fail("%v", err)
				continue
			}
			if !o.Running() {
				stop = append(stop, o)
			}
		}
		return nil
	})
	if err != nil || w == nil {
		return w, err
	}
	for _, o := range stop {
		if ctx.Err() != nil {
			return nil, nil // ended: the newer release stops the rest
		}
		d.stopRelease(ctx, p, o)
	}
	if ctx.Err() != nil {
		// ended while it stopped them: the watch file still lists them,
		// and the newer release stops what is left
		p.Say("Watch of %s v%d ended while it retired %s: a newer release took over", app, v, names(stop))
		return nil, nil
	}
	if len(stop) > 0 {
		p.Say("Retired %s", names(stop))
	}
	return d.watchStep(ctx, app, v, p, func(ctx context.Context, app string, w *watchFile, p *Progress) error {
		w.Retire = nil
		if w.Reshare {
			d.reshare(app, p)
			w.Reshare = false
		}
		return d.writeWatch(app, w)
	})
}

// retireWarm retires the warm release once its window is over: recorded
// retired under the lock (a rollback from then on starts its image), then
// stopped as the releases retireDrained stops.
func (d *Deployer) retireWarm(ctx context.Context, app string, v int, w *watchFile, p *Progress) (*watchFile, error) {
	w, err := d.watchStep(ctx, app, v, p, func(ctx context.Context, app string, w *watchFile, p *Progress) error {
		o, err := d.Store().Get(app, w.Warm)
		if err != nil {
			return err
		}
		if o.Status == state.StatusWarm {
			o.Status, o.WarmUntil = state.StatusRetired, time.Time{}
			if err := d.Store().Save(o); err != nil {
				return err
			}
			p.Say("%s's warm window is over (image %s kept for rollback)", o.Name(), o.Image)
			w.Retire = append(w.Retire, o.Version)
		}
		w.Warm, w.WarmUntil = 0, time.Time{}
		return d.writeWatch(app, w)
	})
	if err != nil || w == nil || len(w.Retire) == 0 {
		return w, err
	}
	return d.retireDrained(ctx, app, v, w, p)
}

// reshare is reshareData for a process that is not the release's run.
func (d *Deployer) reshare(app string, p *Progress) {
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		p.Fail("%v", err)
		return
	}
	if _, err := GroupShare(d.dataDir(app), a.GID); err != nil {
		p.Fail("%v", err)
	}
}

// watchOwns lists what app's running watch process looks after: the
// releases it keeps warm or retires, whose containers and socket dirs a
// recovery must leave to it. When the process died (kill -9, a reboot) it
// says so, takes its file away and returns none but the warm release it
// named (told already): the recovery retires what it left.
func (d *Deployer) watchOwns(app string, p *Progress) (own map[int]bool, told int) {
	w, ok := d.readWatch(app)
	if !ok {
		return nil, 0
	}
	if w.PID > 0 && d.alive(w.PID) {
		own := map[int]bool{}
		if w.Warm != 0 {
			own[w.Warm] = true
		}
		for _, v := range w.Retire {
			own[v] = true
		}
		return own, 0
	}
	what := ""
	if w.Warm != 0 {
		what = fmt.Sprintf("; v%d was warm until %s, retiring it now", w.Warm, w.WarmUntil.Local().Format(timeFormat))
	} else if len(w.Retire) > 0 {
		what = "; retiring what it left running now"
	}
	p.Say("The watch of %s v%d (pid %d) ended unexpectedly%s", app, w.Live, w.PID, what)
	if err := d.removeWatch(app); err != nil {
		p.Fail("%v", err)
	}
	return nil, w.Warm
}

// stopContainer stops and removes one container; failures are reported.
func (d *Deployer) stopContainer(ctx context.Context, p *Progress, name string) {
	if err := d.Runtime.Stop(ctx, name, d.StopTimeout); err != nil {
		p.Fail("could not stop %s: %v", name, err)
	}
	if err := d.Runtime.Remove(ctx, name); err != nil {
		p.Fail("could not remove %s: %v", name, err)
	}
}

func joinNames(names []string) string { return strings.Join(names, ", ") }

// autoRollback switches app back from release v, which its watch found
// bad, to the warm release (or, with none warm, to the previous release's
// image): a rollback under the app's lock, recorded as "automatic rollback
// to vN: why", with the bad release's output kept and a line in the audit
// log. The bad release retires before it returns.
func (d *Deployer) autoRollback(ctx context.Context, app string, v int, why string, p *Progress) error {
	p.Fail("%s v%d went bad: %s", app, v, why)
	var rec *state.Record
	var rerr error
	_, err := d.watchStep(ctx, app, v, p, func(ctx context.Context, app string, w *watchFile, p *Progress) error {
		live, err := d.Store().Live(app)
		if err != nil {
			return err
		}
		if live == nil || live.Version != v {
			return nil // a release or a rollback came first
		}
		a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
		if err != nil {
			return err
		}
		host, _ := os.Hostname()
		s := &session{d: d, p: p, app: app, kind: "automatic rollback",
			owner: Owner{PID: os.Getpid(), Host: host, Kind: "automatic rollback", Since: d.Now()}}
		defer s.end() // the owner file; watchStep lets the lock go
		if err := s.writeOwner(); err != nil {
			return err
		}
		target := ""
		if w.Warm != 0 {
			target = fmt.Sprintf("v%d", w.Warm)
		}
		rec, rerr = d.rollback(ctx, s, a, p, target, RollbackOptions{auto: why})
		return nil
	})
	if err == nil && rec == nil && rerr == nil {
		p.Say("%s v%d is no longer live: nothing to roll back", app, v)
		return nil
	}
	result := ""
	switch {
	case err != nil:
		result = "failed: " + oneLine(err.Error())
	case rerr != nil:
		result = "failed: " + oneLine(rerr.Error())
	default:
		result = fmt.Sprintf("ok: %s is %s", rec.Name(), rec.Reason)
	}
	if d.Audit != nil {
		if aerr := d.Audit(fmt.Sprintf("rollback %s (automatic, watch of v%d)", app, v), result); aerr != nil {
			p.Fail("audit log: %v", aerr)
		}
	}
	return errors.Join(err, rerr)
}

// accessCheck is the check of a watch with no NewCheck: live's containers
// and its answers in the access log after the switch (Watch in
// verdict.go), with the counts so far. An error (the log unreadable,
// Podman not answering) is no verdict: it is said once, and the next tick
// tries again.
func (d *Deployer) accessCheck(live *state.Record, w *watchFile, p *Progress) (Check, func() VerdictStats) {
	wt := d.NewVerdict(live, w.LogOffset, w.Since)
	said := ""
	return func(ctx context.Context) (bool, string) {
		bad, reason, err := wt.Check(ctx)
		if err != nil {
			if msg := err.Error(); msg != said {
				p.Fail("watch: %s; trying again", msg)
				said = msg
			}
			return false, ""
		}
		return bad, reason
	}, wt.Stats
}
