package release

import (
	"context"
	"errors"
	"fmt"

	"github.com/gitship/gitship/hook"
)

// releaseError is a release command that ran and failed: the data may
// have changed, and fail names the snapshot that puts it back.
type releaseError struct {
	snapshot string
	err      error
}

func (e *releaseError) Error() string { return e.err.Error() }
func (e *releaseError) Unwrap() error { return e.err }

// releasePhase runs the Procfile's release command, if the record has
// one, once in a new container of the new image, before any web process
// of it starts: the app's environment, /data and limits, restart "no".
// Only a build runs it (pipeline.go): a config, settings or rollback
// release changes no code, and a config change must never migrate data.
//
// Right before, the data dir is snapshotted (the live release paused
// for the copy), always, even when empty or with no live release: the
// command may create what the restore must take away again. A non-zero
// exit or release_timeout fails the deploy before the switch.
func (r *run) releasePhase(ctx context.Context) error {
	cmd, ok := r.rec.Processes[hook.TypeRelease]
	if !ok {
		return nil
	}
	d, app := r.d, r.app.Name
	gid, err := d.appGID(app)
	if err != nil {
		return err
	}
	// the data dir must exist to be snapshotted (a first deploy)
	if _, err := d.mkdirData(app, gid); err != nil {
		return err
	}
	snap, err := d.Snapshot(ctx, app, "release "+r.rec.Name(), r.p)
	if err != nil {
		return fmt.Errorf("snapshot before the release command: %w", err)
	}
	sh, err := r.hasShell(ctx)
	if err != nil {
		return err
	}
	argv, err := hook.Process{Type: hook.TypeRelease, Command: cmd}.Argv(sh)
	if err != nil {
		return err
	}
	timeout := r.rec.Settings.EffectiveReleaseTimeout()
	r.p.Say("Release command: %s", cmd)
	done := r.p.Step("")
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w, flush := r.p.Indent()
	name := onceName(app, hook.TypeRelease+"-"+r.rec.Name(), d.Instance)
	code, err := d.runOnce(rctx, r.rec, name, hook.TypeRelease, argv, nil, w, w)
	flush()
	switch {
	case err != nil && errors.Is(rctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		err = fmt.Errorf("release command timed out after %s (setting release_timeout)", timeout)
	case err != nil:
		err = fmt.Errorf("release command: %w", err)
	case code != 0:
		err = fmt.Errorf("release command exited %d", code)
	}
	if err != nil {
		return &releaseError{snapshot: snap.ID, err: err}
	}
	done("Release command succeeded")
	return nil
}

// restoreHint says, for a deploy whose release command ran, that the
// data may have changed and how to put it back.
func (r *run) restoreHint(cause error) {
	var re *releaseError
	if !errors.As(cause, &re) {
		return
	}
	r.p.Fail("The release command ran: the data in /data may have changed.")
	r.p.Fail("Put it back as it was before with `gitship restore %s %s`.", r.app.Name, re.snapshot)
}
