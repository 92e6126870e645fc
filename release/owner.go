package release

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/gitship/gitship/state"
)

// One app serves a host name: nginx serves only the first server block
// that names it and ignores the others with a warning, so a second claim
// would silently serve the wrong app. An app holds a name while its
// settings (app.json) or its live release serve it. Every path that adds
// a name to an app (init, domains add and remove, rollback, settings
// releases) checks the name against every other app under one lock of
// the instance, held until the app's state records the name or the
// change failed: of two apps taking one name at once, one wins.

// TakenError is a host name that another app serves.
type TakenError struct {
	Domain string
	Owner  string
}

// Error is one line naming the owner.
func (e *TakenError) Error() string {
	return fmt.Sprintf("domain %s is served by app %s already (remove it there first)", e.Domain, e.Owner)
}

// domainsLock is the instance's lock on host name ownership.
func (d *Deployer) domainsLock() string { return filepath.Join(d.Config.Root, "domains.lock") }

// lockDomains takes the domains lock. It is taken after an app's deploy
// lock and before the nginx lock, never the other way round.
func (d *Deployer) lockDomains(ctx context.Context, p *Progress) (func(), error) {
	if err := d.Fs.MkdirAll(d.Config.Root, 0o755); err != nil {
		return nil, fmt.Errorf("lock domains: %w", err)
	}
	return d.Locker.Lock(ctx, d.domainsLock(), func() {
		if p != nil {
			p.Say("Waiting for another app's domain change to finish")
		}
	})
}

// domainOwners maps each host name an app other than except serves to
// that app. The caller holds the domains lock.
func (d *Deployer) domainOwners(except string) (map[string]string, error) {
	names, err := state.ListApps(d.Fs, d.Config.AppsDir())
	if err != nil {
		return nil, err
	}
	owners := map[string]string{}
	for _, n := range names {
		if n == except {
			continue
		}
		held, err := d.heldDomains(n, nil)
		if err != nil {
			return nil, fmt.Errorf("check domains of app %s: %w", n, err)
		}
		for _, dom := range held {
			owners[dom] = n
		}
	}
	return owners, nil
}

// heldDomains are the host names app holds: those of its settings a
// (nil: loaded) and of its live release.
func (d *Deployer) heldDomains(app string, a *state.App) ([]string, error) {
	if a == nil {
		var err error
		if a, err = state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
			return nil, err
		}
	}
	held := a.ServedDomains(d.Config.Domain)
	live, err := d.Store().Live(app)
	if err != nil {
		return nil, err
	}
	if live != nil {
		held = append(slices.Clone(held), live.Settings.Served(app, d.Config.Domain)...)
	}
	return held, nil
}

// claimDomains makes sure app may serve want, given that it holds have
// already. A name it does not hold yet is checked under the domains lock,
// which stays held (until the returned func is called) so that the caller
// can record the names; a name another app serves is a *TakenError.
func (d *Deployer) claimDomains(ctx context.Context, app string, want, have []string, p *Progress) (func(), error) {
	added := newNames(want, have)
	if len(added) == 0 {
		return func() {}, nil
	}
	unlock, err := d.lockDomains(ctx, p)
	if err != nil {
		return nil, err
	}
	owners, err := d.domainOwners(app)
	if err != nil {
		unlock()
		return nil, err
	}
	for _, dom := range added {
		if o := owners[dom]; o != "" {
			unlock()
			return nil, &TakenError{Domain: dom, Owner: o}
		}
	}
	return unlock, nil
}

// leaveOutTaken drops from tgt's settings (a copy read for this
// rollback) the domains that another app serves now, saying so: the
// rollback still happens, and the other app keeps its domain. Holding the
// domains lock until the rollback is recorded (the returned func), it
// refuses only when nothing of the target's names is left to serve.
func (d *Deployer) leaveOutTaken(ctx context.Context, a *state.App, tgt *state.Record, p *Progress) (func(), error) {
	have, err := d.heldDomains(a.Name, a)
	if err != nil {
		return nil, err
	}
	if len(newNames(tgt.Settings.Served(a.Name, d.Config.Domain), have)) == 0 {
		return func() {}, nil
	}
	unlock, err := d.lockDomains(ctx, p)
	if err != nil {
		return nil, err
	}
	owners, err := d.domainOwners(a.Name)
	if err != nil {
		unlock()
		return nil, err
	}
	set := tgt.Settings
	set.Domains = nil
	var left []string
	for _, dom := range tgt.Settings.Domains {
		if o := owners[dom]; o != "" {
			left = append(left, fmt.Sprintf("domain %s is now served by %s: left out", dom, o))
			continue
		}
		set.Domains = append(set.Domains, dom)
	}
	// Without a domain left the app falls back to APP.<domain>.
	for _, dom := range set.Served(a.Name, d.Config.Domain) {
		if o := owners[dom]; o != "" {
			unlock()
			return nil, fmt.Errorf("cannot roll back %s to %s: %s is served by app %s now", a.Name, tgt.Name(), dom, o)
		}
	}
	for _, l := range left {
		p.Say("%s", l)
	}
	tgt.Settings = set
	return unlock, nil
}

// newNames are the names of want that are not in have.
func newNames(want, have []string) []string {
	var out []string
	for _, n := range want {
		if !slices.Contains(have, n) {
			out = append(out, n)
		}
	}
	return out
}
