package release

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"github.com/gitship/gitship/nginx"
	"github.com/gitship/gitship/state"
)

// route points nginx at the new release, under the nginx lock. A release
// that answers on its sockets is switched by pointing the app's live
// link at it (link.go): when its server block is the file nginx already
// has, that rename is the whole switch, and the reload that lets the
// previous release drain waits for the process that retires it
// (drainReload).
func (r *run) route(ctx context.Context) error {
	d, a := r.d, r.app
	site, conf, err := d.site(a.Name, r.rec)
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
	changed, relinked, err := d.installLinked(ctx, r.rec, conf, func() { d.pause(ctx, "switch") })
	if err != nil {
		if relinked && changed && linked(r.prev) {
			// nginx was not told, but its workers follow the link: back
			// to the release they served
			if _, lerr := d.pointLink(r.prev); lerr != nil {
				return fmt.Errorf("%w; and the live link still names %s: %w", err, r.rec.Name(), lerr)
			}
		}
		return err
	}
	if err := d.Proxy.Unwatched(); changed && err != nil {
		r.p.Fail("nginx could not be watched, so the old workers' drain is not confirmed: %v", err)
	}
	// From here nginx (or the link it follows) names the new release: a
	// failure must not remove its container (nginx would serve 502s).
	// Until nginx confirms, the old release keeps running too.
	r.routed = true
	// nginx's old workers take new connections for another 100 ms: finish
	// does its work meanwhile and waits for them before it says live.
	r.settle = changed
	// With no reload, the connections the previous release is still
	// serving are in nginx's current workers: a reload before it retires
	// makes them old workers to wait for.
	r.drainReload = !changed
	how := ""
	if changed {
		if err := d.Proxy.Served(ctx, d.Config.Nginx.Listen, r.host(), a.Name, site.Tag()); err != nil {
			r.p.Fail("nginx has the new config but did not confirm it: %v", err)
			r.p.Fail("%s keeps running until the next deploy; check `gitship nginx check`", r.prev.NameOr("no previous release"))
			r.unconfirmed = true
		}
	} else if relinked {
		how = " (its sockets' link: no reload)"
	}
	done(fmt.Sprintf("Pointed nginx at %s%s", r.rec.Name(), how))
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
	_, conf, err := d.site(app, live)
	return conf, err
}

// site is the server block of release rec of app, and the file
// rendered from it: its own domains and upstreams (a rollback restores
// both), logging to the app's access log (created here when missing:
// nginx -t opens it). It names no release (nginx.Site.Tag): the file of
// a release that answers on its sockets through the live link is the
// same as the one before it when nothing else changed.
func (d *Deployer) site(app string, rec *state.Record) (nginx.Site, []byte, error) {
	accessLog, err := d.ensureAccessLog(app)
	if err != nil {
		return nginx.Site{}, nil, err
	}
	site := nginx.Site{
		App: app, Domains: rec.Settings.Served(app, d.Config.Domain),
		Upstreams: d.upstreams(rec), Listen: d.Config.Nginx.Listen, Webroot: d.Config.Certbot.Webroot,
		AccessLog: accessLog,
	}
	tls, err := d.tls(app, rec.Settings)
	if err != nil {
		return nginx.Site{}, nil, err
	}
	site.TLS = tls
	conf, err := nginx.Render(site)
	if err != nil {
		return nginx.Site{}, nil, fmt.Errorf("render nginx config of %s: %w", app, err)
	}
	return site, conf, nil
}
