package release

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
)

// workerPoll is how often watchWorkers looks at the new workers.
const workerPoll = 250 * time.Millisecond

// workerTypes are the worker types of a release's processes (every type
// but web and release), sorted.
func workerTypes(procs map[string]string) []string {
	var out []string
	for typ := range procs {
		if (hook.Process{Type: typ}).IsWorker() {
			out = append(out, typ)
		}
	}
	sort.Strings(out)
	return out
}

// ProcName is the container of process typ number i of release v of app
// in the instance named instance (see ContainerName).
func ProcName(app string, v int, typ string, i int, instance string) string {
	n := fmt.Sprintf("gitship-%s-v%d-%s-%d", app, v, typ, i)
	if instance != "" {
		n += "-" + instance
	}
	return n
}

// isWorker says whether p is one of the workers of the record (not web).
func isWorker(p state.Proc) bool { return (hook.Process{Type: p.Type}).IsWorker() }

// startWorkers starts the release's workers once its web process is
// healthy: Count(type) containers of each worker type, from the same
// image with the same environment, /data, limits and data group as web,
// but no socket and no port. A worker that exits at once fails the
// release (watchWorkers) before nginx is switched, so the old release,
// workers and all, keeps running.
func (r *run) startWorkers(ctx context.Context) error {
	d, a, rec := r.d, r.app, r.rec
	rec.Procs = slices.DeleteFunc(slices.Clone(rec.Procs), isWorker) // boot starts them again
	types := workerTypes(rec.Processes)
	if len(types) == 0 {
		return nil
	}
	mem, cpus, err := rec.Settings.Limits()
	if err != nil {
		return err
	}
	gid, err := d.appGID(a.Name)
	if err != nil {
		return err
	}
	shell, err := r.hasShell(ctx)
	if err != nil {
		return err
	}
	done := r.p.Step("")
	var started []string
	for _, typ := range types {
		argv, err := hook.Process{Type: typ, Command: rec.Processes[typ]}.Argv(shell)
		if err != nil {
			return err
		}
		for i := 1; i <= rec.Settings.Count(typ); i++ {
			name := ProcName(a.Name, rec.Version, typ, i, d.Instance)
			// Only a leftover of a killed deploy or of a boot can have
			// this name (see start).
			if err := d.Runtime.Remove(ctx, name); err != nil {
				return fmt.Errorf("a container named %s is in the way: %w", name, err)
			}
			rec.Procs = append(rec.Procs, state.Proc{Type: typ, Index: i, Name: name})
			if err := d.Store().Save(rec); err != nil {
				return err
			}
			// A web container's spec, less the socket, nginx's group and
			// the port.
			spec := d.releaseSpec(rec, gid, mem, cpus)
			spec.Name, spec.Command, spec.Process = name, argv, typ
			delete(spec.Env, "GITSHIP_SOCKET")
			spec.Env["GITSHIP_PROCESS"] = typ + "." + strconv.Itoa(i) // Heroku's $DYNO
			if err := d.Runtime.Start(ctx, spec); err != nil {
				return err
			}
			started = append(started, name)
		}
	}
	if len(started) == 0 {
		done(fmt.Sprintf("No workers: %s scaled to 0", strings.Join(types, ", ")))
		return nil
	}
	if err := r.watchWorkers(ctx, started); err != nil {
		return err
	}
	done(fmt.Sprintf("Started %d worker(s): %s", len(started), strings.Join(started, ", ")))
	return nil
}

// watchWorkers makes sure the new workers keep running for WorkerWatch:
// one that exited, or that its restart policy restarted, fails the
// release with its last log lines.
func (r *run) watchWorkers(ctx context.Context, names []string) error {
	t0 := time.Now()
	for {
		for _, n := range names {
			st, err := r.d.Runtime.Inspect(ctx, n)
			if err != nil {
				return fmt.Errorf("worker %s: %w", n, err)
			}
			if st.Restarts > 0 || (!st.Running && (st.Status == "exited" || st.Status == "stopped")) {
				r.showLogsOf(ctx, n)
				if st.Restarts > 0 {
					return fmt.Errorf("worker %s exited within %s of its start (restarted %d times)", n, r.d.WorkerWatch, st.Restarts)
				}
				return fmt.Errorf("worker %s exited with status %d within %s of its start", n, st.ExitCode, r.d.WorkerWatch)
			}
		}
		if time.Since(t0) >= r.d.WorkerWatch {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(workerPoll):
		}
	}
}

// showLogsOf shows the last lines of a container's output to the pusher.
func (r *run) showLogsOf(ctx context.Context, name string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	lines, err := r.d.Runtime.Logs(cctx, name, logLines)
	if err != nil {
		r.p.Fail("Could not read the logs of %s: %v", name, err)
		return
	}
	r.p.Fail("Last %d log lines of %s:", len(lines), name)
	for _, l := range lines {
		r.p.Info("%s", l)
	}
}

// removeWorkers removes the new release's workers when it failed.
func (r *run) removeWorkers(ctx context.Context) {
	for _, p := range r.rec.Procs {
		if !isWorker(p) {
			continue
		}
		if err := r.d.Runtime.Remove(ctx, p.Name); err != nil {
			r.p.Fail("could not remove %s: %v", p.Name, err)
		}
	}
}

// workersRunning says whether rec runs every worker container it should:
// all it records run, and they are as many as its scale says.
func (d *Deployer) workersRunning(ctx context.Context, rec *state.Record) bool {
	want := 0
	for _, typ := range workerTypes(rec.Processes) {
		want += rec.Settings.Count(typ)
	}
	have := 0
	for _, p := range rec.Procs {
		if !isWorker(p) {
			continue
		}
		have++
		if st, err := d.Runtime.Inspect(ctx, p.Name); err != nil || !st.Running {
			return false
		}
	}
	return have == want
}
