package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
)

// Boot brings every app back at its live release after a host reboot
// (run_dir is a tmpfs: the sockets are gone; the containers are stopped
// or gone): a release whose container runs and whose socket is there is
// left alone; any other is started again from its record, checked over
// its socket, and nginx is pointed at it. Idempotent, and quick when all
// runs.
func (d *Deployer) Boot(ctx context.Context, out io.Writer) error {
	p := &Progress{W: out, Now: d.Now}
	names, err := state.ListApps(d.Fs, d.Config.AppsDir())
	if err != nil {
		return err
	}
	var failed []string
	for _, app := range names {
		if err := d.bootApp(ctx, app, p); err != nil {
			p.Fail("%s: %v", app, err)
			failed = append(failed, app)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("boot: %d app(s) not back: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

func (d *Deployer) bootApp(ctx context.Context, app string, p *Progress) error {
	s, err := d.begin(ctx, app, "boot", p, nil)
	if err != nil {
		return err
	}
	defer s.end()
	live, err := d.Store().Live(app)
	if err != nil || live == nil {
		return err
	}
	web := d.running(ctx, live)
	if web {
		// nginx reaches it through the live link: a link lost (or
		// pointed elsewhere by hand) is a 502 while all runs
		if err := d.relink(ctx, live, p); err != nil {
			return err
		}
	}
	if web && d.workersRunning(ctx, live) {
		p.Say("%s %s runs", app, live.Name())
		return nil
	}
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return err
	}
	p.hide(live.Env)
	r := &run{d: d, p: p, app: a, rec: live}
	if web {
		// Only workers are missing: they start again beside the web
		// container that serves.
		if err := r.startWorkers(ctx); err != nil {
			return err
		}
		p.Say("%s %s runs, its workers are back", app, live.Name())
		return nil
	}
	if err := r.start(ctx); err != nil {
		return err
	}
	if err := r.health(ctx); err != nil {
		return err
	}
	if err := r.startWorkers(ctx); err != nil {
		return err
	}
	if err := d.reroute(ctx, app, live, p); err != nil {
		return err
	}
	unlock, err := d.lockNginx(ctx)
	if err != nil {
		return err
	}
	// After a reboot nginx may have started before the sockets existed:
	// a reload makes it connect afresh.
	err = d.Proxy.ReloadConfig(ctx)
	unlock()
	if err != nil {
		return err
	}
	p.Say("%s %s is back at %s", app, live.Name(), URL(r.host(), d.Config.Nginx.Listen))
	return nil
}

// running says whether every web container of rec runs (workersRunning
// checks the workers), and each web
// container's socket exists when the release listens on its socket.
func (d *Deployer) running(ctx context.Context, rec *state.Record) bool {
	for _, p := range webProcsOf(rec) {
		st, err := d.Runtime.Inspect(ctx, p.Name)
		if err != nil || !st.Running {
			return false
		}
		if p.Type == hook.TypeWeb && rec.Listen != state.ListenPort {
			if _, err := os.Stat(filepath.Clean(p.Socket)); err != nil {
				return false
			}
		}
	}
	return len(webProcsOf(rec)) > 0
}

// relink points app's live link back at live, under the nginx lock, and
// says so when it named something else.
func (d *Deployer) relink(ctx context.Context, live *state.Record, p *Progress) error {
	unlock, err := d.lockNginx(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	changed, err := d.pointLink(live)
	if err != nil {
		return err
	}
	if changed {
		p.Say("Pointed %s's live link back at %s", live.App, live.Name())
	}
	return nil
}
