package release

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
)

// AddDomain adds domain to app. A domain that another app serves is
// refused naming it (see owner.go). With a live release, the change is a
// new release (same image, new settings), switched like any other.
func (d *Deployer) AddDomain(ctx context.Context, app, domain string, out io.Writer) error {
	if err := state.ValidateDomain(domain); err != nil {
		return err
	}
	return d.Reconfigure(ctx, app, "domains add "+domain, out, func(a *state.App) error {
		cur := a.ServedDomains(d.Config.Domain)
		if slices.Contains(cur, domain) {
			return fmt.Errorf("%s serves %s already", app, domain)
		}
		// The first domain of its own does not take APP.<domain> away: what
		// served keeps serving (remove it with `domains remove`).
		a.Domains = append(slices.Clone(cur), domain)
		return nil
	})
}

// RemoveDomain removes domain from app; without domains left, the app is
// served at APP.<domain> again.
func (d *Deployer) RemoveDomain(ctx context.Context, app, domain string, out io.Writer) error {
	return d.Reconfigure(ctx, app, "domains remove "+domain, out, func(a *state.App) error {
		i := slices.Index(a.Domains, domain)
		if i < 0 {
			return fmt.Errorf("%s does not have the domain %s", app, domain)
		}
		a.Domains = slices.Delete(slices.Clone(a.Domains), i, i+1)
		return nil
	})
}

// Domains lists what app is served at.
func (d *Deployer) Domains(app string) ([]string, error) {
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return nil, err
	}
	return a.ServedDomains(d.Config.Domain), nil
}

// Reconfigure changes app's settings under its lock and, when a release
// is live, releases them as a new release with the live image (kind
// config): started, checked and switched like a push, no build. Without a
// live release the settings wait for the first push.
func (d *Deployer) Reconfigure(ctx context.Context, app, what string, out io.Writer, change func(*state.App) error) error {
	p := &Progress{W: out, Now: d.Now}
	s, a, err := d.beginApp(ctx, app, state.KindConfig, p, nil)
	if err != nil {
		return err
	}
	defer s.end()
	p.hide(a.Env)
	have, err := d.heldDomains(app, a)
	if err != nil {
		return err
	}
	if err := change(a); err != nil {
		return err
	}
	p.hide(a.Env)
	// A change that adds a host name (domains add, or domains remove
	// falling back to APP.<domain>) holds the domains lock until the
	// app's state records it.
	unlock, err := d.claimDomains(ctx, app, a.ServedDomains(d.Config.Domain), have, p)
	if err != nil {
		return err
	}
	defer unlock()
	live, err := d.Store().Live(app)
	if err != nil {
		return err
	}
	if live == nil {
		p.Say("%s: %s; no release is live yet: the next push uses it", app, what)
		return state.SaveApp(d.Fs, d.Config.AppsDir(), a)
	}
	r := &state.Record{App: app, Kind: state.KindConfig, Commit: live.Commit, Image: live.Image, ImageID: live.ImageID,
		Created: d.Now(), Settings: a.Settings, Env: a.Env, Processes: live.Processes, Cron: live.Cron, Pushed: live.Pushed}
	run, err := d.newRun(p, a, r, s)
	if err != nil {
		return err
	}
	p.Say("Releasing %s %s as %s: %s, image %s (no build)", app, hook.Short(live.Commit), r.Name(), what, live.Image)
	if err := run.pipeline(ctx, false); err != nil {
		return run.fail(ctx, err)
	}
	return state.SaveApp(d.Fs, d.Config.AppsDir(), a)
}
