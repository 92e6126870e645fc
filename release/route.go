package release

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/gitship/gitship/nginx"
	"github.com/gitship/gitship/state"
)

// route points nginx at the new release, under the nginx lock.
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
	if r.logOffset, err = d.AccessLogOffset(a.Name); err != nil {
		r.p.Fail("the answers of %s will not be watched: %v", r.rec.Name(), err)
		r.logOffset = -1
	}
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
	// nginx's old workers take new connections for another 100 ms: finish
	// does its work meanwhile and waits for them before it says live.
	r.settle = changed
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
	live, err := d.liveOf(app)
	if err != nil {
		return nil, err
	}
	return d.site(app, live)
}

// upstreams are what nginx proxies rec's requests to: each web
// container's socket, or its published port when the release answered on
// $PORT.
func upstreams(rec *state.Record) []string {
	var out []string
	for _, p := range webProcsOf(rec) {
		if rec.Listen == state.ListenPort && p.Port != 0 {
			out = append(out, net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)))
		} else {
			out = append(out, "unix:"+p.Socket)
		}
	}
	return out
}

// site renders the server block of release rec of app: its own domains
// and socket (a rollback restores both), logging to the app's access log
// (created here when missing: nginx -t opens it).
func (d *Deployer) site(app string, rec *state.Record) ([]byte, error) {
	accessLog, err := d.ensureAccessLog(app)
	if err != nil {
		return nil, err
	}
	site := nginx.Site{
		App: app, Release: rec.Name(), Domains: rec.Settings.Served(app, d.Config.Domain),
		Upstreams: upstreams(rec), Listen: d.Config.Nginx.Listen, Webroot: d.Config.Certbot.Webroot,
		AccessLog: accessLog,
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
