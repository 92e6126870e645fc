package release

import (
	"context"
	"fmt"
	"strings"

	"github.com/gitship/gitship/state"
)

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

// stopRelease stops and removes a release's containers (web and
// workers) and socket dir. Failures are reported, not fatal.
func (d *Deployer) stopRelease(ctx context.Context, p *Progress, o *state.Record) {
	for _, name := range releaseContainers(o) {
		if err := d.Runtime.Stop(ctx, name, d.StopTimeout); err != nil {
			p.Fail("could not stop %s: %v", name, err)
		}
		if err := d.Runtime.Remove(ctx, name); err != nil {
			p.Fail("could not remove %s: %v", name, err)
		}
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
