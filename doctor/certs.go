package doctor

import (
	"fmt"
	"time"
)

// Certificate thresholds: certbot renews a certificate 30 days before it
// expires, and the cron file tries twice a day, so one with less left has
// missed renewals (a warning); under a week, or expired, browsers are
// about to refuse the site (a failure).
const (
	certWarn = 30 * 24 * time.Hour
	certFail = 7 * 24 * time.Hour
)

// certs checks the expiry of every certificate of the apps: the one
// gitship issues (named after the app) and any certbot holds under a
// domain the app serves (live/DOMAIN/).
func (d *Doctor) certs(apps []liveApp) []Check {
	var out []Check
	seen := map[string]bool{}
	for _, a := range apps {
		for _, name := range append([]string{a.name}, a.domains...) {
			if seen[name] {
				continue
			}
			seen[name] = true
			c, found, err := d.Certs.Lookup(name)
			if err != nil {
				out = append(out, fail("cert:"+name, err.Error(), "gitship certs issue "+a.name))
				continue
			}
			if found {
				out = append(out, certCheck(name, a.name, c.Fullchain, c.NotAfter, d.Now()))
			}
		}
	}
	return out
}

// certCheck judges one certificate's expiry against the thresholds.
func certCheck(name, app, file string, notAfter, now time.Time) Check {
	left := notAfter.Sub(now)
	when := notAfter.UTC().Format("2006-01-02 15:04 UTC")
	fix := fmt.Sprintf("gitship certs renew %s (or certs issue %s); check that cron runs `gitship certs renew`", app, app)
	switch {
	case left <= 0:
		return fail("cert:"+name, fmt.Sprintf("%s expired on %s", file, when), fix)
	case left < certFail:
		return fail("cert:"+name, fmt.Sprintf("%s expires in %s, on %s", file, days(left), when), fix)
	case left < certWarn:
		return warn("cert:"+name, fmt.Sprintf("%s expires in %s, on %s: renewals have not happened", file, days(left), when), fix)
	}
	return ok("cert:"+name, fmt.Sprintf("%s valid until %s (%s)", file, when, days(left)))
}

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	if n == 0 {
		return fmt.Sprintf("%.0f hours", d.Hours())
	}
	return fmt.Sprintf("%d days", n)
}
