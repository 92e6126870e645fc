package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// recover cleans up after deploys that died (kill -9, a reboot, a lost
// ssh session): records left building or starting become failed, nginx
// is pointed back at the live release if it named another, and every
// container, socket dir, build context and nginx temp file that does not
// belong to the live release goes. The caller holds the app's lock, so no
// deploy of the app is running.
func (d *Deployer) recover(ctx context.Context, app string, p *Progress) error {
	list, err := d.Store().List(app)
	if err != nil {
		return err
	}
	var live *state.Record
	var dirty []*state.Record
	for _, r := range list {
		switch r.Status {
		case state.StatusLive:
			live = r
		case state.StatusBuilding, state.StatusStarting:
			dirty = append(dirty, r)
		}
	}
	for _, r := range dirty {
		was := r.Status
		r.Status, r.Reason, r.Finished = state.StatusFailed, fmt.Sprintf("interrupted while %s: the deploy process died", was), d.Now()
		if err := d.Store().Save(r); err != nil {
			return err
		}
		p.Say("Marked %s of %s failed: interrupted while %s", r.Name(), app, was)
	}
	if len(dirty) > 0 {
		if err := d.restoreNginx(ctx, app, live, p); err != nil {
			return err
		}
	}
	// What a running watch process keeps warm or retires after the drain
	// is its own; a warm release whose watch died retires now.
	keep := []*state.Record{}
	if live != nil {
		keep = append(keep, live)
	}
	own, told := d.watchOwns(app, p)
	for _, r := range list {
		switch {
		case own[r.Version]:
			keep = append(keep, r)
		case r.Status == state.StatusWarm:
			r.Status, r.WarmUntil = state.StatusRetired, time.Time{}
			if err := d.Store().Save(r); err != nil {
				return err
			}
			if r.Version != told {
				p.Say("Retired %s of %s: it was warm, but nothing looks after it any more", r.Name(), app)
			}
		}
	}
	if err := d.removeOrphans(ctx, app, keep, p); err != nil {
		return err
	}
	return d.removeLeftovers(app, keep, p)
}

// restoreNginx points nginx back at the live release (or takes the app
// out when none is live): a deploy killed after installing its server
// block may have left nginx naming a release that never went live.
func (d *Deployer) restoreNginx(ctx context.Context, app string, live *state.Record, p *Progress) error {
	unlock, err := d.lockNginx(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if tmp, err := d.Proxy.CleanTemp(); err != nil {
		return fmt.Errorf("clean nginx temp files: %w", err)
	} else if len(tmp) > 0 {
		p.Say("Removed %d half-written nginx file(s)", len(tmp))
	}
	if live == nil {
		if err := d.Proxy.Remove(ctx, app); err != nil {
			return fmt.Errorf("restore nginx for %s: %w", app, err)
		}
		return nil
	}
	_, conf, err := d.site(app, live)
	if err != nil {
		return err
	}
	changed, relinked, err := d.installLinked(ctx, live, conf, nil)
	if err != nil {
		return fmt.Errorf("restore nginx for %s: %w", app, err)
	}
	if changed || relinked {
		p.Say("Pointed nginx back at %s", live.Name())
	}
	if changed {
		if err := d.Proxy.Drain(ctx, live.Settings.EffectiveDrain()); err != nil {
			p.Fail("%v", err)
		}
	}
	return nil
}

// removeOrphans removes every container of app (in this instance) but
// those of the releases in keep (the live one, and what a running watch
// looks after).
func (d *Deployer) removeOrphans(ctx context.Context, app string, keep []*state.Record, p *Progress) error {
	states, err := d.Runtime.List(ctx, map[string]string{container.LabelApp: app, container.LabelRoot: d.Config.Root})
	if err != nil {
		return err
	}
	kept := map[string]bool{}
	for _, r := range keep {
		for _, c := range procsOf(r) {
			kept[c.Name] = true
		}
	}
	for _, st := range states {
		if kept[st.Name] {
			continue
		}
		// A one-off run or a cron job still at work is not a leftover
		// of a deploy: it ends, and removes itself, on its own.
		if proc := st.Labels[container.LabelProcess]; st.Running && (proc == ProcessRun || proc == ProcessCron) {
			continue
		}
		if err := d.Runtime.Stop(ctx, st.Name, d.StopTimeout); err != nil {
			return err
		}
		if err := d.Runtime.Remove(ctx, st.Name); err != nil {
			return err
		}
		p.Say("Removed leftover container %s (%s)", st.Name, st.Status)
	}
	return nil
}

// removeLeftovers removes the socket dirs of releases not in keep and
// build contexts of interrupted builds.
func (d *Deployer) removeLeftovers(app string, keep []*state.Record, p *Progress) error {
	dir := filepath.Join(d.Config.RunDir, app)
	entries, err := afero.ReadDir(d.Fs, dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	kept := map[string]bool{}
	for _, r := range keep {
		for _, k := range d.releaseDirs(r) {
			kept[k] = true
		}
	}
	for _, e := range entries {
		if kept[filepath.Join(dir, e.Name())] || e.Name() == config.LiveLinkName {
			continue
		}
		if err := d.Fs.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("remove %s: %w", e.Name(), err)
		}
	}
	gone, err := d.removeBuildDirs(app)
	if err != nil {
		return err
	}
	if len(gone) > 0 {
		p.Say("Removed %d build context(s) of interrupted builds", len(gone))
	}
	return nil
}

// Tidy cleans up after interrupted deploys of app when no deploy of it is
// running (for `gitship status`); it never waits for the lock.
func (d *Deployer) Tidy(ctx context.Context, app string, p *Progress) error {
	unlock, err := d.Locker.TryLock(d.lockPath(app))
	if err != nil {
		return nil // a deploy runs: it cleans up itself
	}
	s := &session{d: d, p: p, app: app, kind: "cleanup", unlock: unlock}
	defer s.end()
	return s.start(ctx, p, nil)
}
