// Package kubetest runs a real Kubernetes control plane on loopback for
// the tests of gitship's Kubernetes target: etcd (Debian's etcd-server),
// kube-apiserver, kube-controller-manager and kube-scheduler (built by
// scripts/kubecp from k8s.io/kubernetes into GITSHIP_KUBE_BIN), kwok
// faking one node, and a container registry (go-containerregistry's
// pkg/registry, in process). Start takes a few seconds.
//
// What a test gets (see Cluster):
//   - Pods of Deployments are scheduled on the one node (Node: 4 CPUs, 8Gi
//     of memory, 110 pods) and become Running and Ready at once (kwok:
//     no container runs, no probe is made), so Deployments become
//     Available and roll out.
//   - Pods of Jobs run and end Succeeded, except a pod with a container
//     whose command followed by its args is exactly ["false"],
//     ["/bin/false"], ["/bin/sh", "-c", "false"] or ["sh", "-c", "false"]
//     (a Procfile's `release: false`, however it is rendered): it ends
//     Failed (exit code 1). A Job fails on the first such pod only with
//     backoffLimit 0; otherwise the Job controller retries with its
//     back-off, for minutes.
//   - A rollout fails without the app's help when its pods ask for more
//     than the node has (resources.requests.memory 100Gi): they stay
//     Pending (PodScheduled False, reason Unschedulable).
//   - PersistentVolumeClaims of the StorageClass (StorageClass, also the
//     default class) bind: there is no provisioner, but Volumes hostPath
//     PersistentVolumes of 1Gi (ReadWriteOnce and ReadWriteMany, reclaim
//     policy Retain: a released volume is not bound again) wait under dir.
//   - Registry is a plain-HTTP registry on 127.0.0.1 (host:port): push
//     there with go-containerregistry (name.Insecure); the fake node never
//     pulls, so image references are only checked for their syntax.
//   - Kubeconfig is cluster-admin (system:masters, RBAC authorization);
//     Kubectl is the kubectl of the same build (kubectl apply
//     --dry-run=server).
//
// Clusters started one after another or at once do not collide: every
// port is free when taken, every file is under the dir given. Only tests
// (and test harness packages) import this package.
package kubetest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	storagev1client "k8s.io/client-go/kubernetes/typed/storage/v1"
	"k8s.io/client-go/rest"

	"github.com/gitship/gitship/internal/testenv"
)

// DefaultBin is where scripts/kubecp puts the binaries unless
// GITSHIP_KUBE_BIN says otherwise.
const DefaultBin = "/var/cache/gitship-test/kube-v1.33.13"

const (
	// StorageClass is the StorageClass whose claims bind (the default class).
	StorageClass = "gitship-test"
	// Volumes is how many PersistentVolumes of 1Gi wait for claims.
	Volumes = 8
	// NodeName is the one (fake) node.
	NodeName = "kwok-node"
)

// startTimeout bounds Start's waiting when ctx has no earlier deadline.
const startTimeout = 2 * time.Minute

// Bin is the directory of the control plane's binaries: GITSHIP_KUBE_BIN,
// else DefaultBin.
func Bin() string {
	if d := os.Getenv("GITSHIP_KUBE_BIN"); d != "" {
		return d
	}
	return DefaultBin
}

// binaries are the commands scripts/kubecp builds into Bin.
var binaries = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl"}

// Components are the paths of what Start runs: the binaries in Bin and
// etcd (on PATH, else /usr/bin/etcd).
func Components() []string {
	var out []string
	for _, b := range binaries {
		out = append(out, filepath.Join(Bin(), b))
	}
	return append(out, etcdPath())
}

func etcdPath() string {
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	return "/usr/bin/etcd"
}

// Need fails the test (GITSHIP_E2E set) or skips it when a component is
// missing, naming it.
func Need(t testing.TB) {
	t.Helper()
	testenv.Need(t, "scripts/kubecp builds them and installs etcd-server", Components()...)
}

// Cluster is a running control plane with its fake node and registry.
type Cluster struct {
	Kubeconfig   string // path of a cluster-admin kubeconfig
	Server       string // the API server's URL, https://127.0.0.1:PORT
	Registry     string // host:port of the plain-HTTP registry
	StorageClass string // StorageClass
	Node         string // NodeName
	Kubectl      string // the kubectl binary

	// REST is the cluster-admin client configuration Kubeconfig holds.
	REST *rest.Config

	dir      string
	procs    []*testenv.Proc
	registry *http.Server
	stopOnce sync.Once
}

// Start starts etcd, the API server, the controller manager, the scheduler,
// kwok with its node, and the registry, with their data and logs (NAME.log)
// under dir, and waits until the API server is ready, the node is Ready
// and the ServiceAccount "default" exists in the namespace "default". On
// error, what it started is stopped (dir stays, for the logs).
func Start(ctx context.Context, dir string) (_ *Cluster, err error) {
	var missing []string
	for _, p := range Components() {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("start kubernetes: missing %s (scripts/kubecp builds them and installs etcd-server)", strings.Join(missing, ", "))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start kubernetes: %w", err)
	}
	c := &Cluster{
		Kubeconfig:   filepath.Join(dir, "kubeconfig"),
		StorageClass: StorageClass,
		Node:         NodeName,
		Kubectl:      filepath.Join(Bin(), "kubectl"),
		dir:          dir,
	}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	if err := c.startRegistry(); err != nil {
		return nil, fmt.Errorf("start kubernetes: registry: %w", err)
	}
	ports, err := testenv.FreePorts(3)
	if err != nil {
		return nil, fmt.Errorf("start kubernetes: %w", err)
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	c.Server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	f, err := writeFiles(dir, c.Server)
	if err != nil {
		return nil, fmt.Errorf("start kubernetes: %w", err)
	}
	c.REST = f.rest

	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	etcd, err := c.start("etcd", etcdPath(),
		"--name", "default", "--data-dir", filepath.Join(dir, "etcd"), "--logger", "zap",
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL, "--listen-metrics-urls", "")
	if err != nil {
		return nil, err
	}
	if err := wait(ctx, "etcd", []*testenv.Proc{etcd}, func() error { return etcdHealthy(ctx, etcdURL) }); err != nil {
		return nil, err
	}

	_, err = c.start("kube-apiserver", filepath.Join(Bin(), "kube-apiserver"),
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", fmt.Sprint(apiPort),
		// the "kubernetes" Service would get 127.0.0.1 as its endpoint,
		// which validation refuses (loopback)
		"--endpoint-reconciler-type", "none",
		"--tls-cert-file", f.serverCert, "--tls-private-key-file", f.serverKey,
		"--client-ca-file", f.caCert, "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", f.saPub, "--service-account-signing-key-file", f.saKey,
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--cert-dir", filepath.Join(dir, "apiserver-certs"),
		"--profiling=false", "--enable-priority-and-fairness=false")
	if err != nil {
		return nil, err
	}
	core, err := corev1client.NewForConfig(c.REST)
	if err != nil {
		return nil, fmt.Errorf("start kubernetes: %w", err)
	}
	storage, err := storagev1client.NewForConfig(c.REST)
	if err != nil {
		return nil, fmt.Errorf("start kubernetes: %w", err)
	}
	err = wait(ctx, "kube-apiserver /readyz", c.procs, func() error {
		_, err := core.RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}

	_, err = c.start("kube-controller-manager", filepath.Join(Bin(), "kube-controller-manager"),
		"--kubeconfig", c.Kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--service-account-private-key-file", f.saKey, "--root-ca-file", f.caCert,
		"--cluster-name", "gitship-test", "--profiling=false",
		// a claim that missed its volume is retried in a second, not 15
		"--pvclaimbinder-sync-period", "1s")
	if err != nil {
		return nil, err
	}
	_, err = c.start("kube-scheduler", filepath.Join(Bin(), "kube-scheduler"),
		"--kubeconfig", c.Kubeconfig, "--leader-elect=false", "--secure-port=0", "--profiling=false")
	if err != nil {
		return nil, err
	}
	if err := c.createObjects(ctx, core, storage); err != nil {
		return nil, fmt.Errorf("start kubernetes: %w", err)
	}
	_, err = c.start("kwok", filepath.Join(Bin(), "kwok"),
		"--kubeconfig", c.Kubeconfig, "--config", f.kwokConfig, "--manage-single-node", NodeName,
		"--node-ip", "10.0.0.1", "--cidr", "10.0.0.1/16")
	if err != nil {
		return nil, err
	}
	err = wait(ctx, "node "+NodeName+" Ready", c.procs, func() error {
		n, err := core.Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s not Ready", NodeName)
	})
	if err != nil {
		return nil, err
	}
	err = wait(ctx, "ServiceAccount default/default", c.procs, func() error {
		_, err := core.ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Stop ends every process the cluster started (SIGTERM to its process
// group, SIGKILL after 5 s), closes the registry and removes dir.
func (c *Cluster) Stop() {
	c.stop()
	os.RemoveAll(c.dir)
}

func (c *Cluster) stop() {
	c.stopOnce.Do(func() {
		testenv.StopProcs(c.procs...)
		if c.registry != nil {
			c.registry.Close()
		}
	})
}

// startRegistry serves a registry on a free loopback port.
func (c *Cluster) startRegistry() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(c.dir, "registry.log"))
	if err != nil {
		l.Close()
		return err
	}
	c.Registry = l.Addr().String()
	c.registry = &http.Server{Handler: registry.New(registry.Logger(log.New(logf, "", log.LstdFlags)))}
	go func() {
		c.registry.Serve(l)
		logf.Close()
	}()
	return nil
}

// createObjects creates the node kwok manages, the StorageClass and the
// PersistentVolumes.
func (c *Cluster) createObjects(ctx context.Context, core *corev1client.CoreV1Client, storage *storagev1client.StorageV1Client) error {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("4"),
		corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: NodeName,
			Labels: map[string]string{
				"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok",
			},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
		},
		Status: corev1.NodeStatus{Capacity: res, Allocatable: res},
	}
	if _, err := core.Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("node %s: %w", NodeName, err)
	}
	bind := storagev1.VolumeBindingImmediate
	retain := corev1.PersistentVolumeReclaimRetain
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        StorageClass,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: &bind,
		ReclaimPolicy:     &retain,
	}
	if _, err := storage.StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("storage class %s: %w", StorageClass, err)
	}
	dirType := corev1.HostPathDirectoryOrCreate
	for i := range Volumes {
		name := fmt.Sprintf("gitship-test-%d", i)
		path := filepath.Join(c.dir, "volumes", name)
		if err := os.MkdirAll(path, 0o777); err != nil {
			return err
		}
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadWriteMany},
				PersistentVolumeReclaimPolicy: retain,
				StorageClassName:              StorageClass,
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &dirType},
				},
			},
		}
		if _, err := core.PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("persistent volume %s: %w", name, err)
		}
	}
	return nil
}

// etcdHealthy checks etcd's /health.
func etcdHealthy(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"true"`) {
		return fmt.Errorf("etcd /health: %s %s", resp.Status, b)
	}
	return nil
}

// wait polls try, backing off from 10 ms to 200 ms, until it succeeds,
// ctx ends or one of procs exits (the end of its log in the error).
func wait(ctx context.Context, what string, procs []*testenv.Proc, try func() error) error {
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		for _, p := range procs {
			if err := p.Exited(); err != nil {
				return fmt.Errorf("start kubernetes: waiting for %s: %w", what, err)
			}
		}
		err := try()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start kubernetes: waiting for %s: %w (last: %v)", what, ctx.Err(), err)
		case <-time.After(delay):
		}
	}
}
