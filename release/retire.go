package release

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gitship/gitship/state"
)

// retireOlder hands over every release this one replaces: the one live
// before it stays warm for its `warm` setting (its workers stop now: two
// sets would take the same jobs), and every other one still running
// (an older warm one, one an unconfirmed nginx switch left running, what
// the previous watch had not stopped yet) retires once nginx's old workers
// have drained. A detached process (Spawn, Watch) does the waiting, so
// the command returns as soon as the release is live; without one, or
// when it cannot start, the drain and the retirement happen here, as
// before warm releases existed.
func (r *run) retireOlder(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	w, err := r.handOver(ctx)
	if err != nil {
		return err
	}
	if w.empty() {
		return nil
	}
	if r.d.Spawn != nil && !r.inline {
		// The old workers stop before the command returns: two sets of
		// workers would take the same jobs.
		if len(w.StopNow) > 0 {
			done := r.p.Step("")
			for _, n := range w.StopNow {
				r.d.stopContainer(ctx, r.p, n)
			}
			done(fmt.Sprintf("Stopped the old workers: %s", joinNames(w.StopNow)))
			w.StopNow = nil
		}
		err := r.spawnWatch(w)
		if err == nil {
			r.watched = w
			return nil
		}
		r.p.Fail("could not start the process that retires the old release in the background: %v; retiring it now", err)
	}
	return r.retireNow(ctx, w)
}

// handOver ends the watch of the previous switch (taking over what it had
// left), records the release switched from warm (until now + warm) or
// retired, every other older running one retired, and returns what is
// left to do.
func (r *run) handOver(ctx context.Context) (*watchFile, error) {
	d, st := r.d, r.d.Store()
	now := d.Now()
	w := &watchFile{Live: r.rec.Version, Since: now, Reshare: r.reshare,
		DrainUntil: now.Add(r.rec.Settings.EffectiveDrain())}
	// keep is the warm release that stays warm in place of the one
	// switched from, for a config change (the same code again) of a
	// release that was still watched: the warm release of that watch is
	// the last one known good, and the code being released again is not
	// (a config change released while a bad push is watched must not
	// make the bad push the release to switch back to). A new push makes
	// the one it replaces warm, watched to the end or not.
	keep := 0
	if prev := d.endWatch(ctx, r.app.Name, r.p, r.inline); prev != nil {
		w.StopNow, w.Retire = prev.StopNow, prev.Retire
		w.Reshare = w.Reshare || prev.Reshare
		w.Reload = prev.Reload
		// (after a rollback the warm release is the one rolled back
		// from: not a good one)
		if r.rec.Kind == state.KindConfig && prev.Warm != 0 && now.Before(prev.WatchUntil) && r.prev != nil &&
			prev.Live == r.prev.Version && r.prev.RollbackOf == 0 && !r.adopted {
			keep = prev.Warm
		}
	}
	list, err := st.List(r.app.Name)
	if err != nil {
		return nil, err
	}
	warm := r.rec.Settings.EffectiveWarm()
	if d.Spawn == nil || r.inline || r.noWarm {
		warm = 0
	}
	for _, o := range list {
		if o.Version == r.rec.Version || !o.Running() {
			continue
		}
		if warm > 0 && keep != 0 && o.Version == keep && o.Status == state.StatusWarm {
			o.WarmUntil = now.Add(warm)
			w.Warm, w.WarmUntil = o.Version, o.WarmUntil
			r.p.Say("%s was still watched: v%d stays the warm release to switch back to", r.prev.Name(), keep)
		} else if warm > 0 && keep == 0 && r.prev != nil && o.Version == r.prev.Version && o.Status == state.StatusLive {
			o.Status, o.WarmUntil = state.StatusWarm, now.Add(warm)
			for _, p := range procsOf(o) {
				if isWorker(p) {
					w.StopNow = append(w.StopNow, p.Name)
				}
			}
			o.Procs = webProcsOf(o)
			w.Warm, w.WarmUntil = o.Version, o.WarmUntil
		} else {
			o.Status, o.WarmUntil = state.StatusRetired, time.Time{}
			// the warm release a rollback took over runs on as this one
			adopted := r.adopted && o.Version == r.warm.Version
			if !adopted && !slices.Contains(w.Retire, o.Version) {
				w.Retire = append(w.Retire, o.Version)
			}
		}
		if err := st.Save(o); err != nil {
			r.p.Fail("could not record %s as %s: %v", o.Name(), o.Status, err)
		}
	}
	// The workers from before this switch's reload serve all that the
	// releases switched from still answer; with no reload, they are the
	// current ones, and a reload before the retirement makes them old.
	w.Drain = d.Proxy.OldWorkers()
	w.Reload = !r.settle && (r.drainReload || w.Reload)
	// watched when there is something to switch back to
	if watch := WatchOf(r.rec); watch > 0 && r.prev != nil && r.logOffset >= 0 && d.Spawn != nil && !r.inline {
		w.WatchUntil, w.LogOffset = now.Add(watch), r.logOffset
	}
	return w, nil
}

// retireNow drains and stops what w lists before the command returns.
// They drain first: nginx's workers from before the switch finish what
// they were serving (up to the drain setting), then the containers get
// SIGTERM, and SIGKILL StopTimeout later.
func (r *run) retireNow(ctx context.Context, w *watchFile) error {
	d := r.d
	done := r.p.Step("")
	for _, n := range w.StopNow {
		d.stopContainer(ctx, r.p, n)
	}
	if w.Warm != 0 {
		w.Retire = append(w.Retire, w.Warm)
	}
	drain := r.rec.Settings.EffectiveDrain()
	if w.Reload {
		if _, err := d.reloadToDrain(ctx); err != nil {
			r.p.Fail("could not reload nginx to drain what the previous release serves: %v", err)
		}
	}
	stop := r.p.Every(d.progressEvery(), func(el time.Duration) string {
		return fmt.Sprintf("waiting for nginx's old workers to finish what they serve (drain, at most %s): %s", drain, el)
	})
	err := d.Proxy.Drain(ctx, drain)
	stop()
	if err != nil {
		r.p.Fail("%v; stopping anyway", err)
	}
	d.pause(ctx, "drain")
	var old []*state.Record
	for _, v := range w.Retire {
		o, err := d.Store().Get(r.app.Name, v)
		if err != nil {
			r.p.Fail("%v", err)
			continue
		}
		if o.Status == state.StatusWarm {
			o.Status, o.WarmUntil = state.StatusRetired, time.Time{}
			if err := d.Store().Save(o); err != nil {
				r.p.Fail("could not record %s as retired: %v", o.Name(), err)
			}
		}
		d.stopRelease(ctx, r.p, o)
		old = append(old, o)
	}
	r.reshare = r.reshare || w.Reshare
	r.reshareData()
	switch len(old) {
	case 0:
		done("Stopped the old workers")
	case 1:
		done(fmt.Sprintf("Retired %s (image %s kept for rollback)", old[0].Name(), old[0].Image))
	default:
		done(fmt.Sprintf("Retired %s (images kept for rollback)", names(old)))
	}
	return nil
}

// stopRelease stops and removes every container of a release and its
// socket dirs, but for what a live or warm release uses (a rollback to a
// warm release took its web containers over). Failures are reported, not
// fatal.
func (d *Deployer) stopRelease(ctx context.Context, p *Progress, o *state.Record) {
	used, usedDirs := map[string]bool{}, map[string]bool{}
	list, err := d.Store().List(o.App)
	if err != nil {
		p.Fail("%v; %s keeps running", err, o.Name())
		return
	}
	for _, r := range list {
		if r.Version == o.Version || !r.Running() {
			continue
		}
		for _, c := range procsOf(r) {
			used[c.Name] = true
		}
		for _, dir := range d.releaseDirs(r) {
			usedDirs[dir] = true
		}
	}
	for _, c := range procsOf(o) {
		if !used[c.Name] {
			d.stopContainer(ctx, p, c.Name)
		}
	}
	for _, dir := range d.releaseDirs(o) {
		if usedDirs[dir] {
			continue
		}
		if err := d.Fs.RemoveAll(dir); err != nil {
			p.Fail("could not remove the socket dir of %s: %v", o.Name(), err)
		}
	}
}

// releaseDirs are the socket dirs (run_dir/APP/vN) rec's containers use:
// its own, and those of the warm release whose containers it took over.
func (d *Deployer) releaseDirs(rec *state.Record) []string {
	appRun := filepath.Join(d.Config.RunDir, rec.App)
	dirs := []string{d.socketDir(rec.App, rec.Version)}
	for _, p := range webProcsOf(rec) {
		rel, err := filepath.Rel(appRun, p.Socket)
		if err != nil || p.Socket == "" || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		dir := filepath.Join(appRun, strings.Split(rel, string(filepath.Separator))[0])
		if !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	return dirs
}

func names(rs []*state.Record) string {
	n := make([]string, len(rs))
	for i, r := range rs {
		n[i] = r.Name()
	}
	return strings.Join(n, ", ")
}
