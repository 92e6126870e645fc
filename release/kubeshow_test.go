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
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/kube"
	"github.com/gitship/gitship/state"
)

// showCluster is a Cluster for status, ps and logs: what it lists is
// set by the test; it answers err to every read when set.
type showCluster struct {
	deps    []appsv1.Deployment
	pods    []corev1.Pod
	ingress []networkingv1.Ingress
	logs    map[string]string // pod -> output
	err     error

	mu      sync.Mutex
	logCall []string // "POD tail=N follow=B"
}

var _ Cluster = (*showCluster)(nil)

func (c *showCluster) Apply(ctx context.Context, objs []kube.Object) error {
	return errors.New("showCluster: no apply")
}

func (c *showCluster) RunJob(ctx context.Context, job *batchv1.Job, timeout time.Duration, out io.Writer) error {
	return errors.New("showCluster: no job")
}

func (c *showCluster) WaitRollout(ctx context.Context, app, version string, timeout time.Duration, progress func(string)) error {
	return errors.New("showCluster: no rollout")
}

func (c *showCluster) Prune(ctx context.Context, app string, keep []kube.Object) ([]string, error) {
	return nil, errors.New("showCluster: no prune")
}

func (c *showCluster) Deployments(ctx context.Context, app string) ([]appsv1.Deployment, error) {
	return c.deps, c.err
}

func (c *showCluster) Pods(ctx context.Context, app string) ([]corev1.Pod, error) {
	return c.pods, c.err
}

func (c *showCluster) Ingresses(ctx context.Context, app string) ([]networkingv1.Ingress, error) {
	return c.ingress, c.err
}

func (c *showCluster) Logs(ctx context.Context, app, pod string, tail int, follow bool, w io.Writer) error {
	c.mu.Lock()
	c.logCall = append(c.logCall, fmt.Sprintf("%s tail=%d follow=%v", pod, tail, follow))
	c.mu.Unlock()
	out, ok := c.logs[pod]
	if !ok {
		return fmt.Errorf("kube: logs of %s/%s: 500 Internal Server Error: no logs available from the node", app, pod)
	}
	_, err := io.WriteString(w, out)
	return err
}

const pushedRef = "127.0.0.1:5000/demo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// newKubeShowEnv is an env whose app demo has target=kube and a live v2
// on the cluster c (v1 retired); with c nil the server config has no
// [kube] table.
func newKubeShowEnv(t *testing.T, c *showCluster) *env {
	t.Helper()
	e := newMemEnv(t)
	if c != nil {
		e.d.Config.Kube.Registry = "127.0.0.1:5000"
		e.d.Kube = func() (Cluster, error) { return c, nil }
	}
	now := time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)
	kubeSettings := state.Settings{Branch: "main", Target: state.TargetKube}
	for _, r := range []*state.Record{
		{Version: 1, App: "demo", Kind: "push", Commit: sha1, Image: "gitship/demo:v1", Status: state.StatusRetired,
			Created: now, Finished: now.Add(time.Second), Settings: kubeSettings, Pushed: strings.Replace(pushedRef, "0123", "aaaa", 1), Listen: state.ListenPort},
		{Version: 2, App: "demo", Kind: "push", Commit: sha2, Image: "gitship/demo:v2", Status: state.StatusLive,
			Created: now, Finished: now.Add(2 * time.Second), LiveSince: now.Add(2 * time.Second), Settings: kubeSettings,
			Pushed: pushedRef, Listen: state.ListenPort},
	} {
		if err := e.store.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	a, err := state.LoadApp(e.d.Fs, e.d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	a.Settings.Target = state.TargetKube
	if err := state.SaveApp(e.d.Fs, e.d.Config.AppsDir(), a); err != nil {
		t.Fatal(err)
	}
	return e
}

func deployment(name, typ, release string, desired, available int32) appsv1.Deployment {
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "demo",
			Labels: map[string]string{kube.LabelProcess: typ, kube.LabelRelease: release}},
		Spec: appsv1.DeploymentSpec{Replicas: &desired, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: typ, Image: pushedRef}}}}},
		Status: appsv1.DeploymentStatus{AvailableReplicas: available, UpdatedReplicas: desired},
	}
}

func pod(name, typ, release string, phase corev1.PodPhase, ready bool, restarts int32) corev1.Pod {
	start := metav1.NewTime(time.Date(2024, 5, 1, 11, 59, 0, 0, time.UTC))
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "demo", CreationTimestamp: start,
			Labels: map[string]string{kube.LabelProcess: typ, kube.LabelRelease: release}},
		Spec: corev1.PodSpec{NodeName: "kwok-node-0", Containers: []corev1.Container{{Name: typ}}},
		Status: corev1.PodStatus{Phase: phase, StartTime: &start,
			ContainerStatuses: []corev1.ContainerStatus{{Name: typ, Ready: ready, RestartCount: restarts}}},
	}
}

func demoCluster() *showCluster {
	return &showCluster{
		deps: []appsv1.Deployment{deployment("demo-web", "web", "v2", 2, 1), deployment("demo-worker", "worker", "v2", 1, 1)},
		pods: []corev1.Pod{
			pod("demo-release-v2-abcde", "release", "v2", corev1.PodSucceeded, false, 0),
			pod("demo-web-5d8f-aaaaa", "web", "v2", corev1.PodRunning, true, 0),
			pod("demo-web-5d8f-bbbbb", "web", "v2", corev1.PodPending, false, 0),
			pod("demo-web-4c7e-zzzzz", "web", "v1", corev1.PodRunning, true, 0),
			pod("demo-worker-6a9b-ccccc", "worker", "v2", corev1.PodRunning, true, 3),
		},
		ingress: []networkingv1.Ingress{{Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{
			{Host: "demo.example.com"}, {Host: "www.demo.example.com"}}}}},
		logs: map[string]string{
			"demo-web-5d8f-aaaaa":   "listening on :5000\nGET / 200\n",
			"demo-web-5d8f-bbbbb":   "listening on :5000",
			"demo-web-4c7e-zzzzz":   "old one\n",
			"demo-release-v2-abcde": "migrated\n",
		},
	}
}

// status of a kube app reads its Deployments and Ingress from the API:
// target, namespace, available/desired, image by digest, hosts; no
// container nor socket of this host.
func TestKubeStatus(t *testing.T) {
	e := newKubeShowEnv(t, demoCluster())
	ctx := context.Background()
	st, err := e.d.Status(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if st.Target != "kube" || st.Kube == nil || st.Kube.Namespace != "demo" || st.Image != pushedRef || len(st.Containers) != 0 {
		t.Fatalf("status = %+v", st)
	}
	if got := fmt.Sprint(st.Kube.Deployments[0]); got != fmt.Sprint(DeploymentStatus{Name: "demo-web", Type: "web", Release: "v2",
		Desired: 2, Available: 1, Updated: 2, Image: pushedRef}) {
		t.Errorf("deployment = %s", got)
	}
	var out strings.Builder
	if err := e.d.WriteStatus(ctx, &out, "demo"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\ntarget:      kube (namespace demo)\n",
		"\nimage:       " + pushedRef + "\n",
		"\nlistens:     port 5000\n",
		"\ndeployment:  demo-web 1/2 available (web, v2, the release's image)\n",
		"\ndeployment:  demo-worker 1/1 available (worker, v2, the release's image)\n",
		"\ningress:     demo.example.com, www.demo.example.com\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, out.String())
		}
	}
	for _, not := range []string{"container:", "socket:"} {
		if strings.Contains(out.String(), not) {
			t.Errorf("status output has %q:\n%s", not, out.String())
		}
	}

	out.Reset()
	if err := e.d.WriteApps(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kube: 2/3 available") {
		t.Errorf("apps output:\n%s", out.String())
	}
	apps, err := e.d.Apps(ctx)
	if err != nil || len(apps) != 1 || apps[0].Target != "kube" || apps[0].Release != "v2" {
		t.Errorf("apps = %+v, %v", apps, err)
	}

	out.Reset()
	if err := e.d.WriteReleases(&out, "demo"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), " "+pushedRef+" ") {
		t.Errorf("releases do not show the pushed image:\n%s", out.String())
	}
}

// Without the [kube] table, or with an API that does not answer, status
// ps and logs fail with one line; status still shows the records' part.
func TestKubeShowUnreachable(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]*showCluster{
		"no [kube]":   nil,
		"unreachable": {err: errors.New(`kube: list deployments of demo: Get "https://127.0.0.1:1/apis": dial tcp 127.0.0.1:1: connect: connection refused`)},
	} {
		t.Run(name, func(t *testing.T) {
			if c != nil {
				c.err = fmt.Errorf("%w", c.err)
			}
			e := newKubeShowEnv(t, c)
			var out strings.Builder
			err := e.d.WriteStatus(ctx, &out, "demo")
			var ue *usererr.Error
			if err == nil || !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") {
				t.Errorf("status error = %v, want one user line", err)
			}
			if !strings.Contains(out.String(), "target:      kube (namespace demo)\n") || !strings.Contains(out.String(), "deployments: unknown (the cluster could not be read)\n") {
				t.Errorf("status output:\n%s", out.String())
			}
			t.Logf("status: %v", err)
			if _, _, err := e.d.Ps(ctx, "demo"); err == nil || !errors.As(err, &ue) {
				t.Errorf("ps error = %v, want a user error", err)
			}
			if err := e.d.Logs(ctx, "demo", "", 10, false, io.Discard); err == nil || !errors.As(err, &ue) {
				t.Errorf("logs error = %v, want a user error", err)
			}
			if err := e.d.WriteApps(ctx, &out); err == nil || !errors.As(err, &ue) || !strings.Contains(out.String(), "kube: unknown") {
				t.Errorf("apps error = %v, output:\n%s", err, out.String())
			}
		})
	}
}

// ps lists the live release's pods (not its release Job's, nor an older
// release's), web first.
func TestKubePs(t *testing.T) {
	e := newKubeShowEnv(t, demoCluster())
	live, ps, err := e.d.Ps(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if live.Name() != "v2" {
		t.Errorf("live = %s", live.Name())
	}
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%s.%d %s %s %s %s %d %s", p.Type, p.Number, p.Name, p.State, p.Ready, p.Node, p.Restarts, p.Release))
	}
	want := []string{
		"web.1 demo-web-5d8f-aaaaa running 1/1 kwok-node-0 0 v2",
		"web.2 demo-web-5d8f-bbbbb pending 0/1 kwok-node-0 0 v2",
		"worker.1 demo-worker-6a9b-ccccc running 1/1 kwok-node-0 3 v2",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ps =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// logs reads the web pods' output (prefixed by pod when several), or
// with --release the pods of that release; a pod whose node has no logs
// is one line.
func TestKubeLogs(t *testing.T) {
	ctx := context.Background()
	c := demoCluster()
	e := newKubeShowEnv(t, c)
	var out strings.Builder
	if err := e.d.Logs(ctx, "demo", "", 50, false, &out); err != nil {
		t.Fatal(err)
	}
	// in the cluster's order (the API's, by name), the old release's
	// pod too (a rollout in progress)
	want := "[demo-web-5d8f-aaaaa] listening on :5000\n[demo-web-5d8f-aaaaa] GET / 200\n" +
		"[demo-web-5d8f-bbbbb] listening on :5000\n" +
		"[demo-web-4c7e-zzzzz] old one\n"
	if out.String() != want {
		t.Errorf("logs =\n%s\nwant\n%s", out.String(), want)
	}
	if c.logCall[0] != "demo-web-5d8f-aaaaa tail=50 follow=false" {
		t.Errorf("log calls = %v", c.logCall)
	}

	// follow: all at once, whole lines each
	out.Reset()
	c.logCall = nil
	if err := e.d.Logs(ctx, "demo", "", -1, true, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4 || len(c.logCall) != 3 || !strings.HasSuffix(c.logCall[0], "tail=0 follow=true") {
		t.Errorf("follow: logs =\n%s\ncalls %v", out.String(), c.logCall)
	}

	out.Reset()
	if err := e.d.Logs(ctx, "demo", "v2", 10, false, &out); err == nil {
		t.Errorf("--release v2 read the worker pod, which has no logs here: want its error")
	} else if err.Error() != "kube: logs of demo/demo-worker-6a9b-ccccc: 500 Internal Server Error: no logs available from the node" {
		t.Errorf("error = %v", err)
	}
	if !strings.Contains(out.String(), "[demo-release-v2-abcde] migrated\n") || strings.Contains(out.String(), "old one") {
		t.Errorf("--release v2: logs =\n%s", out.String())
	}

	out.Reset()
	c.pods = c.pods[:1] // only the release Job's pod
	if err := e.d.Logs(ctx, "demo", "", 10, false, &out); err == nil || err.Error() != "no web pods of demo on the cluster" {
		t.Errorf("no web pods: error %v", err)
	}
}
