package release

import (
	"context"

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
	return a, state.SaveApp(d.Fs, d.Config.AppsDir(), a)
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
