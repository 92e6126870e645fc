package release

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

const procfile = "web: /web\nworker: /web worker\n"

// workerSpecs are the specs the fake runtime started for process typ.
func (rt *fakeRuntime) specsOf(typ string) []container.Spec {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []container.Spec
	for _, s := range rt.specs {
		if s.Process == typ {
			out = append(out, s)
		}
	}
	return out
}

func (e *env) withProcfile(pf string) {
	e.src.files["Procfile"] = pf
}

// TestWorkersStartAfterWebAndStopAfterSwitch: a push starts the Procfile's
// worker after its web container, from the same image and data dir,
// without socket, through /bin/sh -c, labelled with its type; the next
// push stops the old worker only after its own started.
func TestWorkersStartAfterWebAndStopAfterSwitch(t *testing.T) {
	e := newOsEnv(t)
	e.withProcfile(procfile)
	v1 := e.mustDeploy(t, sha1)
	if !reflect.DeepEqual(v1.Processes, map[string]string{"web": "/web", "worker": "/web worker"}) {
		t.Errorf("v1 processes %v", v1.Processes)
	}
	w1 := ProcName("demo", 1, "worker", 1, "")
	if want := []state.Proc{{Type: "worker", Index: 1, Name: w1}}; !reflect.DeepEqual(workerProcs(v1), want) {
		t.Errorf("v1 procs %+v, want %+v", v1.Procs, want)
	}
	specs := e.rt.specsOf("worker")
	if len(specs) != 1 {
		t.Fatalf("worker specs %+v", specs)
	}
	s := specs[0]
	if s.Name != w1 || s.SocketDir != "" || s.Port != 0 || s.Image != v1.StartImage() || s.DataDir != e.d.dataDir("demo") ||
		!reflect.DeepEqual(s.Command, []string{"/bin/sh", "-c", "/web worker"}) || s.Env["GITSHIP_RELEASE"] != "v1" || s.Env["GITSHIP_SOCKET"] != "" || s.Env["GITSHIP_PROCESS"] != "worker.1" {
		t.Errorf("worker spec %+v", s)
	}
	calls := e.rt.callList()
	if indexOf(calls, "start "+v1.Container) > indexOf(calls, "start "+w1) {
		t.Errorf("the worker started before web: %v", calls)
	}
	v2 := e.mustDeploy(t, sha2)
	w2 := ProcName("demo", 2, "worker", 1, "")
	calls = e.rt.callList()
	if i, j := indexOf(calls, "start "+w2), indexOf(calls, "stop "+w1); i < 0 || j < i {
		t.Errorf("old worker not stopped after the new one started: %v", calls)
	}
	if e.rt.isRunning(w1) || !e.rt.isRunning(w2) || !e.rt.isRunning(v2.Container) {
		t.Errorf("running: v1 worker %v, v2 worker %v", e.rt.isRunning(w1), e.rt.isRunning(w2))
	}
}

func workerProcs(r *state.Record) []state.Proc {
	var out []state.Proc
	for _, p := range r.Procs {
		if isWorker(p) {
			out = append(out, p)
		}
	}
	return out
}

// TestWorkerWithoutShell: in an image without /bin/sh the command is
// split into words.
func TestWorkerWithoutShell(t *testing.T) {
	e := newOsEnv(t)
	e.rt.noShell = true
	e.withProcfile(procfile)
	e.mustDeploy(t, sha1)
	if s := e.rt.specsOf("worker"); len(s) != 1 || !reflect.DeepEqual(s[0].Command, []string{"/web", "worker"}) {
		t.Errorf("worker specs %+v", s)
	}
}

// TestWorkerCrashFailsDeploy: a worker that exits at once fails the
// deploy before nginx is switched; the new release's containers go and
// the old release, web and worker, keeps running.
func TestWorkerCrashFailsDeploy(t *testing.T) {
	e := newOsEnv(t)
	e.withProcfile(procfile)
	v1 := e.mustDeploy(t, sha1)
	installs, _ := e.px.counts()
	e.withProcfile("web: /web\nworker: /web crash\n")
	r, err, out := e.deploy(t, sha2)
	checkFailed(t, e, r, err, out, 2, "worker "+ProcName("demo", 2, "worker", 1, "")+" exited with status 1", "v1")
	if now, _ := e.px.counts(); now != installs {
		t.Errorf("nginx was switched: %d installs, had %d", now, installs)
	}
	for _, n := range []string{r.Container, ProcName("demo", 2, "worker", 1, "")} {
		if e.rt.isRunning(n) || !e.rt.hasCall("remove "+n) {
			t.Errorf("%s of the failed release not removed", n)
		}
	}
	for _, c := range procsOf(v1) {
		n := c.Name
		if !e.rt.isRunning(n) || e.rt.hasCall("stop "+n) {
			t.Errorf("%s of v1 stopped", n)
		}
	}
}

func (e *env) scale(t *testing.T, pairs ...string) (error, string) {
	t.Helper()
	var out strings.Builder
	err := e.d.Scale(t.Context(), "demo", pairs, &out)
	return err, out.String()
}

// TestScale: scale releases the change at once (no build), worker=2 runs
// two, worker=0 none; an unknown type or too many are refused with one
// line and change nothing.
func TestScale(t *testing.T) {
	e := newOsEnv(t)
	e.withProcfile(procfile)
	e.mustDeploy(t, sha1)
	builds := len(e.b.reqs)
	if err, out := e.scale(t, "worker=2"); err != nil {
		t.Fatalf("scale: %v\n%s", err, out)
	}
	v2, err := e.store.Live("demo")
	if err != nil || v2.Version != 2 || v2.Kind != state.KindConfig || len(e.b.reqs) != builds {
		t.Fatalf("scale released %+v (err %v), %d builds", v2, err, len(e.b.reqs)-builds)
	}
	if got := len(workerProcs(v2)); got != 2 || !e.rt.isRunning(ProcName("demo", 2, "worker", 2, "")) {
		t.Errorf("worker=2 runs %d workers", got)
	}
	if e.rt.isRunning(ProcName("demo", 1, "worker", 1, "")) {
		t.Errorf("v1's worker still runs")
	}
	counts, err := e.d.ScaleOf("demo")
	if err != nil || FormatScale(counts) != "web=1 worker=2" {
		t.Errorf("ScaleOf = %q, %v", FormatScale(counts), err)
	}
	for _, bad := range []string{"clock=1", "worker=21", "web=0", "worker"} {
		err, _ := e.scale(t, bad)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("scale %s = %v, want a one-line error", bad, err)
		}
		if bad == "clock=1" && !strings.Contains(err.Error(), "web, worker") {
			t.Errorf("scale clock=1 does not list the types: %v", err)
		}
	}
	if err, out := e.scale(t, "worker=0"); err != nil {
		t.Fatalf("scale: %v\n%s", err, out)
	}
	v, _ := e.store.Live("demo")
	if v.Version != 3 || len(workerProcs(v)) != 0 || e.rt.isRunning(ProcName("demo", 2, "worker", 1, "")) {
		t.Errorf("worker=0: %s has workers %+v", v.Name(), v.Procs)
	}
	_, ps, err := e.d.Ps(t.Context(), "demo")
	if err != nil || len(ps) != 1 || ps[0].Type != "web" || ps[0].State != "running" {
		t.Errorf("ps after worker=0: %+v, %v", ps, err)
	}
}

// TestRollbackRestoresWorkers: a rollback runs the target's processes.
func TestRollbackRestoresWorkers(t *testing.T) {
	e := newOsEnv(t)
	e.withProcfile(procfile)
	e.mustDeploy(t, sha1)
	delete(e.src.files, "Procfile")
	v2 := e.mustDeploy(t, sha2)
	if v2.Processes != nil || len(workerProcs(v2)) != 0 || e.rt.isRunning(ProcName("demo", 1, "worker", 1, "")) {
		t.Fatalf("v2 without Procfile: processes %v, procs %+v", v2.Processes, v2.Procs)
	}
	r, err, out := e.rollback(t, "v1")
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if len(workerProcs(r)) != 1 || !e.rt.isRunning(ProcName("demo", 3, "worker", 1, "")) {
		t.Errorf("rollback to v1 runs workers %+v", r.Procs)
	}
}

// TestBootAndRecoverKeepWorkers: boot starts a live release's missing
// worker again; the cleanup of interrupted deploys leaves it alone.
func TestBootAndRecoverKeepWorkers(t *testing.T) {
	e := newOsEnv(t)
	e.withProcfile(procfile)
	v1 := e.mustDeploy(t, sha1)
	w := ProcName("demo", 1, "worker", 1, "")
	if err := e.d.Tidy(t.Context(), "demo", &Progress{W: &strings.Builder{}, Now: e.d.Now}); err != nil {
		t.Fatal(err)
	}
	if !e.rt.isRunning(w) || !e.rt.isRunning(v1.Container) {
		t.Fatalf("the cleanup removed the live release's containers")
	}
	if err := e.rt.Remove(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := e.d.Boot(t.Context(), &out); err != nil {
		t.Fatalf("Boot: %v\n%s", err, out.String())
	}
	if !e.rt.isRunning(w) || !strings.Contains(out.String(), "its workers are back") {
		t.Errorf("boot did not bring the worker back:\n%s", out.String())
	}
	_, ps, err := e.d.Ps(t.Context(), "demo")
	if err != nil || len(ps) != 2 || ps[1].Type != "worker" || ps[1].Number != 1 || ps[1].State != "running" {
		t.Errorf("ps = %+v, %v", ps, err)
	}
}

// TestPruneKeepsLiveWorkers: prune keeps every container of the live
// release, its stopped workers too (a reboot before `gitship boot`).
func TestPruneKeepsLiveWorkers(t *testing.T) {
	live := &state.Record{Version: 2, Status: state.StatusLive, Container: "web-2",
		Procs: []state.Proc{{Type: "worker", Index: 1, Name: "worker-2-1"}}}
	ks := planKeep([]*state.Record{live}, 1)
	for _, n := range []string{"web-2", "worker-2-1"} {
		if ks.containers[n] == "" {
			t.Errorf("prune does not keep %s", n)
		}
	}
}
