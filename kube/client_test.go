package kube

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gitship/gitship/internal/usererr"
)

func render(t *testing.T, r Release, c Config) *Objects {
	t.Helper()
	o, err := Render(r, c)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func apply(t *testing.T, c *Client, objs []Object) {
	t.Helper()
	if err := c.Apply(context.Background(), objs); err != nil {
		t.Fatal(err)
	}
}

func getObj[T any](t *testing.T, c *Client, kind, ns, name string) *T {
	t.Helper()
	o, err := getOf[T](context.Background(), c, kind, ns, name)
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", kind, ns, name, err)
	}
	return o
}

// TestApplyReleaseThenRollback applies v1, then v2 (a worker scaled to 0,
// a new environment, a larger data_size) and prunes, then v1 again as a
// rollback does: each time the cluster holds exactly the release's
// objects, vN's environment comes back with vN, and the claim never
// changes after it was created.
func TestApplyReleaseThenRollback(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client(t)
	ctx := context.Background()
	v1 := full()
	v1.Version = "v1"
	o1 := render(t, v1, Config{DataSize: "1Gi"})
	apply(t, c, append(o1.Before(), o1.Rollout()...))

	deps, err := c.Deployments(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range deps {
		names = append(names, d.Name)
		if len(d.ManagedFields) == 0 || d.ManagedFields[0].Manager != FieldManager || d.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("%s managed fields = %+v, want an apply by %s", d.Name, d.ManagedFields, FieldManager)
		}
	}
	if got := strings.Join(names, " "); got != "shop-clock-2 shop-web shop-worker" {
		t.Errorf("Deployments after v1 = %s", got)
	}

	v2 := full()
	v2.Version = "v2"
	v2.Scale = map[string]int{"worker": 0, "disabled": 0}
	v2.Env = map[string]string{"SECRET_KEY": "rotated"}
	v2.Cron = v2.Cron[:1]
	o2 := render(t, v2, Config{DataSize: "5Gi"})
	apply(t, c, append(o2.Before(), o2.Rollout()...))
	gone, err := c.Prune(ctx, "shop", o2.All())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(gone)
	want := []string{"CronJob/shop-cron-a1b2c3d4", "Deployment/shop-worker", "Secret/shop-env-v1"}
	if !slices.Equal(gone, want) {
		t.Errorf("Prune removed %v, want %v", gone, want)
	}
	if _, err := getOf[appsv1.Deployment](ctx, c, "Deployment", "shop", "shop-worker"); !apierrors.IsNotFound(err) {
		t.Errorf("shop-worker after v2 scaled it to 0: %v, want not found", err)
	}
	if web := getObj[appsv1.Deployment](t, c, "Deployment", "shop", "shop-web"); web.Spec.Template.Labels[LabelRelease] != "v2" ||
		web.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name != "shop-env-v2" {
		t.Errorf("shop-web after v2 runs %s with %s", web.Spec.Template.Labels[LabelRelease], web.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name)
	}

	// the rollback: v1's objects again
	apply(t, c, append(o1.Before(), o1.Rollout()...))
	if _, err := c.Prune(ctx, "shop", o1.All()); err != nil {
		t.Fatal(err)
	}
	sec := getObj[corev1.Secret](t, c, "Secret", "shop", "shop-env-v1")
	if string(sec.Data["SECRET_KEY"]) != "s3cret" || string(sec.Data["DATABASE_URL"]) != "postgres://db/shop" {
		t.Errorf("v1's Secret after the rollback = %q, want v1's environment", sec.Data)
	}
	if _, err := getOf[corev1.Secret](ctx, c, "Secret", "shop", "shop-env-v2"); !apierrors.IsNotFound(err) {
		t.Errorf("v2's Secret after the rollback to v1: %v, want pruned", err)
	}
	if getObj[appsv1.Deployment](t, c, "Deployment", "shop", "shop-worker").Spec.Template.Labels[LabelRelease] != "v1" {
		t.Error("shop-worker not back with v1")
	}
	claim := getObj[corev1.PersistentVolumeClaim](t, c, "PersistentVolumeClaim", "shop", "shop-data")
	if q := claim.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("1Gi")) != 0 || claim.Labels[LabelRelease] != "" {
		t.Errorf("claim after v2 (5Gi) and the rollback = %s %v, want the 1Gi it was created with", q.String(), claim.Labels)
	}
	for _, call := range f.callsOf() {
		if strings.HasPrefix(call, "DELETE persistentvolumeclaims") || strings.HasPrefix(call, "DELETE namespaces") || strings.HasPrefix(call, "PATCH persistentvolumeclaims") {
			t.Errorf("the claim or the namespace was touched: %s", call)
		}
	}
}

// TestApplyForce: a field another manager took (kubectl scale, say) is
// gitship's again after the next apply: the release is what runs.
func TestApplyForce(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client(t)
	o := render(t, full(), Config{DataSize: "1Gi"})
	apply(t, c, append(o.Before(), o.Rollout()...))
	other := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "shop-web", "namespace": "shop"},
		"spec":     map[string]any{"replicas": int64(5)},
	}}
	force := true
	if err := f.tracker.Apply(kinds["Deployment"].gvr, other, "shop", metav1.PatchOptions{FieldManager: "kubectl", Force: &force}); err != nil {
		t.Fatal(err)
	}
	if n := *getObj[appsv1.Deployment](t, c, "Deployment", "shop", "shop-web").Spec.Replicas; n != 5 {
		t.Fatalf("replicas after kubectl's apply = %d, want 5", n)
	}
	apply(t, c, o.Rollout())
	if n := *getObj[appsv1.Deployment](t, c, "Deployment", "shop", "shop-web").Spec.Replicas; n != 2 {
		t.Errorf("replicas after gitship's apply = %d, want 2 (the release's)", n)
	}
}

// TestApplyRefusesNamespace: an app never takes a namespace that is not
// gitship's, nor another instance's.
func TestApplyRefusesNamespace(t *testing.T) {
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"not gitship's", map[string]string{"team": "x"}, "namespace shop exists and is not gitship's"},
		{"another instance's", map[string]string{LabelManagedBy: ManagedBy, LabelApp: "shop", LabelInstance: "ffffff"}, "belongs to another gitship (instance ffffff, this is a1b2c3)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			c := f.client(t)
			f.add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: tt.labels}})
			o := render(t, full(), Config{DataSize: "1Gi"})
			err := c.Apply(context.Background(), o.Before())
			var ue *usererr.Error
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply = %v, want a usererr containing %q", err, tt.want)
			}
			for _, call := range f.callsOf() {
				if !strings.HasPrefix(call, "GET") {
					t.Errorf("something was written: %s", call)
				}
			}
		})
	}
	f := newFakeAPI(t) // gitship's own namespace is fine
	c := f.client(t)
	o := render(t, full(), Config{DataSize: "1Gi"})
	apply(t, c, o.Before())
	apply(t, c, o.Before())
}

// available plays the Deployment controller: d runs its template with
// all replicas available.
func available(f *fakeAPI, name string) {
	f.update("Deployment", "shop", name, func(o runtime.Object) {
		d := o.(*appsv1.Deployment)
		n := *d.Spec.Replicas
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
	})
}

func TestWaitRollout(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client(t)
	o := render(t, full(), Config{DataSize: "1Gi"})
	apply(t, c, append(o.Before(), o.Rollout()...))
	var lines []string
	err := c.WaitRollout(context.Background(), "shop", "v7", time.Minute, func(line string) {
		lines = append(lines, line)
		if len(lines) == 1 { // the controller catches up once gitship looked
			available(f, "shop-web")
			available(f, "shop-clock-2")
			available(f, "shop-worker")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"0/4 available", "4/4 available"}; !slices.Equal(lines, want) {
		t.Errorf("progress = %q, want %q", lines, want)
	}
}

// TestWaitRolloutTimeout: what is not available, and why in the
// cluster's words.
func TestWaitRolloutTimeout(t *testing.T) {
	tests := []struct {
		name string
		pod  corev1.PodStatus
		ev   *corev1.Event
		want string
	}{
		{
			name: "unschedulable",
			pod: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
				Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient memory."}}},
			want: "pod shop-web-7d9f-abcde: Unschedulable: 0/1 nodes are available: 1 Insufficient memory.",
		},
		{
			name: "crashing",
			pod: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "web",
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}}}},
			want: "pod shop-web-7d9f-abcde: CrashLoopBackOff: back-off 10s restarting failed container (last exit code 3)",
		},
		{
			name: "probe failing",
			pod:  corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}},
			ev: &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "ev1", Namespace: "shop"}, Type: corev1.EventTypeWarning, Reason: "Unhealthy",
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "shop-web-7d9f-abcde"}, Message: "Readiness probe failed: HTTP probe failed with statuscode: 500"},
			want: "pod shop-web-7d9f-abcde: Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 500",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			c := f.client(t)
			o := render(t, full(), Config{DataSize: "1Gi"})
			apply(t, c, append(o.Before(), o.Rollout()...))
			available(f, "shop-clock-2")
			available(f, "shop-worker")
			f.update("Deployment", "shop", "shop-web", func(o runtime.Object) {
				d := o.(*appsv1.Deployment)
				d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1}
			})
			f.add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "shop-web-7d9f-abcde", Namespace: "shop",
				Labels: map[string]string{LabelApp: "shop", LabelRelease: "v7", LabelProcess: "web"}}, Status: tt.pod})
			if tt.ev != nil {
				f.add(tt.ev)
			}
			err := c.WaitRollout(context.Background(), "shop", "v7", 50*time.Millisecond, nil)
			want := "v7 of shop did not roll out within 50ms: shop-web 0/2 available: " + tt.want
			if err == nil || err.Error() != want {
				t.Fatalf("WaitRollout = %v\nwant %s", err, want)
			}
			var ue *usererr.Error
			if !errors.Is(err, ErrNotAvailable) || !errors.As(err, &ue) {
				t.Errorf("error %v is not a usererr wrapping ErrNotAvailable", err)
			}
		})
	}
}

// finish plays the Job controller: the job ends with condition typ, its
// pod said out.
func finish(f *fakeAPI, job string, typ batchv1.JobConditionType, msg, out string) {
	f.update("Job", "shop", job, func(o runtime.Object) {
		j := o.(*batchv1.Job)
		j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: msg})
	})
	f.add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job + "-x1", Namespace: "shop", Labels: map[string]string{batchv1.JobNameLabel: job}}})
	f.mu.Lock()
	f.logs[job+"-x1"] = out
	f.mu.Unlock()
}

func TestRunJob(t *testing.T) {
	for _, tt := range []struct {
		name    string
		end     batchv1.JobConditionType // "": never ends
		wantErr string
	}{
		{"complete", batchv1.JobComplete, ""},
		{"failed", batchv1.JobFailed, "release command of v7 failed: BackoffLimitExceeded: Job has reached the specified backoff limit (job shop/shop-release-v7)"},
		{"timeout", "", "release command of v7 did not finish within 50ms (job shop/shop-release-v7)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			c := f.client(t)
			o := render(t, full(), Config{DataSize: "1Gi"})
			apply(t, c, o.Before())
			var out bytes.Buffer
			timeout := time.Minute
			if tt.end == "" {
				timeout = 50 * time.Millisecond
			}
			// the test's Job controller ends the job when RunJob first
			// looks at it
			ended := false
			f.react = func(call string) {
				if call == "GET jobs shop-release-v7" && tt.end != "" && !ended {
					ended = true
					finish(f, "shop-release-v7", tt.end, "Job has reached the specified backoff limit", "migrated 3 tables\n")
				}
			}
			err := c.RunJob(context.Background(), o.ReleaseJob, timeout, &out)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if out.String() != "migrated 3 tables\n" {
					t.Errorf("output = %q, want the pod's log", out.String())
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrJobFailed) {
				t.Fatalf("RunJob = %v, want %s wrapping ErrJobFailed", err, tt.wantErr)
			}
		})
	}
}

// TestNew reads the cluster from a kubeconfig file; a missing one is a
// one-line usererr naming the key to set.
func TestNew(t *testing.T) {
	f := newFakeAPI(t)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	conf := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + f.srv.URL +
		"\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t0ken\ncurrent-context: c\n"
	if err := os.WriteFile(kc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pods(context.Background(), "shop"); err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{Kubeconfig: filepath.Join(t.TempDir(), "none")})
	var ue *usererr.Error
	if !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") || !strings.Contains(ue.Hint, "[kube] kubeconfig") {
		t.Errorf("New with a missing kubeconfig = %v", err)
	}
}
