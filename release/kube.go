package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/kube"
	"github.com/gitship/gitship/state"
)

// Cluster is what a release of an app with target=kube needs of the
// Kubernetes API (kube.Client).
type Cluster interface {
	Apply(ctx context.Context, objs []kube.Object) error
	RunJob(ctx context.Context, job *batchv1.Job, timeout time.Duration, out io.Writer) error
	WaitRollout(ctx context.Context, app, version string, timeout time.Duration, progress func(line string)) error
	Prune(ctx context.Context, app string, keep []kube.Object) ([]string, error)
	Deployments(ctx context.Context, app string) ([]appsv1.Deployment, error)
	Pods(ctx context.Context, app string) ([]corev1.Pod, error)
	Logs(ctx context.Context, app, pod string, tail int, follow bool, w io.Writer) error
}

// Pusher sends an image of Podman's store to a registry and returns the
// reference by digest (container.Client).
type Pusher interface {
	Push(ctx context.Context, image, ref string, insecure bool) (string, error)
}

// errNoKube is a kube app on a server without the [kube] table.
var errNoKube = usererr.New("target=kube needs the [kube] table of the server config (registry and kubeconfig)",
	"add [kube] with registry = \"HOST/PATH\" and kubeconfig = \"/path\" to the server config, or `gitship unset APP target`")

// IsKube says whether rec runs on Kubernetes (target=kube).
func IsKube(rec *state.Record) bool {
	return rec != nil && rec.Settings.EffectiveTarget() == state.TargetKube
}

// cluster is the Kubernetes API of the [kube] table, connected once.
func (d *Deployer) cluster() (Cluster, error) {
	if d.Config.Kube.Registry == "" || d.Kube == nil {
		return nil, errNoKube
	}
	return d.Kube()
}

// KubeConfig is the [kube] table as the kube package takes it.
func KubeConfig(k config.Kube) kube.Config {
	return kube.Config{Kubeconfig: k.Kubeconfig, IngressClass: k.IngressClass, StorageClass: k.StorageClass,
		DataSize: k.DataSize, ClusterIssuer: k.ClusterIssuer}
}

// kubePipeline is the pipeline of an app with target=kube: built here as
// any other, its image pushed to the registry, then its objects applied
// to the cluster (the release command as a Job first), the rollout
// waited for, and on a rollout that does not become available the
// previous release's objects applied again. nginx and the containers of
// this host are not involved, but for a release switched from this host:
// its containers retire and nginx no longer serves the app.
func (r *run) kubePipeline(ctx context.Context, withBuild bool) error {
	k, err := r.d.cluster()
	if err != nil {
		return err
	}
	if r.prev != nil {
		if err := kube.CheckListen(r.app.Name, r.prev.Listen); err != nil {
			return err
		}
	}
	if withBuild {
		if err := r.building(ctx); err != nil {
			return err
		}
	} else if err := r.starting(); err != nil {
		return err
	}
	if r.rec.Pushed == "" {
		if err := r.push(ctx); err != nil {
			return err
		}
	}
	objs, err := r.kubeObjects(ctx)
	if err != nil {
		return err
	}
	done := r.p.Step("")
	if err := k.Apply(ctx, objs.Before()); err != nil {
		return err
	}
	done(fmt.Sprintf("Applied %s's namespace, claim and environment (Secret %s)", r.rec.Name(), objs.Secret.GetName()))
	if withBuild && objs.ReleaseJob != nil {
		if err := r.kubeReleaseJob(ctx, k, objs.ReleaseJob); err != nil {
			return err
		}
	}
	if err := r.rollOut(ctx, k, objs); err != nil {
		return r.kubeUndo(ctx, k, objs, err)
	}
	removed, err := k.Prune(ctx, r.app.Name, objs.All())
	if err != nil {
		r.p.Fail("could not remove what %s does not have: %v", r.rec.Name(), err)
	} else if len(removed) > 0 {
		r.p.Say("Removed what %s does not have: %s", r.rec.Name(), strings.Join(removed, ", "))
	}
	return r.kubeFinish(ctx)
}

// push sends the release's image to the [kube] registry as
// REGISTRY/APP:vN-COMMIT and records it by digest.
func (r *run) push(ctx context.Context) error {
	if r.d.Pusher == nil {
		return errors.New("no image pusher")
	}
	kc := r.d.Config.Kube
	ref := fmt.Sprintf("%s/%s:%s-%s", kc.Registry, r.app.Name, r.rec.Name(), hook.Short(r.rec.Commit))
	done := r.p.Step("")
	pushed, err := r.d.Pusher.Push(ctx, r.rec.StartImage(), ref, kc.RegistryInsecure)
	if err != nil {
		return err
	}
	r.rec.Pushed = pushed
	if err := r.d.Store().Save(r.rec); err != nil {
		return err
	}
	done("Pushed " + pushed)
	return nil
}

// kubeObjects renders the release as the cluster gets it: its commands
// as argv (with /bin/sh -c when its image has a shell), its limits,
// domains and image by digest.
func (r *run) kubeObjects(ctx context.Context) (*kube.Objects, error) {
	sh, err := r.hasShell(ctx)
	if err != nil {
		return nil, err
	}
	return r.d.kubeRender(r.rec, sh)
}

// kubeRenderOf renders rec, asking Podman whether its image has a shell.
func (d *Deployer) kubeRenderOf(ctx context.Context, rec *state.Record) (*kube.Objects, error) {
	sh, err := d.Runtime.HasShell(ctx, rec.StartImage())
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", rec.App, rec.Name(), err)
	}
	return d.kubeRender(rec, sh)
}

// kubeRender renders rec, whose image has a shell or not.
func (d *Deployer) kubeRender(rec *state.Record, shell bool) (*kube.Objects, error) {
	rel, err := d.kubeRelease(rec, shell)
	if err != nil {
		return nil, err
	}
	return kube.Render(rel, KubeConfig(d.Config.Kube))
}

// kubeRelease is rec as the kube package takes it.
func (d *Deployer) kubeRelease(rec *state.Record, shell bool) (kube.Release, error) {
	s := rec.Settings
	mem, cpus, err := s.Limits()
	if err != nil {
		return kube.Release{}, err
	}
	rel := kube.Release{
		App: rec.App, Version: rec.Name(), Commit: rec.Commit, Image: rec.Pushed, Env: maps.Clone(rec.Env),
		Processes: map[string][]string{"web": nil}, Scale: map[string]int{},
		Memory: mem, CPUs: cpus, HealthPath: s.EffectiveHealthPath(), HealthTimeout: s.EffectiveHealthTimeout(),
		Domains: s.Served(rec.App, d.Config.Domain), ReleaseTimeout: s.EffectiveReleaseTimeout(),
		Instance: d.Instance,
	}
	if rel.Image == "" {
		return kube.Release{}, fmt.Errorf("%s %s was never pushed to a registry (it ran on this host): release it with target=kube first", rec.App, rec.Name())
	}
	for _, typ := range slices.Sorted(maps.Keys(rec.Processes)) {
		argv, err := hook.Process{Type: typ, Command: rec.Processes[typ]}.Argv(shell)
		if err != nil {
			return kube.Release{}, err
		}
		if typ == hook.TypeRelease {
			rel.ReleaseCommand = argv
			continue
		}
		rel.Processes[typ] = argv
	}
	for typ := range rel.Processes {
		rel.Scale[typ] = s.Count(typ)
	}
	for _, j := range rec.Cron {
		argv, err := hook.Job{ID: j.ID, Schedule: j.Schedule, Command: j.Command}.Argv(shell)
		if err != nil {
			return kube.Release{}, err
		}
		rel.Cron = append(rel.Cron, kube.CronJob{ID: j.ID, Schedule: j.Schedule, Command: argv})
	}
	return rel, nil
}

// kubeReleaseJob runs the Procfile's release command as a Job of the new
// release, before any Deployment changes: a failure fails the release
// with nothing else changed.
func (r *run) kubeReleaseJob(ctx context.Context, k Cluster, job *batchv1.Job) error {
	r.p.Say("Release command: %s (Job %s)", r.rec.Processes[hook.TypeRelease], job.GetName())
	done := r.p.Step("")
	w, flush := r.p.Indent()
	err := k.RunJob(ctx, job, r.rec.Settings.EffectiveReleaseTimeout(), w)
	flush()
	if err != nil {
		return fmt.Errorf("release command: %w", err)
	}
	done("Release command succeeded")
	return nil
}

// rollOut applies the release's Deployments, Service, Ingress and
// CronJobs and waits, at most health_timeout, until every Deployment of
// it is available.
func (r *run) rollOut(ctx context.Context, k Cluster, objs *kube.Objects) error {
	done := r.p.Step("")
	if err := k.Apply(ctx, objs.Rollout()); err != nil {
		return err
	}
	last := ""
	err := k.WaitRollout(ctx, r.app.Name, r.rec.Name(), r.rec.Settings.EffectiveHealthTimeout(), func(line string) {
		if line != last {
			r.p.Say("Rolling out %s: %s", r.rec.Name(), line)
			last = line
		}
	})
	if err != nil {
		return err
	}
	what := last
	if what == "" {
		what = "available"
	}
	done(fmt.Sprintf("Rolled out %s: %s", r.rec.Name(), what))
	return nil
}

// kubeUndo applies the previous release's objects again after a rollout
// that did not become available (or takes the new Deployments away when
// there was none on the cluster), and returns cause.
func (r *run) kubeUndo(ctx context.Context, k Cluster, failed *kube.Objects, cause error) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	prev := r.prev
	if !IsKube(prev) || prev.Pushed == "" {
		// nothing of the app ran on the cluster before: only its
		// namespace and claim stay
		if _, err := k.Prune(cctx, r.app.Name, []kube.Object{failed.Namespace, failed.Claim}); err != nil {
			r.p.Fail("could not take %s's objects off the cluster: %v", r.rec.Name(), err)
		} else {
			r.p.Fail("Took %s's Deployments off the cluster", r.rec.Name())
		}
		return cause
	}
	objs, err := r.d.kubeRenderOf(cctx, prev)
	if err == nil {
		err = k.Apply(cctx, append(objs.Before(), objs.Rollout()...))
	}
	if err == nil {
		_, err = k.Prune(cctx, r.app.Name, objs.All())
	}
	if err != nil {
		r.p.Fail("could not apply %s's objects again: %v", prev.Name(), err)
		return cause
	}
	r.p.Fail("Applied %s's objects again: the cluster runs %s", prev.Name(), prev.Name())
	return cause
}

// kubeFinish records the release live and every older running one
// retired; one that ran on this host stops, and nginx no longer serves
// the app (its domains now point at the cluster's ingress).
func (r *run) kubeFinish(ctx context.Context) error {
	d, rec := r.d, r.rec
	now := d.Now()
	rec.Status, rec.LiveSince, rec.Finished, rec.Listen = state.StatusLive, now, now, state.ListenPort
	if err := d.Store().Save(rec); err != nil {
		return err
	}
	list, err := d.Store().List(r.app.Name)
	if err != nil {
		return err
	}
	var local []*state.Record
	for _, o := range list {
		if o.Version == rec.Version || !o.Running() {
			continue
		}
		o.Status, o.WarmUntil = state.StatusRetired, time.Time{}
		if err := d.Store().Save(o); err != nil {
			r.p.Fail("could not record %s as retired: %v", o.Name(), err)
		}
		if len(procsOf(o)) > 0 {
			local = append(local, o)
		}
	}
	if len(local) > 0 {
		cctx := context.WithoutCancel(ctx)
		d.endWatch(cctx, r.app.Name, r.p, false)
		if err := d.unroute(cctx, r.app.Name); err != nil {
			r.p.Fail("could not take %s out of nginx: %v", r.app.Name, err)
		}
		done := r.p.Step("")
		for _, o := range local {
			d.stopRelease(cctx, r.p, o)
		}
		done(fmt.Sprintf("Retired %s on this host (now on Kubernetes)", names(local)))
	}
	r.p.Say("%s %s is live on Kubernetes (namespace %s), serving %s (%.1fs)", r.app.Name, rec.Name(), r.app.Name,
		strings.Join(rec.Settings.Served(r.app.Name, d.Config.Domain), ", "), rec.Duration().Seconds())
	return nil
}

// onHostOnly refuses what works on this host's data and containers only
// (what: "gitship run") for an app whose live release runs on Kubernetes.
func (d *Deployer) onHostOnly(app, what string) error {
	live, err := d.Store().Live(app)
	if err != nil || !IsKube(live) {
		return err
	}
	return usererr.New(fmt.Sprintf("%s runs on Kubernetes (target=kube): %s works on this host's apps only", app, what),
		fmt.Sprintf("use the cluster's own tools, e.g. `kubectl -n %s exec deploy/%s-web -- ...`", app, app))
}

// unroute takes app's server block out of nginx, under the nginx lock.
func (d *Deployer) unroute(ctx context.Context, app string) error {
	unlock, err := d.lockNginx(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return d.Proxy.Remove(ctx, app)
}

// ExportKube prints release version of app ("vN"; "": the live one) as
// the Kubernetes objects a push of it applies, multi-document YAML, for
// people who apply it themselves. The release must have been pushed to
// the [kube] registry (it ran with target=kube): the objects name its
// image by digest.
func (d *Deployer) ExportKube(ctx context.Context, app, version string) ([]byte, error) {
	rec, err := d.pick(app, version)
	if err != nil {
		return nil, err
	}
	if rec.Pushed == "" {
		return nil, usererr.New(fmt.Sprintf("%s %s was never pushed to a registry: it ran on this host", app, rec.Name()),
			fmt.Sprintf("`gitship set %s target=kube` releases it to the cluster (and the registry) first", app))
	}
	objs, err := d.kubeRenderOf(ctx, rec)
	if err != nil {
		return nil, err
	}
	return kube.YAML(objs.All())
}
