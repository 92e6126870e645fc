package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gitship/gitship/certbot"
	"github.com/gitship/gitship/nginx"
	"github.com/gitship/gitship/state"
)

// Certs obtains and keeps TLS certificates (certbot).
type Certs interface {
	Issue(ctx context.Context, name string, domains []string) (certbot.Cert, error)
	Renew(ctx context.Context) (renewed []string, err error)
	Lookup(name string) (certbot.Cert, bool, error)
}

// renewWarn is how close to expiry a certificate that failed to renew
// turns into an error (cron mail, monitoring).
const renewWarn = 14 * 24 * time.Hour

// tls is the TLS part of an app's server block: set once certbot holds a
// certificate named after the app that covers every domain it serves.
func (d *Deployer) tls(app string, set state.Settings) (*nginx.TLS, error) {
	if d.Certs == nil {
		return nil, nil
	}
	c, ok, err := d.Certs.Lookup(app)
	if err != nil {
		return nil, fmt.Errorf("certificate of %s: %w", app, err)
	}
	if !ok {
		return nil, nil
	}
	var covered []string
	for _, dom := range set.Served(app, d.Config.Domain) {
		if slices.Contains(c.Domains, dom) {
			covered = append(covered, dom)
		}
	}
	if len(covered) == 0 {
		return nil, nil
	}
	return &nginx.TLS{Listen: d.Config.Nginx.ListenTLS, Cert: c.Fullchain, Key: c.Key, HSTS: set.HSTS, Domains: covered}, nil
}

func covers(c certbot.Cert, domains []string) bool {
	for _, dom := range domains {
		if !slices.Contains(c.Domains, dom) {
			return false
		}
	}
	return true
}

// covered says whether app's certificate covers every domain it serves.
func (d *Deployer) covered(app string, set state.Settings) bool {
	c, ok, err := d.Certs.Lookup(app)
	return err == nil && ok && covers(c, set.Served(app, d.Config.Domain))
}

// IssueCert obtains a certificate for every domain app serves (webroot
// challenge, served by nginx from [certbot] webroot), then points the
// live release's server block at it. A failure is one line with certbot's
// reason; what served before keeps serving.
func (d *Deployer) IssueCert(ctx context.Context, app string, out io.Writer) error {
	p := &Progress{W: out, Now: d.Now}
	if d.Certs == nil {
		return errors.New("certificates are not set up: [certbot] in the config")
	}
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return err
	}
	s, err := d.begin(ctx, app, "certs", p, nil)
	if err != nil {
		return err
	}
	defer s.end()
	return d.issue(ctx, a, p)
}

// issue is IssueCert under the app's lock.
func (d *Deployer) issue(ctx context.Context, a *state.App, p *Progress) error {
	live, err := d.Store().Live(a.Name)
	if err != nil {
		return err
	}
	set := a.Settings
	if live != nil {
		set = live.Settings
	}
	domains := set.Served(a.Name, d.Config.Domain)
	if err := d.Fs.MkdirAll(d.Config.Certbot.Webroot, 0o755); err != nil {
		return fmt.Errorf("webroot: %w", err)
	}
	done := p.Step("")
	c, err := d.Certs.Issue(ctx, a.Name, domains)
	if err != nil {
		return fmt.Errorf("certificate for %s: %w", a.Name, err)
	}
	done(fmt.Sprintf("Certificate for %s, valid until %s", strings.Join(domains, ", "), c.NotAfter.Format("2006-01-02")))
	if live == nil {
		return nil
	}
	return d.reroute(ctx, a.Name, live, p)
}

// reroute renders the live release's server block again (TLS came or
// went) and installs it.
func (d *Deployer) reroute(ctx context.Context, app string, live *state.Record, p *Progress) error {
	_, conf, err := d.site(app, live)
	if err != nil {
		return err
	}
	unlock, err := d.lockNginx(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	changed, _, err := d.installLinked(ctx, live, conf, nil)
	if err != nil {
		return err
	}
	if changed {
		if err := d.Proxy.Settle(ctx); err != nil {
			return err
		}
		p.Say("Serving %s over HTTPS at %s", app, URLTLS(live.Settings.Served(app, d.Config.Domain)[0], d.Config.Nginx.ListenTLS))
	}
	return nil
}

// autoCert issues a missing certificate after a release went live, when
// [certbot] email is set. TLS never fails a deploy: a failure is a
// warning line.
func (r *run) autoCert(ctx context.Context) {
	d := r.d
	if d.Certs == nil || d.Config.Certbot.Email == "" {
		return
	}
	if d.covered(r.app.Name, r.rec.Settings) {
		return
	}
	a := *r.app
	a.Settings = r.rec.Settings
	if err := d.issue(ctx, &a, r.p); err != nil {
		r.p.Fail("Warning: %v (the app is live over HTTP; run `gitship certs issue %s` to try again)", err, r.app.Name)
	}
}

// URLTLS is the HTTPS address of domain through nginx listening on listen.
func URLTLS(domain, listen string) string { return address("https", "443", domain, listen) }
