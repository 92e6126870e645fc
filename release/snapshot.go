package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// unpauseTimeout bounds the thaw of an app's containers after a copy:
// it runs whatever failed or was cancelled, so on a context of its own.
const unpauseTimeout = 30 * time.Second

// Snapshot copies app's data dir to apps/APP/snapshots/ID/ while every
// running container of the app is paused (the cgroup freezer: a SQLite
// file, in WAL mode or not, is copied between two transactions; requests
// wait in the socket's queue, none fails), records it as ID.json, says so
// in p and keeps the newest `snapshots` (at least this one). before says
// what it is taken before ("release v7", "restore", "rollback"). The
// caller holds app's deploy lock. The copy is a clone (reflink) where the
// filesystem can, else a copy; the disk guard refuses, before anything is
// paused or copied, a copy that would leave less than [podman] min_free.
func (d *Deployer) Snapshot(ctx context.Context, app, before string, p *Progress) (state.Snapshot, error) {
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return state.Snapshot{}, err
	}
	src := d.dataDir(app)
	need, err := treeSize(src)
	if err != nil {
		return state.Snapshot{}, err
	}
	if err := d.guardCopy("snapshot", app, need); err != nil {
		return state.Snapshot{}, err
	}
	dir := state.SnapshotsDir(d.Config.AppsDir(), app)
	if err := d.cleanPartial(dir); err != nil {
		return state.Snapshot{}, err
	}
	id, err := state.NextSnapshotID(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return state.Snapshot{}, err
	}
	// filled under a temp name: an interrupted copy is never taken for a
	// snapshot, and the next one removes it
	tmp := filepath.Join(dir, id+partialSuffix)
	c := &treeCopy{}
	stop := p.Every(d.progressEvery(), func(el time.Duration) string {
		return fmt.Sprintf("copying %s for the snapshot, the app paused: %s of %s (%s)", container.DataMount, size(c.copied.Load()), size(need), el)
	})
	paused, err := d.whilePaused(ctx, app, func() error { return c.copy(src, tmp) })
	stop()
	if err != nil {
		return state.Snapshot{}, errors.Join(fmt.Errorf("snapshot of %s: %w", app, err), d.removeTree(tmp))
	}
	if err := os.Rename(tmp, filepath.Join(dir, id)); err != nil {
		return state.Snapshot{}, fmt.Errorf("snapshot of %s: %w", app, err)
	}
	s := state.Snapshot{ID: id, App: app, Before: before, Time: d.Now().UTC(), Size: c.size, Files: c.files,
		Skipped: c.skipped, Paused: state.Duration(paused), Reflinked: c.files > 0 && c.reflinked > 0}
	if err := state.SaveSnapshot(d.Fs, d.Config.AppsDir(), &s); err != nil {
		return state.Snapshot{}, err
	}
	p.Say("Snapshot %s of %s: %s, app paused %.2fs", id, container.DataMount, size(s.Size), paused.Seconds())
	if len(c.skipped) > 0 {
		p.Info("skipped (device files, sockets, fifos are not copied): %s", strings.Join(c.skipped, ", "))
	}
	if err := d.keepSnapshots(app, max(a.Settings.EffectiveSnapshots(), 1)); err != nil {
		p.Fail("%v", err)
	}
	return s, nil
}

// partialSuffix marks a snapshot dir whose copy has not finished.
const partialSuffix = ".partial"

// cleanPartial removes what an interrupted snapshot left in dir.
func (d *Deployer) cleanPartial(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), partialSuffix) {
			if err := d.removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeTree removes a copy of a data dir, whose dirs may be read-only.
func (d *Deployer) removeTree(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// keepSnapshots removes app's oldest snapshots beyond the newest keep:
// the record first, so that a snapshot half removed is not listed.
func (d *Deployer) keepSnapshots(app string, keep int) error {
	list, err := state.ListSnapshots(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return err
	}
	dir := state.SnapshotsDir(d.Config.AppsDir(), app)
	var errs []error
	for i := 0; i < len(list)-keep; i++ {
		id := list[i].ID
		if err := d.Fs.Remove(filepath.Join(dir, id+".json")); err != nil {
			errs = append(errs, fmt.Errorf("remove snapshot %s: %w", id, err))
			continue
		}
		if err := d.removeTree(filepath.Join(dir, id)); err != nil {
			errs = append(errs, fmt.Errorf("remove snapshot %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Snapshots lists app's snapshots, oldest first (`gitship snapshots`).
func (d *Deployer) Snapshots(app string) ([]*state.Snapshot, error) {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return nil, err
	}
	return state.ListSnapshots(d.Fs, d.Config.AppsDir(), app)
}

// guardCopy refuses a copy of need bytes (a snapshot, a backup) that
// would leave less than [podman] min_free free under the root: the live
// release's data dir shares that disk.
func (d *Deployer) guardCopy(what, app string, need int64) error {
	minFree := d.Config.Podman.MinFreeBytes
	if minFree <= 0 {
		return nil
	}
	free := d.FreeDisk
	if free == nil {
		free = freeBytes
	}
	have, err := free(d.Config.Root)
	if err != nil {
		return fmt.Errorf("%s of %s: %w", what, app, err)
	}
	if have-need < minFree {
		return fmt.Errorf("%s of %s refused: %s free under %s, a copy of %s (%s) would leave less than [podman] min_free (%s): free disk space or lower min_free",
			what, app, size(have), d.Config.Root, container.DataMount, size(need), size(minFree))
	}
	return nil
}

// whilePaused runs fn while every running container of app is paused
// and returns how long they were. Whatever fails (a pause, fn, a
// cancelled ctx), every container paused is unpaused, on a context of
// its own with a bound. A container that stopped meanwhile is not
// waited for: it writes nothing.
func (d *Deployer) whilePaused(ctx context.Context, app string, fn func() error) (time.Duration, error) {
	states, err := d.Runtime.List(ctx, map[string]string{container.LabelApp: app, container.LabelRoot: d.Config.Root})
	if err != nil {
		return 0, err
	}
	var paused []string
	start := d.Now()
	unpause := func() error {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unpauseTimeout)
		defer cancel()
		var errs []error
		for _, n := range paused {
			if err := d.Runtime.Unpause(uctx, n); err != nil {
				errs = append(errs, fmt.Errorf("%w (run `podman unpause %s`)", err, n))
			}
		}
		return errors.Join(errs...)
	}
	for _, st := range states {
		if !st.Running {
			continue
		}
		err := d.Runtime.Pause(ctx, st.Name)
		if errors.Is(err, container.ErrNotRunning) || errors.Is(err, container.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, errors.Join(err, unpause())
		}
		paused = append(paused, st.Name)
	}
	err = ctx.Err()
	if err == nil {
		err = fn()
	}
	uerr := unpause()
	return d.Now().Sub(start), errors.Join(err, uerr)
}

// WriteSnapshots prints app's snapshots, newest first: a table, or with
// asJSON their records as a JSON array.
func (d *Deployer) WriteSnapshots(w io.Writer, app string, asJSON bool) error {
	list, err := d.Snapshots(app)
	if err != nil {
		return err
	}
	slices.Reverse(list)
	if asJSON {
		if list == nil {
			list = []*state.Snapshot{}
		}
		return WriteJSON(w, list)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintf(w, "%s has no snapshots yet: one is taken before each release command\n", app)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SNAPSHOT\tBEFORE\tTIME\tSIZE\tPAUSED")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fs\n", s.ID, s.Before, s.Time.Local().Format(timeFormat), size(s.Size), time.Duration(s.Paused).Seconds())
	}
	return tw.Flush()
}
