package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/state"
)

// RestoreFrom is what `gitship restore` puts back: a snapshot of the app
// (Snapshot, "s-N") or a backup archive (Backup, what `gitship backup`
// wrote).
type RestoreFrom struct {
	Snapshot string
	Backup   io.Reader
	// What names the backup in the output ("app.tar.gz", "stdin").
	What string
}

// Restore puts a snapshot's or a backup's data back under app's live
// release, as a new release (kind restore: the live image, environment
// and settings, no build): new containers start on the restored data,
// are checked, nginx switches, the old ones retire.
//
// The old release never sees a half-written dir: the data is first
// copied (or unpacked, every refusal of ReadBackup checked) into a
// staging dir beside the data dir; then, while the app is paused, two
// renames swap it in. The dir it replaces becomes the "restore" snapshot
// without a copy (the undo of the restore): the old containers keep
// their bind mount of it, so what they write until they retire lands
// there. A release that fails its checks swaps the data back.
func (d *Deployer) Restore(ctx context.Context, app string, from RestoreFrom, out io.Writer) (*state.Record, error) {
	p := &Progress{W: out, Now: d.Now}
	if err := d.onHostOnly(app, "`gitship restore` (its /data is the cluster's claim)"); err != nil {
		return nil, err
	}
	s, a, err := d.beginApp(ctx, app, state.KindRestore, p, nil)
	if err != nil {
		return nil, err
	}
	defer s.end()
	p.hide(a.Env)
	staging, what, err := d.stageRestore(app, from, p)
	if err != nil {
		return nil, err
	}
	live, err := d.Store().Live(app)
	if err != nil {
		return nil, errors.Join(err, d.removeTree(staging))
	}
	undo, err := d.swapData(ctx, app, staging, "restore", p)
	if err != nil {
		return nil, err
	}
	keep := func() {
		if err := d.keepSnapshots(app, max(a.Settings.EffectiveSnapshots(), 1)); err != nil {
			p.Fail("%v", err)
		}
	}
	if live == nil {
		p.Say("%s: %s restored into /data; no release is live yet: the next push starts on it", app, what)
		keep()
		return nil, nil
	}
	r := &state.Record{App: app, Kind: state.KindRestore, Commit: live.Commit, Image: live.Image, ImageID: live.ImageID,
		Created: d.Now(), Settings: a.Settings, Env: a.Env, Processes: live.Processes, Cron: live.Cron}
	run, err := d.newRun(p, a, r, s)
	if err != nil {
		return nil, errors.Join(err, d.unswapData(ctx, app, undo, p))
	}
	// the release it replaces runs on the data swapped away: not warm
	run.noWarm = true
	p.Say("Releasing %s %s as %s on %s (no build)", app, hook.Short(live.Commit), r.Name(), what)
	if err := run.pipeline(ctx, false); err != nil {
		ferr := run.fail(ctx, err)
		if uerr := d.unswapData(ctx, app, undo, p); uerr != nil {
			p.Fail("could not put the data back: %v", uerr)
			return r, errors.Join(ferr, uerr)
		}
		p.Fail("The data is back as it was before the restore.")
		return r, ferr
	}
	if undo != "" {
		p.Say("The data it replaced is snapshot %s: `gitship restore %s %s` undoes this restore", undo, app, undo)
	}
	keep()
	return r, nil
}

// stagingPrefix names the dirs a restore fills beside the data dir.
const stagingPrefix = "data.restore-"

// stageRestore copies the snapshot or unpacks the backup into a new
// staging dir beside app's data dir and returns it with what it holds.
// Refused (an unknown snapshot, a bad archive, too little disk), nothing
// is left behind.
func (d *Deployer) stageRestore(app string, from RestoreFrom, p *Progress) (dir, what string, err error) {
	// what an interrupted restore left
	old, err := filepath.Glob(filepath.Join(d.appDir(app), stagingPrefix+"*"))
	if err != nil {
		return "", "", err
	}
	for _, o := range old {
		if err := d.removeTree(o); err != nil {
			return "", "", err
		}
	}
	dir = filepath.Join(d.appDir(app), stagingPrefix+d.Now().UTC().Format("20060102T150405"))
	done := p.Step("")
	if from.Backup != nil {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return "", "", fmt.Errorf("restore %s: %w", app, err)
		}
		if err := ReadBackup(from.Backup, dir); err != nil {
			return "", "", errors.Join(usererr.New(fmt.Sprintf("cannot restore %s from %s: %v", app, from.What, err), "nothing was changed"), d.removeTree(dir))
		}
		done(fmt.Sprintf("Unpacked %s", from.What))
		return dir, "backup " + from.What, nil
	}
	list, err := state.ListSnapshots(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return "", "", err
	}
	if !slices.ContainsFunc(list, func(s *state.Snapshot) bool { return s.ID == from.Snapshot }) {
		return "", "", usererr.New(fmt.Sprintf("%s has no snapshot %q", app, from.Snapshot), "see `gitship snapshots "+app+"`")
	}
	src := filepath.Join(state.SnapshotsDir(d.Config.AppsDir(), app), from.Snapshot)
	need, err := treeSize(src)
	if err != nil {
		return "", "", err
	}
	if err := d.guardCopy("restore", app, need); err != nil {
		return "", "", err
	}
	c := &treeCopy{}
	stop := p.Every(d.progressEvery(), func(el time.Duration) string {
		return fmt.Sprintf("copying snapshot %s: %s of %s (%s)", from.Snapshot, size(c.copied.Load()), size(need), el)
	})
	err = c.copy(src, dir)
	stop()
	if err != nil {
		return "", "", errors.Join(fmt.Errorf("restore %s: %w", app, err), d.removeTree(dir))
	}
	done(fmt.Sprintf("Copied snapshot %s (%s)", from.Snapshot, size(c.size)))
	return dir, "snapshot " + from.Snapshot, nil
}

// swapData puts staging in place of app's data dir while the app is
// paused, and keeps the dir it replaces as a snapshot taken before what
// ("restore", "rollback"), whose ID it returns ("" when there was no
// data dir).
func (d *Deployer) swapData(ctx context.Context, app, staging, before string, p *Progress) (string, error) {
	data := d.dataDir(app)
	if _, err := os.Stat(data); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(staging, data); err != nil {
			return "", errors.Join(fmt.Errorf("restore %s: %w", app, err), d.removeTree(staging))
		}
		return "", nil
	}
	dir := state.SnapshotsDir(d.Config.AppsDir(), app)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", errors.Join(fmt.Errorf("restore %s: %w", app, err), d.removeTree(staging))
	}
	id, err := state.NextSnapshotID(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return "", errors.Join(err, d.removeTree(staging))
	}
	undo := filepath.Join(dir, id)
	var need int64
	paused, err := d.whilePaused(ctx, app, func() error {
		var err error
		if need, err = treeSize(data); err != nil {
			return err
		}
		if err := os.Rename(data, undo); err != nil {
			return err
		}
		if err := os.Rename(staging, data); err != nil {
			return errors.Join(err, os.Rename(undo, data))
		}
		return nil
	})
	if err != nil {
		return "", errors.Join(fmt.Errorf("restore %s: %w", app, err), d.removeTree(staging))
	}
	s := state.Snapshot{ID: id, App: app, Before: before, Time: d.Now().UTC(), Size: need, Paused: state.Duration(paused)}
	if err := state.SaveSnapshot(d.Fs, d.Config.AppsDir(), &s); err != nil {
		p.Fail("could not record snapshot %s (the data the restore replaced, in %s): %v", id, undo, err)
	}
	p.Say("Restored data swapped in, app paused %.2fs", paused.Seconds())
	return id, nil
}

// unswapData puts the data a failed restore replaced back (snapshot undo)
// and drops that snapshot: the old release, still live, writes there.
func (d *Deployer) unswapData(ctx context.Context, app, undo string, p *Progress) error {
	if undo == "" {
		return nil
	}
	data := d.dataDir(app)
	dir := state.SnapshotsDir(d.Config.AppsDir(), app)
	failed := data + ".failed"
	if err := d.removeTree(failed); err != nil {
		return err
	}
	// a restore interrupted (a signal) still puts the data back
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unpauseTimeout)
	defer cancel()
	_, err := d.whilePaused(uctx, app, func() error {
		if err := os.Rename(data, failed); err != nil {
			return err
		}
		return os.Rename(filepath.Join(dir, undo), data)
	})
	if err != nil {
		return fmt.Errorf("put the data of %s back from %s: %w", app, filepath.Join(dir, undo), err)
	}
	if err := d.Fs.Remove(filepath.Join(dir, undo+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		p.Fail("could not remove the record of snapshot %s: %v", undo, err)
	}
	return d.removeTree(failed)
}
