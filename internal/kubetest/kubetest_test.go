package kubetest_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gitship/gitship/internal/kubetest"
	"github.com/gitship/gitship/internal/testenv"
)

// TestCluster starts a control plane and checks what gitship's
// end-to-end tests rely on, through the kubeconfig it writes.
func TestCluster(t *testing.T) {
	kubetest.Need(t)
	begin := time.Now()
	c, err := kubetest.Start(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	t.Logf("cluster started in %s: %s, registry %s", time.Since(begin).Round(time.Millisecond), c.Server, c.Registry)

	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	core := corev1client.NewForConfigOrDie(cfg)
	apps := appsv1client.NewForConfigOrDie(cfg)
	batch := batchv1client.NewForConfigOrDie(cfg)
	ctx := t.Context()
	ns := func(t *testing.T, name string) string {
		t.Helper()
		_, err := core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// pods need the namespace's ServiceAccount (admission)
		poll(t, "ServiceAccount "+name+"/default", func() error {
			_, err := core.ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
			return err
		})
		return name
	}

	t.Run("DeploymentAvailable", func(t *testing.T) {
		t.Parallel()
		ns := ns(t, "deploy")
		_, err := apps.Deployments(ns).Create(ctx, deployment("web", 2, "64Mi"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		poll(t, "deployment web available with 2 replicas", func() error {
			d, err := apps.Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if d.Status.AvailableReplicas != 2 || !available(d) {
				return fmt.Errorf("%d/2 available, conditions %v", d.Status.AvailableReplicas, d.Status.Conditions)
			}
			return nil
		})
	})

	t.Run("UnschedulableStaysPending", func(t *testing.T) {
		t.Parallel()
		ns := ns(t, "toobig")
		_, err := apps.Deployments(ns).Create(ctx, deployment("big", 1, "100Gi"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		poll(t, "the pod of big is Unschedulable", func() error {
			pods, err := core.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=big"})
			if err != nil {
				return err
			}
			for _, p := range pods.Items {
				for _, cond := range p.Status.Conditions {
					if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
						if p.Status.Phase != corev1.PodPending {
							return fmt.Errorf("pod %s is %s", p.Name, p.Status.Phase)
						}
						return nil
					}
				}
			}
			return fmt.Errorf("no Unschedulable pod among %d", len(pods.Items))
		})
		d, err := apps.Deployments(ns).Get(ctx, "big", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status.AvailableReplicas != 0 || available(d) {
			t.Errorf("deployment big: %d available, conditions %v", d.Status.AvailableReplicas, d.Status.Conditions)
		}
	})

	t.Run("ClaimBinds", func(t *testing.T) {
		t.Parallel()
		ns := ns(t, "claim")
		sc := c.StorageClass
		pvc := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: &sc,
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				},
			},
		}
		if _, err := core.PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, "claim data Bound", func() error {
			p, err := core.PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Status.Phase != corev1.ClaimBound {
				return fmt.Errorf("claim data is %s", p.Status.Phase)
			}
			return nil
		})
	})

	t.Run("Jobs", func(t *testing.T) {
		t.Parallel()
		ns := ns(t, "jobs")
		jobs := []struct {
			name          string
			command, args []string
			want          batchv1.JobConditionType
		}{
			{"ok", []string{"true"}, nil, batchv1.JobComplete},
			{"fails", []string{"false"}, nil, batchv1.JobFailed},
			{"failsbin", []string{"/bin/false"}, nil, batchv1.JobFailed},
			{"shell", []string{"/bin/sh", "-c", "false"}, nil, batchv1.JobFailed},
			{"shellargs", []string{"sh"}, []string{"-c", "false"}, batchv1.JobFailed},
			{"shelltrue", []string{"/bin/sh", "-c", "true"}, nil, batchv1.JobComplete},
			{"other", []string{"false", "x"}, nil, batchv1.JobComplete}, // only the exact commands fail
		}
		for _, j := range jobs {
			if _, err := batch.Jobs(ns).Create(ctx, job(j.name, j.command, j.args), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, j := range jobs {
			poll(t, fmt.Sprintf("job %s %s", j.name, j.want), func() error {
				got, err := batch.Jobs(ns).Get(ctx, j.name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				for _, cond := range got.Status.Conditions {
					if cond.Status != corev1.ConditionTrue {
						continue
					}
					if cond.Type == j.want {
						return nil
					}
					if cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed {
						t.Fatalf("job %s %v %v %s, want %s", j.name, j.command, j.args, cond.Type, j.want)
					}
				}
				return fmt.Errorf("job %s: conditions %v", j.name, got.Status.Conditions)
			})
		}
	})

	t.Run("Registry", func(t *testing.T) {
		t.Parallel()
		img, err := random.Image(1024, 2)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(c.Registry+"/test/app:v1", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
		want, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		byDigest, err := name.NewDigest(c.Registry+"/test/app@"+want.String(), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(byDigest, remote.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		if d, err := got.Digest(); err != nil || d != want {
			t.Fatalf("image by digest: %v %v, want %v", d, err, want)
		}
	})

	t.Run("KubectlDryRun", func(t *testing.T) {
		t.Parallel()
		cmd := exec.CommandContext(ctx, c.Kubectl, "--kubeconfig", c.Kubeconfig, "apply", "--dry-run=server", "-f", "-")
		cmd.Stdin = strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dry\n  namespace: default\ndata:\n  a: b\n")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "configmap/dry created (server dry run)") {
			t.Fatalf("kubectl apply --dry-run=server: %v: %s", err, out)
		}
	})
}

func poll(t *testing.T, what string, try func() error) {
	t.Helper()
	if err := testenv.Poll(90*time.Second, try); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func deployment(name string, replicas int32, memory string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "web",
					Image: "registry.invalid/app@sha256:" + strings.Repeat("0", 64),
					Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(memory)},
					},
				}}},
			},
		},
	}
}

func job(name string, command, args []string) *batchv1.Job {
	var zero int32
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: &zero,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "release", Image: "registry.invalid/app:v1", Command: command, Args: args}},
			}},
		},
	}
}
