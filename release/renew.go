package release

import (
	"context"
	"strings"

	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gitship/gitship/state"
)

// ErrCertsExpiring marks a renewal run after which a served certificate
// expires within 14 days: cron mail and monitoring must see it.
var ErrCertsExpiring = errors.New("certificates expire soon and were not renewed")

// RenewCerts renews the certificates that are due (what cron runs),
// reloads nginx only when one was renewed, and reports the expiry of the
// certificate of every app. A certificate that expires within 14 days
// after a failed renewal is an error line and ErrCertsExpiring.
func (d *Deployer) RenewCerts(ctx context.Context, out io.Writer) error {
	p := &Progress{W: out, Now: d.Now}
	if d.Certs == nil {
		return errors.New("certificates are not set up: [certbot] in the config")
	}
	renewed, renewErr := d.Certs.Renew(ctx)
	if renewErr != nil {
		p.Fail("certbot renew: %v", renewErr)
	}
	if len(renewed) > 0 {
		p.Say("Renewed %s", strings.Join(renewed, ", "))
		unlock, err := d.lockNginx(ctx)
		if err != nil {
			return err
		}
		err = d.Proxy.ReloadConfig(ctx)
		unlock()
		if err != nil {
			return fmt.Errorf("reload nginx after renewal: %w", err)
		}
	}
	names, err := state.ListApps(d.Fs, d.Config.AppsDir())
	if err != nil {
		return err
	}
	var expiring []string
	for _, app := range names {
		c, ok, err := d.Certs.Lookup(app)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		left := c.NotAfter.Sub(d.Now())
		line := fmt.Sprintf("%s: %s valid until %s (%d days)", app, strings.Join(c.Domains, ", "), c.NotAfter.Format("2006-01-02"), int(left.Hours()/24))
		// Expiring soon and not renewed is an error whatever certbot said:
		// a renewal that silently stopped is what this is here to catch.
		if left < renewWarn && !slices.Contains(renewed, app) {
			p.Fail("%s, and it was not renewed", line)
			expiring = append(expiring, app)
			continue
		}
		p.Say("%s", line)
	}
	if len(expiring) > 0 {
		return fmt.Errorf("%w: %s", ErrCertsExpiring, strings.Join(expiring, ", "))
	}
	return nil
}

// certExpiry describes the certificate of app for `gitship status`.
func (d *Deployer) certExpiry(app string, domains []string) string {
	if d.Certs == nil {
		return "none (no [certbot] set up)"
	}
	c, ok, err := d.Certs.Lookup(app)
	switch {
	case err != nil:
		return "unknown (" + oneLine(err.Error()) + ")"
	case !ok:
		return "none (run `gitship certs issue " + app + "`)"
	case !covers(c, domains):
		return fmt.Sprintf("covers %s only, until %s (run `gitship certs issue %s`)", strings.Join(c.Domains, ", "), c.NotAfter.Format("2006-01-02"), app)
	}
	return fmt.Sprintf("valid until %s (%d days)", c.NotAfter.Format("2006-01-02"), int(c.NotAfter.Sub(d.Now())/(24*time.Hour)))
}
