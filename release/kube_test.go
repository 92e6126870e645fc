package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/gitship/gitship/kube"
	"github.com/gitship/gitship/state"
)

// applyCluster records what a release applies and prunes; rolloutErr
// makes the rollout of the versions it names fail.
type applyCluster struct {
	mu         sync.Mutex
	applied    []string // "vN Kind/name" per object, in order
	pruned     [][]string
	rolloutErr map[string]error
	jobs       []string
}

var _ Cluster = (*applyCluster)(nil)

func (c *applyCluster) Apply(ctx context.Context, objs []kube.Object) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range objs {
		c.applied = append(c.applied, fmt.Sprintf("%s %s/%s", o.GetLabels()[kube.LabelRelease], o.GetObjectKind().GroupVersionKind().Kind, o.GetName()))
	}
	return nil
}

func (c *applyCluster) RunJob(ctx context.Context, job *batchv1.Job, timeout time.Duration, out io.Writer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jobs = append(c.jobs, job.GetName())
	return nil
}

func (c *applyCluster) WaitRollout(ctx context.Context, app, version string, timeout time.Duration, progress func(string)) error {
	progress("1/1 available")
	return c.rolloutErr[version]
}

func (c *applyCluster) Prune(ctx context.Context, app string, keep []kube.Object) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for _, o := range keep {
		names = append(names, o.GetName())
	}
	c.pruned = append(c.pruned, names)
	return nil, nil
}

func (c *applyCluster) Deployments(context.Context, string) ([]appsv1.Deployment, error) {
	return nil, nil
}
func (c *applyCluster) Pods(context.Context, string) ([]corev1.Pod, error)               { return nil, nil }
func (c *applyCluster) Logs(context.Context, string, string, int, bool, io.Writer) error { return nil }

// fakePusher answers a digest reference for every push.
type fakePusher struct{ refs []string }

func (p *fakePusher) Push(ctx context.Context, image, ref string, insecure bool) (string, error) {
	p.refs = append(p.refs, ref)
	return strings.SplitN(ref, ":", 2)[0] + "@sha256:" + strings.Repeat(fmt.Sprint(len(p.refs)), 64)[:64], nil
}

func newKubeEnv(t *testing.T) (*env, *applyCluster, *fakePusher) {
	e := newOsEnv(t)
	c, p := &applyCluster{rolloutErr: map[string]error{}}, &fakePusher{}
	e.d.Config.Kube.Registry = "registry.test/team"
	e.d.Kube = func() (Cluster, error) { return c, nil }
	e.d.Pusher = p
	e.editApp(t, func(a *state.App) { a.Settings.Target = state.TargetKube })
	return e, c, p
}

// TestKubeDeploy: a push of a kube app builds, pushes by digest, applies
// the objects, waits for the rollout, prunes what the release does not
// have, and starts nothing on this host nor touches nginx.
func TestKubeDeploy(t *testing.T) {
	e, c, p := newKubeEnv(t)
	r, err, out := e.deploy(t, sha1)
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	if r.Status != state.StatusLive || !strings.HasPrefix(r.Pushed, "registry.test/team/demo@sha256:") || r.Listen != state.ListenPort {
		t.Errorf("record: status %s, pushed %q, listen %q", r.Status, r.Pushed, r.Listen)
	}
	if want := "registry.test/team/demo:v1-0123456789ab"; len(p.refs) != 1 || p.refs[0] != want {
		t.Errorf("pushed %v, want [%s]", p.refs, want)
	}
	got := strings.Join(c.applied, "\n")
	for _, want := range []string{" Namespace/demo", " PersistentVolumeClaim/demo-data", "v1 Secret/demo-env-v1", "v1 Deployment/demo-web", "v1 Service/demo-web"} {
		if !strings.Contains(got, want) {
			t.Errorf("applied:\n%s\nwant %q", got, want)
		}
	}
	if len(c.pruned) != 1 {
		t.Errorf("pruned %d times, want once after the rollout", len(c.pruned))
	}
	if starts := e.rt.starts(); len(starts) != 0 || len(e.px.installs) != 0 {
		t.Errorf("started %v, installed %d nginx configs: want nothing on this host", starts, len(e.px.installs))
	}
	wantLines(t, out, `-----> Rolled out v1: 1/1 available \([0-9.]+s\)`, `-----> demo v1 is live on Kubernetes \(namespace demo\), serving demo\.example\.com \([0-9.]+s\)`)
}

// TestKubeRolloutUndone: a rollout that does not become available
// applies the previous release's objects again; the previous release
// stays live and the failed one is recorded failed.
func TestKubeRolloutUndone(t *testing.T) {
	e, c, _ := newKubeEnv(t)
	e.mustDeploy(t, sha1)
	c.rolloutErr["v2"] = errors.New("v2 of demo did not roll out within 2s: demo-web 0/1 available")
	c.applied = nil
	_, err, out := e.deploy(t, sha2)
	if err == nil {
		t.Fatalf("deploy of an unavailable rollout succeeded:\n%s", out)
	}
	got := strings.Join(c.applied, "\n")
	v2 := strings.Index(got, "v2 Deployment/demo-web")
	v1 := strings.LastIndex(got, "v1 Deployment/demo-web")
	if v2 < 0 || v1 < v2 || !strings.Contains(got[v2:], "v1 Secret/demo-env-v1") {
		t.Errorf("applied:\n%s\nwant v2's objects, then v1's again (Secret and Deployments)", got)
	}
	if live := e.live(t); live != "v1" {
		t.Errorf("live %s, want v1", live)
	}
	if st := e.status(t, 2); st != state.StatusFailed {
		t.Errorf("v2 is %s, want failed", st)
	}
	wantLines(t, out, `!     Applied v1's objects again: the cluster runs v1`, `!     v1 is still live \(0123456789ab\)\.`)
}

// TestKubeNeedsTable: without [kube] registry, a kube app's release
// fails with one line and changes nothing.
func TestKubeNeedsTable(t *testing.T) {
	e, c, _ := newKubeEnv(t)
	e.d.Config.Kube.Registry = ""
	_, err, out := e.deploy(t, sha1)
	if err == nil || !strings.Contains(out, "target=kube needs the [kube] table") {
		t.Errorf("deploy without [kube]: %v\n%s", err, out)
	}
	if len(c.applied) != 0 {
		t.Errorf("applied %v without [kube]", c.applied)
	}
}
