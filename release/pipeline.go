package release

import (
	"context"

	"github.com/gitship/gitship/state"
)

// run is one release in progress: a deploy or a rollback.
type run struct {
	d    *Deployer
	p    *Progress
	app  *state.App
	rec  *state.Record
	prev *state.Record
	// started is set once the new container exists, so fail removes it.
	started bool
	// routed is set once nginx's config names the new release.
	routed bool
	// unconfirmed is set when nginx did not confirm the switch.
	unconfirmed bool
	// settle is set when nginx was reloaded for the switch: before the
	// release is said live, none of its old workers may take a new
	// connection (to the release switched from).
	settle bool
	// drainReload is set when the switch did not reload nginx (the live
	// link, link.go): whoever retires the previous release reloads first,
	// so that the connections it still serves are old workers' to wait
	// for.
	drainReload bool
	// reshare is set when the data dir was made group-writable for a new
	// user: once the old release is stopped, what it wrote since is too.
	reshare bool
	// shell caches whether the release's image has /bin/sh (hasShell).
	shell *bool
	// warm is the warm release a rollback goes to: its running web
	// containers are taken over (adopt) instead of started.
	warm *state.Record
	// adopted is set once the release runs the warm release's web
	// containers: a failure must leave them to it.
	adopted bool
	// inline retires the old releases before the command returns, with
	// no detached process (the watch's own automatic rollback).
	inline bool
	// noWarm keeps no release warm after the switch: the one switched
	// from went bad, or runs on data that was swapped away.
	noWarm bool
	// watched is what the detached process of this switch does (nil:
	// none was started).
	watched *watchFile
	// logOffset is the size of the app's access log right before the
	// switch: the watch counts the answers after it (-1: unknown, the
	// answers are not watched).
	logOffset int64
}

// newRun allocates the record's release number and records it as the
// lock owner's.
func (d *Deployer) newRun(p *Progress, a *state.App, r *state.Record, s *session) (*run, error) {
	st := d.Store()
	prev, err := st.Live(a.Name)
	if err != nil {
		return nil, err
	}
	if err := st.Next(r); err != nil {
		return nil, err
	}
	s.owns(r)
	// From here the push output is kept too (`gitship logs --build vN`),
	// whole even when the pusher went away before or goes away later.
	p.mu.Lock()
	p.W = &tee{out: p.W, outErr: p.err, log: &pushLog{fs: d.Fs, path: d.pushLogPath(a.Name, r.Version)}}
	p.err = nil
	p.mu.Unlock()
	return &run{d: d, p: p, app: a, rec: r, prev: prev}, nil
}

// pipeline walks doc.go's states, one step (and file) each; a rollback
// or a config change starts at "starting". A step that fails returns its
// error, and the caller hands it to fail (fail.go).
func (r *run) pipeline(ctx context.Context, withBuild bool) error {
	if IsKube(r.rec) {
		return r.kubePipeline(ctx, withBuild) // kube.go
	}
	if withBuild {
		if err := r.building(ctx); err != nil {
			return err
		}
		// the Procfile's release command, a build's only: releasephase.go
		if err := r.releasePhase(ctx); err != nil {
			return err
		}
	} else if err := r.starting(); err != nil {
		return err
	}
	// starting: start.go, health.go, route.go; a rollback to a warm
	// release takes its running web containers over instead: warm.go
	if r.warm == nil || !r.adopt(ctx) {
		if r.warm != nil {
			if err := r.d.imageLeft(ctx, r.app.Name, r.warm); err != nil {
				return err
			}
		}
		if err := r.start(ctx); err != nil {
			return err
		}
		r.d.pause(ctx, "start")
		if err := r.health(ctx); err != nil {
			return err
		}
	}
	// workers: workers.go (the old release's stop with it, in retire.go)
	if err := r.startWorkers(ctx); err != nil {
		return err
	}
	if err := r.route(ctx); err != nil {
		return err
	}
	// live, and the older releases retired: retire.go
	return r.finish(ctx)
}

// building checks the disk and builds the image: diskguard.go, build.go.
func (r *run) building(ctx context.Context) error {
	if err := r.guardDisk(ctx); err != nil {
		return err
	}
	return r.buildShared(ctx)
}

// starting records that the release has its image and starts now: from
// here on a prune keeps that image.
func (r *run) starting() error {
	r.rec.Status = state.StatusStarting
	return r.d.Store().Save(r.rec)
}

// finish records the release live, retires the older ones (unless nginx
// did not confirm the switch) and asks for its certificate.
func (r *run) finish(ctx context.Context) error {
	d, rec := r.d, r.rec
	now := d.Now()
	rec.Status, rec.LiveSince, rec.Finished = state.StatusLive, now, now
	if err := d.Store().Save(rec); err != nil {
		return err
	}
	if !r.unconfirmed {
		if err := r.retireOlder(ctx); err != nil {
			r.p.Fail("could not list older releases to retire: %v", err)
		}
	}
	if r.settle {
		if err := d.Proxy.Settle(ctx); err != nil {
			r.p.Fail("%v", err)
		}
	}
	r.p.Say("%s %s is live at %s (%.1fs)", r.app.Name, rec.Name(),
		URL(r.host(), d.Config.Nginx.Listen), rec.Duration().Seconds())
	r.syncCron(ctx)
	r.autoCert(ctx)
	r.sayWatched()
	return nil
}

// host is the first domain the release is served at: the Host header of
// its probes.
func (r *run) host() string { return r.rec.Settings.Served(r.app.Name, r.d.Config.Domain)[0] }
