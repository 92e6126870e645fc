package release

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/nginx"
	"github.com/gitship/gitship/state"
)

// logLines is how many of the app's log lines a failed health check shows.
const logLines = 50

func (r *run) start(ctx context.Context) error {
	d, a, rec := r.d, r.app, r.rec
	appRun := filepath.Join(d.Config.RunDir, a.Name)
	if err := d.Fs.MkdirAll(appRun, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", appRun, err)
	}
	sock := d.socketDir(a.Name, rec.Version)
	if err := d.mkdirShared(sock); err != nil {
		return err
	}
	dataGID, err := r.prepareData(ctx)
	if err != nil {
		return err
	}
	rec.Container = ContainerName(a.Name, rec.Version, d.Instance)
	rec.Socket = filepath.Join(sock, filepath.Base(container.SocketPath))
	if err := d.Store().Save(rec); err != nil {
		return err
	}
	// A container of this name can only be a leftover of a deploy that
	// was killed before it recorded anything; it never served. One that
	// is not this instance's is refused by Remove and stays.
	if err := d.Runtime.Remove(ctx, rec.Container); err != nil {
		return fmt.Errorf("a container named %s is in the way: %w", rec.Container, err)
	}
	mem, cpus, err := rec.Settings.Limits()
	if err != nil {
		return err
	}
	done := r.p.Step("")
	r.started = true
	err = d.Runtime.Start(ctx, container.Spec{
		Name: rec.Container, Image: rec.StartImage(), SocketDir: sock, DataDir: d.dataDir(a.Name),
		Env: r.env(),
		Labels: map[string]string{
			container.LabelApp: a.Name, container.LabelRelease: rec.Name(),
			container.LabelCommit: rec.Commit, container.LabelRoot: d.Config.Root,
		},
		Network: d.Config.Podman.Network,
		Groups:  []string{strconv.Itoa(d.NginxGID), strconv.Itoa(dataGID)},
		Memory:  mem,
		CPUs:    cpus,
	})
	if err != nil {
		return err
	}
	done(fmt.Sprintf("Started %s", rec.Container))
	return nil
}

// env is the release's environment: the app's own, then gitship's, which
// always wins (GITSHIP_* keys are reserved).
func (r *run) env() map[string]string {
	env := make(map[string]string, len(r.rec.Env)+5)
	for k, v := range r.rec.Env {
		env[k] = v
	}
	env["GITSHIP_APP"] = r.app.Name
	env["GITSHIP_RELEASE"] = r.rec.Name()
	env["GITSHIP_COMMIT"] = r.rec.Commit
	env["GITSHIP_SOCKET"] = container.SocketPath
	env["GITSHIP_DATA"] = container.DataMount
	return env
}

// host is the first domain the release is served at: the Host header of
// its probes.
func (r *run) host() string { return r.rec.Settings.Served(r.app.Name, r.d.Config.Domain)[0] }

func (r *run) health(ctx context.Context) error {
	set := r.rec.Settings
	path, timeout := set.EffectiveHealthPath(), healthTimeout(r.rec)
	pr := Probe{Socket: r.rec.Socket, Host: r.host(), Path: path}
	done := r.p.Step("")
	last, err := r.poll(ctx, pr, timeout)
	if err != nil {
		r.p.Fail("Health check failed: %s", pr)
		r.p.Fail("Last answer: %s", last)
		r.showLogs(ctx)
		return err
	}
	done(fmt.Sprintf("Healthy: %s answered %s", path, last))
	return nil
}

// poll probes until a healthy answer, the timeout, or the container exits.
func (r *run) poll(ctx context.Context, pr Probe, timeout time.Duration) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last Answer
	// Most apps answer within a few ms of start: poll fast first.
	delay := 5 * time.Millisecond
	for i := 0; ; i++ {
		a := pr.Check(ctx)
		if a.Healthy() {
			return a, nil
		}
		// A probe cut short by the deadline says nothing about the app:
		// keep the answer before it for the pusher.
		if ctx.Err() == nil || last.Status == 0 && last.Err == nil {
			last = a
		}
		if i%3 == 2 {
			if err := r.crashed(ctx); err != nil {
				return last, err
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("%s did not answer %s within %s (last answer: %s)", r.rec.Container, pr.Path, timeout, last)
		case <-time.After(delay):
		}
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// crashed reports a container that exited, or was restarted by its
// restart policy, before it ever answered: waiting longer is pointless.
func (r *run) crashed(ctx context.Context) error {
	st, err := r.d.Runtime.Inspect(ctx, r.rec.Container)
	if err != nil {
		return nil // the probe's own timeout still bounds the wait
	}
	if !st.Running && st.Status == "exited" {
		return fmt.Errorf("%s exited with status %d before it answered", r.rec.Container, st.ExitCode)
	}
	if st.Restarts > 0 {
		return fmt.Errorf("%s exited before it answered (restarted %d times)", r.rec.Container, st.Restarts)
	}
	return nil
}

func (r *run) showLogs(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	lines, err := r.d.Runtime.Logs(cctx, r.rec.Container, logLines)
	if err != nil {
		r.p.Fail("Could not read the app's logs: %v", err)
		return
	}
	r.p.Fail("Last %d log lines of %s:", len(lines), r.rec.Container)
	for _, l := range lines {
		r.p.Info("%s", l)
	}
}

func (r *run) route(ctx context.Context) error {
	d, a := r.d, r.app
	conf, err := d.site(a.Name, r.rec)
	if err != nil {
		return err
	}
	unlock, err := d.lockNginx(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("before switching nginx: %w", err)
	}
	done := r.p.Step("")
	changed, err := d.Proxy.Install(ctx, a.Name, conf)
	if err != nil {
		return err
	}
	if err := d.Proxy.Unwatched(); changed && err != nil {
		r.p.Fail("nginx could not be watched, so the old workers' drain is not confirmed: %v", err)
	}
	// From here nginx's config names the new release: a failure must not
	// remove its container (nginx would serve 502s). Until nginx confirms,
	// the old release keeps running too.
	r.routed = true
	if err := d.Proxy.Served(ctx, d.Config.Nginx.Listen, r.host(), a.Name, r.rec.Name()); err != nil {
		r.p.Fail("nginx has the new config but did not confirm it: %v", err)
		r.p.Fail("%s keeps running until the next deploy; check `gitship nginx check`", r.prev.NameOr("no previous release"))
		r.unconfirmed = true
	}
	done(fmt.Sprintf("Pointed nginx at %s", r.rec.Name()))
	return nil
}

// lockNginx serialises nginx changes across apps: nginx -t reads every
// app's file, so one install must not be judged by another's half-done
// state.
func (d *Deployer) lockNginx(ctx context.Context) (func(), error) {
	return d.Locker.Lock(ctx, filepath.Join(d.Config.Root, "nginx.lock"), nil)
}

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
	r.p.Say("%s %s is live at %s (%.1fs)", r.app.Name, rec.Name(),
		URL(r.host(), d.Config.Nginx.Listen), rec.Duration().Seconds())
	r.autoCert(ctx)
	return nil
}

// retireOlder retires every release older than this one that is still
// recorded live: the previous one, and any that an unconfirmed nginx
// switch left running. They drain first: nginx's workers from before the
// switch finish what they were serving (up to the drain setting), then
// the containers get SIGTERM, and SIGKILL StopTimeout later.
func (r *run) retireOlder(ctx context.Context) error {
	d := r.d
	ctx = context.WithoutCancel(ctx)
	list, err := d.Store().List(r.app.Name)
	if err != nil {
		return err
	}
	var old []*state.Record
	for _, o := range list {
		if o.Status == state.StatusLive && o.Version < r.rec.Version {
			o.Status = state.StatusRetired
			if err := d.Store().Save(o); err != nil {
				r.p.Fail("could not record %s as retired: %v", o.Name(), err)
			}
			old = append(old, o)
		}
	}
	if len(old) == 0 {
		return nil
	}
	done := r.p.Step("")
	drain := r.rec.Settings.EffectiveDrain()
	if err := d.Proxy.Drain(ctx, drain); err != nil {
		r.p.Fail("%v; stopping anyway", err)
	}
	d.pause(ctx, "drain")
	for _, o := range old {
		d.stopRelease(ctx, r.p, o)
	}
	r.reshareData()
	if len(old) == 1 {
		done(fmt.Sprintf("Retired %s (image %s kept for rollback)", old[0].Name(), old[0].Image))
	} else {
		done(fmt.Sprintf("Retired %s (images kept for rollback)", names(old)))
	}
	return nil
}

// stopRelease stops and removes a release's container and socket dir.
// Failures are reported, not fatal.
func (d *Deployer) stopRelease(ctx context.Context, p *Progress, o *state.Record) {
	if err := d.Runtime.Stop(ctx, o.Container, d.StopTimeout); err != nil {
		p.Fail("could not stop %s: %v", o.Container, err)
	}
	if err := d.Runtime.Remove(ctx, o.Container); err != nil {
		p.Fail("could not remove %s: %v", o.Container, err)
	}
	if err := d.Fs.RemoveAll(d.socketDir(o.App, o.Version)); err != nil {
		p.Fail("could not remove the socket dir of %s: %v", o.Name(), err)
	}
}

func names(rs []*state.Record) string {
	n := make([]string, len(rs))
	for i, r := range rs {
		n[i] = r.Name()
	}
	return strings.Join(n, ", ")
}

// URL is the address a browser uses for domain through nginx listening
// on listen ("80", "8080", "127.0.0.1:18080").
func URL(domain, listen string) string { return address("http", "80", domain, listen) }

// address is scheme://domain/ with listen's port unless it is the
// scheme's default one.
func address(scheme, defPort, domain, listen string) string {
	port := listen
	if _, p, err := net.SplitHostPort(listen); err == nil {
		port = p
	}
	if port == defPort || port == "" {
		return scheme + "://" + domain + "/"
	}
	return scheme + "://" + domain + ":" + port + "/"
}

// RenderLive renders the server block of app's live release.
func (d *Deployer) RenderLive(app string) ([]byte, error) {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return nil, err
	}
	live, err := d.Store().Live(app)
	if err != nil {
		return nil, err
	}
	if live == nil {
		return nil, fmt.Errorf("%s has no live release: push to deploy it", app)
	}
	return d.site(app, live)
}

// site renders the server block of release rec of app: its own domains
// and socket (a rollback restores both).
func (d *Deployer) site(app string, rec *state.Record) ([]byte, error) {
	site := nginx.Site{
		App: app, Release: rec.Name(), Domains: rec.Settings.Served(app, d.Config.Domain),
		Socket: rec.Socket, Listen: d.Config.Nginx.Listen, Webroot: d.Config.Certbot.Webroot,
	}
	tls, err := d.tls(app, rec.Settings)
	if err != nil {
		return nil, err
	}
	site.TLS = tls
	conf, err := nginx.Render(site)
	if err != nil {
		return nil, fmt.Errorf("render nginx config of %s: %w", app, err)
	}
	return conf, nil
}
