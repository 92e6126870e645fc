package release

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gitship/gitship/state"
)

// adopt makes the rollback release run the warm release's web containers
// (r.warm): each must still run and answer one probe on what it answered
// its health check on. Then nginx can be pointed back at them with no
// container start and no health wait. It says false, and why, when the
// warm release cannot be taken over: the rollback starts its image.
func (r *run) adopt(ctx context.Context) bool {
	w := r.warm
	done := r.p.Step("")
	procs := webProcsOf(w)
	why := ""
	if len(procs) == 0 {
		why = "it has no web container"
	}
	for _, pr := range procs {
		st, err := r.d.Runtime.Inspect(ctx, pr.Name)
		if err != nil || !st.Running {
			what := "gone"
			if err == nil {
				what = describeState(st)
			}
			why = fmt.Sprintf("%s is %s", pr.Name, what)
			break
		}
		probes := r.probes(pr, r.rec.Settings.EffectiveHealthPath())
		probe := probes[0]
		if w.Listen == state.ListenPort && len(probes) > 1 {
			probe = probes[1]
		}
		if a := probe.Check(ctx); !a.Healthy() {
			why = fmt.Sprintf("%s answered %s", pr.Name, a)
			break
		}
	}
	if why != "" {
		r.p.Say("%s is no longer warm (%s): starting its image", w.Name(), why)
		return false
	}
	rec := r.rec
	rec.Procs, rec.Listen = slices.Clone(procs), w.Listen
	rec.Container, rec.Socket = procs[0].Name, procs[0].Socket
	rec.ImageUser = w.ImageUser
	if err := r.d.Store().Save(rec); err != nil {
		r.p.Fail("could not record the warm containers of %s: %v; starting its image", w.Name(), err)
		return false
	}
	r.adopted = true
	done(fmt.Sprintf("Took over the warm containers of %s: %s (no start, one probe)", w.Name(), procNames(procs)))
	return true
}

// sayWatched is the last line of a switch whose old release a detached
// process retires: whether one stays warm, until when, and where to look.
func (r *run) sayWatched() {
	w, app := r.watched, r.app.Name
	if w == nil {
		return
	}
	if w.Warm != 0 {
		r.p.Say("v%d stays warm until %s: `gitship rollback %s` switches back at once",
			w.Warm, w.WarmUntil.Local().Format("15:04:05"), app)
	}
	if w.WatchUntil.IsZero() {
		r.p.Say("The old release retires in the background; see `gitship status %s`", app)
		return
	}
	back := "the previous release"
	if w.Warm != 0 {
		back = fmt.Sprintf("v%d", w.Warm)
	}
	// the last line of the push: what happens next and where to look
	r.p.Say("%s is watched until %s: a crash or a burst of 5xx switches back to %s by itself; see `gitship status %s`",
		r.rec.Name(), w.WatchUntil.Local().Format("15:04:05"), back, app)
}

// WarmStatus is a release that stays warm after a switch, as `gitship
// status` and `gitship ps` show it.
type WarmStatus struct {
	Release string    `json:"release"`
	Until   time.Time `json:"until"`
	// Containers are its web containers and their state.
	Containers []ContainerStatus `json:"containers"`
	// MemoryBytes is what its containers use of memory now (0: unknown),
	// MemoryLimitBytes their limits' sum (0: none set).
	MemoryBytes      uint64 `json:"memory_bytes"`
	MemoryLimitBytes uint64 `json:"memory_limit_bytes,omitempty"`
}

// warmOf is app's warm release with its containers' state and memory
// (nil: none is warm).
func (d *Deployer) warmOf(ctx context.Context, app string) (*WarmStatus, error) {
	list, err := d.Store().List(app)
	if err != nil {
		return nil, err
	}
	var w *state.Record
	for _, r := range list {
		if r.Status == state.StatusWarm {
			w = r
		}
	}
	if w == nil {
		return nil, nil
	}
	ws := &WarmStatus{Release: w.Name(), Until: w.WarmUntil}
	for _, p := range webProcsOf(w) {
		cs := "gone"
		if st, err := d.Runtime.Inspect(ctx, p.Name); err == nil {
			cs = describeState(st)
		}
		ws.Containers = append(ws.Containers, ContainerStatus{Name: p.Name, Type: p.Type, Number: p.Index, State: cs})
		use, limit, err := d.Runtime.Memory(ctx, p.Name)
		if err != nil {
			continue
		}
		ws.MemoryBytes += use
		ws.MemoryLimitBytes += limit
	}
	if w.Settings.Memory == "" {
		ws.MemoryLimitBytes = 0 // the host's memory, not a limit
	}
	return ws, nil
}

// mib shows bytes in MiB.
func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// WatchStatus is the detached process that finishes app's last switch.
type WatchStatus struct {
	PID     int    `json:"pid"`
	Release string `json:"release"` // the release switched to
	// WatchedUntil ends the watch of Release (absent: not watched).
	WatchedUntil time.Time `json:"watched_until,omitzero"`
	// Retiring are the releases it stops once nginx's old workers drained.
	Retiring []string `json:"retiring,omitempty"`
	Log      string   `json:"log"`
}

// watchStatus describes app's watch process (nil: none runs).
func (d *Deployer) watchStatus(app string) *WatchStatus {
	w, ok := d.readWatch(app)
	if !ok || w.PID <= 0 || !d.alive(w.PID) {
		return nil
	}
	ws := &WatchStatus{PID: w.PID, Release: fmt.Sprintf("v%d", w.Live), WatchedUntil: w.WatchUntil, Log: d.WatchLog(app)}
	for _, v := range w.Retire {
		ws.Retiring = append(ws.Retiring, fmt.Sprintf("v%d", v))
	}
	return ws
}

// writeWarmStatus prints the warm release and the watch of status.
func writeWarmStatus(w io.Writer, st *AppStatus, now time.Time) {
	if ws := st.Warm; ws != nil {
		cost := mib(ws.MemoryBytes) + " in use"
		if ws.MemoryLimitBytes > 0 {
			cost += ", limit " + mib(ws.MemoryLimitBytes)
		}
		fmt.Fprintf(w, "warm:\t%s until %s (%s left; `gitship rollback %s` switches back at once), %s\n", ws.Release,
			ws.Until.Local().Format(timeFormat), ws.Until.Sub(now).Truncate(time.Second), st.App, cost)
		for _, c := range ws.Containers {
			fmt.Fprintf(w, "warm container:\t%s %s\n", c.Name, c.State)
		}
	}
	if wt := st.Watch; wt != nil {
		what := ""
		if len(wt.Retiring) > 0 {
			what = ", retiring " + strings.Join(wt.Retiring, ", ") + " once drained"
		}
		if !wt.WatchedUntil.IsZero() && wt.WatchedUntil.After(now) {
			what = fmt.Sprintf(", watching it until %s", wt.WatchedUntil.Local().Format(timeFormat)) + what
		}
		fmt.Fprintf(w, "watch:\tpid %d, after the switch to %s%s (log %s)\n", wt.PID, wt.Release, what, wt.Log)
	}
}
