package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
)

// fail ends a release that failed at any step: it removes the new
// container unless nginx already names it, records the failure and tells
// the pusher what is still live.
func (r *run) fail(ctx context.Context, cause error) error {
	d := r.d
	// Cleanup runs even when ctx was cancelled (a signal): it must not
	// leave a container behind.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if r.started && !r.routed {
		// The container goes: keep its output for `gitship logs --release`.
		if err := d.keepOutput(cctx, r.app.Name, r.rec); err != nil {
			r.p.Fail("could not keep the output of %s: %v", r.rec.Container, err)
		}
		for _, c := range procsOf(r.rec) {
			if err := d.Runtime.Remove(cctx, c.Name); err != nil {
				r.p.Fail("could not remove %s: %v", c.Name, err)
			}
		}
		r.removeWorkers(cctx)
		if err := d.Fs.RemoveAll(d.socketDir(r.app.Name, r.rec.Version)); err != nil {
			r.p.Fail("could not remove socket dir: %v", err)
		}
	} else if r.adopted && !r.routed {
		// The web containers are the warm release's: they stay warm.
		r.removeWorkers(cctx)
	}
	r.rec.Status = state.StatusFailed
	r.rec.Reason = oneLine(cause.Error())
	r.rec.Finished = d.Now()
	if err := d.Store().Save(r.rec); err != nil {
		r.p.Fail("could not record the failure: %v", err)
	}
	what := "Deploy"
	if r.rec.Kind == state.KindRollback {
		what = "Rollback"
	}
	r.p.Fail("%s of %s %s failed: %s", what, r.app.Name, r.rec.Name(), r.rec.Reason)
	if r.prev != nil {
		r.p.Fail("%s is still live (%s).", r.prev.Name(), hook.Short(r.prev.Commit))
	} else {
		r.p.Fail("No release of %s is live yet.", r.app.Name)
	}
	r.restoreHint(cause)
	if r.rec.Kind != state.KindRollback {
		r.p.Fail("Fix it and push again, or run `gitship deploy %s` on the server.", r.app.Name)
	}
	return fmt.Errorf("%w: %s", ErrDeployFailed, r.rec.Reason)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
