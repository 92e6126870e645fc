package release

import (
	"context"
	"errors"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
)

// ProcState is one container of a live release, as `gitship ps` shows it.
type ProcState struct {
	Type     string    `json:"type"`
	Number   int       `json:"number"`
	Name     string    `json:"name"`
	State    string    `json:"state"` // running, exited, ... or missing
	Since    time.Time `json:"since,omitzero"`
	Restarts int       `json:"restarts"`
	// Release is the release the container belongs to: the live one, or
	// the warm one (WarmUntil set), whose web containers run, no longer
	// served, for an instant rollback.
	Release   string    `json:"release"`
	WarmUntil time.Time `json:"warm_until,omitzero"`
	// For a pod of a release with target=kube (Name is the pod's):
	// how many of its containers are ready ("1/1") and its node.
	Ready string `json:"ready,omitempty"`
	Node  string `json:"node,omitempty"`
}

// Ps lists every container of app's live release, web first; for a
// release with target=kube, its pods.
func (d *Deployer) Ps(ctx context.Context, app string) (*state.Record, []ProcState, error) {
	live, err := d.liveOf(app)
	if err != nil {
		return nil, nil, err
	}
	if IsKube(live) {
		ps, err := d.kubePs(ctx, live)
		if err != nil {
			return nil, nil, err
		}
		return live, ps, nil
	}
	procs := live.Procs
	if !hasWeb(procs) && live.Container != "" {
		// a record from before the process model, or web not in Procs
		procs = append([]state.Proc{{Type: hook.TypeWeb, Index: 1, Name: live.Container}}, procs...)
	}
	out := make([]ProcState, 0, len(procs))
	for _, p := range procs {
		ps, err := d.procState(ctx, live, p)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, ps)
	}
	list, err := d.Store().List(app)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range list {
		if r.Status != state.StatusWarm {
			continue
		}
		for _, p := range webProcsOf(r) {
			ps, err := d.procState(ctx, r, p)
			if err != nil {
				return nil, nil, err
			}
			// running, but no longer served
			if ps.State == "running" {
				ps.State = "warm"
			} else {
				ps.State = "warm, " + ps.State
			}
			ps.WarmUntil = r.WarmUntil
			out = append(out, ps)
		}
	}
	return live, out, nil
}

// procState is container p of release rec as ps shows it.
func (d *Deployer) procState(ctx context.Context, rec *state.Record, p state.Proc) (ProcState, error) {
	ps := ProcState{Type: p.Type, Number: p.Index, Name: p.Name, Release: rec.Name()}
	st, err := d.Runtime.Inspect(ctx, p.Name)
	switch {
	case errors.Is(err, container.ErrNotFound):
		ps.State = "missing"
	case err != nil:
		return ps, err
	default:
		ps.State, ps.Since, ps.Restarts = st.Status, st.StartedAt, int(st.Restarts)
	}
	return ps, nil
}

func hasWeb(ps []state.Proc) bool {
	for _, p := range ps {
		if p.Type == hook.TypeWeb {
			return true
		}
	}
	return false
}
