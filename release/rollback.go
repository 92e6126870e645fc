package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strconv"
	"strings"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/state"
)

// RollbackOptions are the choices of a rollback.
type RollbackOptions struct {
	// KeepEnv releases the target's image and settings with today's
	// environment instead of the target's.
	KeepEnv bool
	// WithData also puts back the data as it was before the release
	// that followed the target ran its release command: the snapshot
	// taken "before release v(N+1)" (releasephase.go). The data it
	// replaces is kept as a snapshot "rollback" first.
	WithData bool

	// auto is why the watch of the live release rolls it back by itself
	// (autoRollback): the release switched from is bad, so it does not
	// stay warm, and it is retired before the rollback returns.
	auto string
}

// Rollback releases an earlier release of app again, as a new release
// number: its image (no build), its environment and its settings, walking
// the pipeline from "starting". target is "vN", or "" for the release
// that was live before the current one. The output names the environment
// keys and settings the rollback changes (never values). On success the
// app's settings and environment become the release's, so the next push
// keeps them.
func (d *Deployer) Rollback(ctx context.Context, app, target string, opt RollbackOptions, out io.Writer) (*state.Record, error) {
	p := &Progress{W: out, Now: d.Now}
	s, a, err := d.beginApp(ctx, app, state.KindRollback, p, nil)
	if err != nil {
		return nil, err
	}
	defer s.end()
	return d.rollback(ctx, s, a, p, target, opt)
}

// rollback is Rollback once the app's lock is held (by s).
func (d *Deployer) rollback(ctx context.Context, s *session, a *state.App, p *Progress, target string, opt RollbackOptions) (*state.Record, error) {
	app := a.Name
	tgt, err := d.rollbackTarget(ctx, app, target)
	if err != nil {
		return nil, err
	}
	snap := ""
	if opt.WithData {
		if snap, err = d.dataBefore(app, tgt); err != nil {
			return nil, err
		}
	}
	unlock, err := d.leaveOutTaken(ctx, a, tgt, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p.hide(a.Env)
	p.hide(tgt.Env)
	env := tgt.Env
	if opt.KeepEnv {
		env = a.Env
	}
	// the data first, as a restore does (restore.go): staged beside the
	// data dir, swapped in while the app is paused, swapped back if the
	// release fails; one release starts on it
	undo := ""
	if snap != "" {
		staging, _, err := d.stageRestore(app, RestoreFrom{Snapshot: snap}, p)
		if err != nil {
			return nil, err
		}
		if undo, err = d.swapData(ctx, app, staging, "rollback", p); err != nil {
			return nil, err
		}
	}
	r := &state.Record{App: app, Kind: state.KindRollback, RollbackOf: tgt.Version, Commit: tgt.Commit,
		Image: tgt.Image, ImageID: tgt.ImageID, Created: d.Now(), Settings: tgt.Settings, Env: env,
		Processes: tgt.Processes, Cron: tgt.Cron, Pushed: tgt.Pushed}
	if opt.auto != "" {
		r.Reason = fmt.Sprintf("automatic rollback to %s: %s", tgt.Name(), opt.auto)
	}
	run, err := d.newRun(p, a, r, s)
	if err != nil {
		return nil, errors.Join(err, d.unswapData(ctx, app, undo, p))
	}
	// The release it replaces stays warm, unless it runs on data swapped
	// away, or went bad.
	run.noWarm, run.inline = snap != "", opt.auto != ""
	warm := ""
	if tgt.Status == state.StatusWarm {
		warm = " (warm)"
		switch {
		case snap != "":
			p.Say("%s is warm, but on the data it replaced: starting its image", tgt.Name())
		case opt.KeepEnv && !maps.Equal(a.Env, tgt.Env):
			p.Say("%s is warm, but with its own environment (--keep-env): starting its image", tgt.Name())
		default:
			run.warm = tgt
		}
	}
	if opt.auto != "" && run.prev != nil {
		// the bad release's output, before it retires
		if err := d.keepOutput(context.WithoutCancel(ctx), app, run.prev); err != nil {
			p.Fail("could not keep the output of %s: %v", run.prev.Name(), err)
		}
	}
	p.Say("Rolling back %s to %s%s (%s) as %s: no build, image %s", app, tgt.Name(), warm, hook.Short(tgt.Commit), r.Name(), tgt.Image)
	if snap != "" {
		p.Say("Data: snapshot %s, taken before release v%d", snap, tgt.Version+1)
	}
	sayChanges(p, a, tgt, opt.KeepEnv)
	if tgt.Status == state.StatusWarm && run.warm == nil {
		if err := d.imageLeft(ctx, app, tgt); err != nil {
			return r, run.fail(ctx, errors.Join(err, d.unswapData(ctx, app, undo, p)))
		}
	}
	if err := run.pipeline(ctx, false); err != nil {
		ferr := run.fail(ctx, err)
		if snap == "" {
			return r, ferr
		}
		if uerr := d.unswapData(ctx, app, undo, p); uerr != nil {
			p.Fail("could not put the data back: %v", uerr)
			return r, errors.Join(ferr, uerr)
		}
		p.Fail("The data is back as it was before the rollback.")
		return r, ferr
	}
	if snap != "" {
		if undo != "" {
			p.Say("The data it replaced is snapshot %s: `gitship restore %s %s` puts it back", undo, app, undo)
		}
		if err := d.keepSnapshots(app, max(a.Settings.EffectiveSnapshots(), 1)); err != nil {
			p.Fail("%v", err)
		}
	}
	a.Settings, a.Env = tgt.Settings, env
	if err := state.SaveApp(d.Fs, d.Config.AppsDir(), a); err != nil {
		return r, fmt.Errorf("rollback of %s is live, but its settings were not saved for the next push: %w", app, err)
	}
	return r, nil
}

// dataBefore is the snapshot a rollback to tgt --with-data restores: the
// one taken before the release command of the release that followed it.
func (d *Deployer) dataBefore(app string, tgt *state.Record) (string, error) {
	next := tgt.Version + 1
	list, err := state.ListSnapshots(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return "", err
	}
	before := fmt.Sprintf("release v%d", next)
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Before == before {
			return list[i].ID, nil
		}
	}
	rec, err := d.Store().Get(app, next)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if rec == nil || rec.Processes[hook.TypeRelease] == "" || (rec.Kind != state.KindPush && rec.Kind != state.KindDeploy) {
		return "", usererr.New(fmt.Sprintf("cannot roll back %s to %s with its data: v%d ran no release command, so no snapshot was taken before it", app, tgt.Name(), next),
			"roll back without --with-data, or restore a snapshot (`gitship snapshots "+app+"`)")
	}
	return "", usererr.New(fmt.Sprintf("cannot roll back %s to %s with its data: the snapshot taken before release v%d is gone (setting snapshots keeps the newest)", app, tgt.Name(), next),
		"roll back without --with-data, or restore a snapshot (`gitship snapshots "+app+"`)")
}

// rollbackTarget picks the release to roll back to: one that was live
// once, is not live now, and whose image still exists.
func (d *Deployer) rollbackTarget(ctx context.Context, app, target string) (*state.Record, error) {
	list, err := d.Store().List(app)
	if err != nil {
		return nil, err
	}
	var live *state.Record
	for _, r := range list {
		if r.Status == state.StatusLive {
			live = r
		}
	}
	var cands []*state.Record
	for _, r := range list {
		if !r.LiveSince.IsZero() && r != live && r.Image != "" {
			cands = append(cands, r)
		}
	}
	tgt, err := pickTarget(app, target, list, live, cands)
	if err != nil {
		return nil, err
	}
	// A warm release's containers run its image, which Podman does not
	// remove under them: the rollback asks only when it has to start the
	// image after all (startImage), not on the path of a switch back.
	if tgt.Status == state.StatusWarm {
		return tgt, nil
	}
	return tgt, d.imageLeft(ctx, app, tgt)
}

// imageLeft says why a rollback of app to tgt cannot start tgt's image,
// naming the releases it could go to instead (nil: the image is there).
func (d *Deployer) imageLeft(ctx context.Context, app string, tgt *state.Record) error {
	ok, err := d.Runtime.ImageExists(ctx, tgt.StartImage())
	if err != nil {
		return fmt.Errorf("rollback %s: %w", app, err)
	}
	if !ok {
		return fmt.Errorf("cannot roll back %s to %s: its image %s was pruned; %s",
			app, tgt.Name(), tgt.Image, d.rollbackable(ctx, app, tgt))
	}
	return nil
}

func pickTarget(app, target string, list []*state.Record, live *state.Record, cands []*state.Record) (*state.Record, error) {
	if target == "" {
		for i := len(cands) - 1; i >= 0; i-- {
			if live == nil || cands[i].Version < live.Version {
				return cands[i], nil
			}
		}
		return nil, fmt.Errorf("%s has no earlier release to roll back to (see `gitship releases %s`)", app, app)
	}
	v, err := strconv.Atoi(strings.TrimPrefix(target, "v"))
	if err != nil || !strings.HasPrefix(target, "v") || v <= 0 {
		return nil, fmt.Errorf("invalid release %q: use vN, e.g. v3", target)
	}
	if live != nil && live.Version == v {
		return nil, fmt.Errorf("%s %s is live already", app, target)
	}
	for _, r := range cands {
		if r.Version == v {
			return r, nil
		}
	}
	for _, r := range list {
		if r.Version == v {
			return nil, fmt.Errorf("cannot roll back %s to %s: it never went live (%s)", app, target, r.Status)
		}
	}
	return nil, fmt.Errorf("%s has no release %s (see `gitship releases %s`)", app, target, app)
}

// rollbackable names the releases whose images still exist.
func (d *Deployer) rollbackable(ctx context.Context, app string, not *state.Record) string {
	list, err := d.Store().List(app)
	if err != nil {
		return "see `gitship releases " + app + "`"
	}
	var ok []string
	for _, r := range list {
		if r.LiveSince.IsZero() || r.Status == state.StatusLive || r.Image == "" || r.Version == not.Version {
			continue
		}
		if exists, err := d.Runtime.ImageExists(ctx, r.StartImage()); err == nil && exists {
			ok = append(ok, r.Name())
		}
	}
	if len(ok) == 0 {
		return "no release of " + app + " can be rolled back to"
	}
	return "releases you can roll back to: " + strings.Join(ok, ", ")
}

// sayChanges names what the rollback to tgt changes in a's environment
// and settings: a release's environment is part of it, so rolling back to
// one without SECRET_KEY drops it, and the pusher must hear of it. Names
// only: values may be secrets.
func sayChanges(p *Progress, a *state.App, tgt *state.Record, keepEnv bool) {
	envDiff := changes(a.Env, tgt.Env)
	switch {
	case keepEnv && len(envDiff) > 0:
		p.Say("Environment: today's kept (--keep-env); %s's would have: %s", tgt.Name(), strings.Join(envDiff, ", "))
	case keepEnv:
		p.Say("Environment: today's kept (--keep-env), the same as %s's", tgt.Name())
	case len(envDiff) > 0:
		p.Say("Environment: %s (run with --keep-env to keep today's environment)", strings.Join(envDiff, ", "))
	}
	if setDiff := changes(settingsMap(a.Settings), settingsMap(tgt.Settings)); len(setDiff) > 0 {
		p.Say("Settings: %s", strings.Join(setDiff, ", "))
	}
}

// changes lists the keys that differ from now to then, as "K removed",
// "K changed", "K added": removals first, as they break the most.
func changes(now, then map[string]string) []string {
	var removed, changed, added []string
	for _, k := range keys(now) {
		v, ok := then[k]
		switch {
		case !ok:
			removed = append(removed, k+" removed")
		case v != now[k]:
			changed = append(changed, k+" changed")
		}
	}
	for _, k := range keys(then) {
		if _, ok := now[k]; !ok {
			added = append(added, k+" added")
		}
	}
	return append(append(removed, changed...), added...)
}

// settingsMap is s as `gitship set` names it, with the domains.
func settingsMap(s state.Settings) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Describe() {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	if len(s.Domains) > 0 {
		m["domains"] = strings.Join(s.Domains, " ")
	}
	return m
}
