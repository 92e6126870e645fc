package release

import (
	"context"

	"github.com/gitship/gitship/kube"
	"github.com/gitship/gitship/state"
)

// Set applies KEY=VAL pairs to app's settings, all or none; they apply to
// the next release. A release in progress refuses the change (lockApp).
func (d *Deployer) Set(ctx context.Context, app string, pairs []string) (*state.App, error) {
	unlock, a, err := d.lockApp(ctx, app, "set")
	if err != nil {
		return nil, err
	}
	defer unlock()
	for _, kv := range pairs {
		if err := a.Settings.Set(kv); err != nil {
			return nil, err
		}
	}
	if a.Settings.EffectiveTarget() == state.TargetKube {
		if err := d.kubeReady(app); err != nil {
			return nil, err
		}
	}
	return a, state.SaveApp(d.Fs, d.Config.AppsDir(), a)
}

// kubeReady refuses target=kube for app up front when it cannot work:
// no [kube] table, or a live release that answered on the unix socket
// only (a socket does not reach a pod).
func (d *Deployer) kubeReady(app string) error {
	if d.Config.Kube.Registry == "" {
		return errNoKube
	}
	live, err := d.Store().Live(app)
	if err != nil || live == nil {
		return err
	}
	return kube.CheckListen(app, live.Listen)
}

// Unset puts app's settings named by keys back to their defaults.
func (d *Deployer) Unset(ctx context.Context, app string, keys []string) (*state.App, error) {
	unlock, a, err := d.lockApp(ctx, app, "unset")
	if err != nil {
		return nil, err
	}
	defer unlock()
	for _, k := range keys {
		if err := a.Settings.Unset(k); err != nil {
			return nil, err
		}
	}
	return a, state.SaveApp(d.Fs, d.Config.AppsDir(), a)
}
