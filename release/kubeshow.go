package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/kube"
	"github.com/gitship/gitship/state"
)

// What status, ps and logs show of an app whose live release runs on
// Kubernetes: read from the API, never from this host's containers.

// kubeReadTimeout bounds status's and ps's reads of the API: an API
// server that does not answer must not hang them.
const kubeReadTimeout = 15 * time.Second

// ingressLister is what status needs besides Cluster to show the
// Ingress's hosts (kube.Client has it).
type ingressLister interface {
	Ingresses(ctx context.Context, app string) ([]networkingv1.Ingress, error)
}

// KubeStatus is what the cluster runs of a kube app, in AppStatus.
type KubeStatus struct {
	Namespace   string             `json:"namespace"`
	Deployments []DeploymentStatus `json:"deployments"`
	// Hosts are the hosts of the app's Ingress (none without domains).
	Hosts []string `json:"hosts"`
}

// DeploymentStatus is one Deployment of a kube app.
type DeploymentStatus struct {
	Name      string `json:"name"`
	Type      string `json:"type"`    // the process type: web, worker, ...
	Release   string `json:"release"` // v7: the release its pods are of
	Desired   int32  `json:"desired"`
	Available int32  `json:"available"`
	Updated   int32  `json:"updated"`
	Image     string `json:"image"` // by digest
}

// kubeUnreachable is a failed read of the cluster for app, as one line.
func kubeUnreachable(app string, err error) error {
	var ue *usererr.Error
	if errors.As(err, &ue) {
		return err
	}
	return &usererr.Error{Msg: fmt.Sprintf("cannot read %s from the Kubernetes API: %s", app, oneLine(err.Error())),
		Hint: "check [kube] kubeconfig in the server config and that the API server answers", Err: err}
}

// kubeStatus reads what the cluster runs of live's app: its Deployments
// and its Ingress's hosts. The namespace is set even when the cluster
// cannot be read.
func (d *Deployer) kubeStatus(ctx context.Context, live *state.Record) (*KubeStatus, error) {
	ks := &KubeStatus{Namespace: live.App, Deployments: []DeploymentStatus{}, Hosts: []string{}}
	k, err := d.cluster()
	if err != nil {
		return ks, err
	}
	ctx, cancel := context.WithTimeout(ctx, kubeReadTimeout)
	defer cancel()
	deps, err := k.Deployments(ctx, live.App)
	if err != nil {
		return ks, kubeUnreachable(live.App, err)
	}
	for _, dep := range deps {
		ks.Deployments = append(ks.Deployments, deploymentStatus(dep))
	}
	if il, ok := k.(ingressLister); ok {
		ins, err := il.Ingresses(ctx, live.App)
		if err != nil {
			return ks, kubeUnreachable(live.App, err)
		}
		for _, in := range ins {
			for _, r := range in.Spec.Rules {
				if r.Host != "" {
					ks.Hosts = append(ks.Hosts, r.Host)
				}
			}
		}
	}
	return ks, nil
}

func deploymentStatus(dep appsv1.Deployment) DeploymentStatus {
	ds := DeploymentStatus{Name: dep.Name, Type: dep.Labels[kube.LabelProcess], Release: dep.Labels[kube.LabelRelease],
		Desired: 1, Available: dep.Status.AvailableReplicas, Updated: dep.Status.UpdatedReplicas}
	if dep.Spec.Replicas != nil {
		ds.Desired = *dep.Spec.Replicas
	}
	if cs := dep.Spec.Template.Spec.Containers; len(cs) > 0 {
		ds.Image = cs[0].Image
	}
	return ds
}

// summary is "2/2 available" for the Deployments of ks ("no
// deployments" for none).
func (ks *KubeStatus) summary() string {
	if len(ks.Deployments) == 0 {
		return "no deployments"
	}
	var avail, want int32
	for _, dep := range ks.Deployments {
		avail += dep.Available
		want += dep.Desired
	}
	return fmt.Sprintf("%d/%d available", avail, want)
}

// writeKubeStatus prints the part of status that is the cluster's.
func writeKubeStatus(w io.Writer, st *AppStatus) {
	fmt.Fprintf(w, "image:\t%s\n", st.Image)
	fmt.Fprintf(w, "listens:\t%s\n", st.Listens)
	ks := st.Kube
	if ks == nil {
		return
	}
	fmt.Fprintf(w, "target:\tkube (namespace %s)\n", ks.Namespace)
	if st.KubeError != "" {
		// the error follows on its own line (and in --json's kube_error)
		fmt.Fprintf(w, "deployments:\tunknown (the cluster could not be read)\n")
		return
	}
	if len(ks.Deployments) == 0 {
		fmt.Fprintf(w, "deployments:\tnone on the cluster\n")
	}
	for _, dep := range ks.Deployments {
		img := dep.Image
		if img == st.Image {
			img = "the release's image"
		}
		fmt.Fprintf(w, "deployment:\t%s %d/%d available (%s, %s, %s)\n", dep.Name, dep.Available, dep.Desired,
			dep.Type, dep.Release, img)
	}
	if len(ks.Hosts) == 0 {
		fmt.Fprintf(w, "ingress:\tnone\n")
	} else {
		fmt.Fprintf(w, "ingress:\t%s\n", strings.Join(ks.Hosts, ", "))
	}
}

// kubePs lists the pods of live's processes (not those of its release
// command nor of its cron jobs), web first, by name.
func (d *Deployer) kubePs(ctx context.Context, live *state.Record) ([]ProcState, error) {
	k, err := d.cluster()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, kubeReadTimeout)
	defer cancel()
	pods, err := k.Pods(ctx, live.App)
	if err != nil {
		return nil, kubeUnreachable(live.App, err)
	}
	var mine []corev1.Pod
	for _, p := range pods {
		typ := p.Labels[kube.LabelProcess]
		if p.Labels[kube.LabelRelease] != live.Name() || typ == "" || typ == hook.TypeRelease || typ == "cron" {
			continue
		}
		mine = append(mine, p)
	}
	sort.SliceStable(mine, func(i, j int) bool {
		ti, tj := mine[i].Labels[kube.LabelProcess], mine[j].Labels[kube.LabelProcess]
		if (ti == hook.TypeWeb) != (tj == hook.TypeWeb) {
			return ti == hook.TypeWeb
		}
		if ti != tj {
			return ti < tj
		}
		return mine[i].Name < mine[j].Name
	})
	out := make([]ProcState, 0, len(mine))
	n := map[string]int{}
	for _, p := range mine {
		typ := p.Labels[kube.LabelProcess]
		n[typ]++
		out = append(out, podState(p, n[typ], live.Name()))
	}
	return out, nil
}

// podState is pod p as ps shows it: its phase in lower case
// ("running", "pending", "terminating"), how many of its containers are
// ready, its node, since when it runs and its containers' restarts.
func podState(p corev1.Pod, number int, release string) ProcState {
	ps := ProcState{Type: p.Labels[kube.LabelProcess], Number: number, Name: p.Name, Release: release,
		State: strings.ToLower(string(p.Status.Phase)), Node: p.Spec.NodeName}
	if ps.State == "" {
		ps.State = "pending"
	}
	if p.DeletionTimestamp != nil {
		ps.State = "terminating"
	}
	ready := 0
	for _, c := range p.Status.ContainerStatuses {
		if c.Ready {
			ready++
		}
		ps.Restarts += int(c.RestartCount)
	}
	ps.Ready = fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers))
	if p.Status.StartTime != nil {
		ps.Since = p.Status.StartTime.Time
	} else {
		ps.Since = p.CreationTimestamp.Time
	}
	return ps
}

// kubeLogs writes the output of rec's pods: every web pod of the app
// (of any release: during a rollout both) for the live release, or
// every pod labelled with rec's release when one was named (its release
// command's included). More than one pod: each line starts with
// "[POD] ", and with follow they are read at once.
func (d *Deployer) kubeLogs(ctx context.Context, rec *state.Record, named bool, n int, follow bool, w io.Writer) error {
	k, err := d.cluster()
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, kubeReadTimeout)
	pods, err := k.Pods(lctx, rec.App)
	cancel()
	if err != nil {
		return kubeUnreachable(rec.App, err)
	}
	var names []string
	for _, p := range pods {
		if named && p.Labels[kube.LabelRelease] == rec.Name() || !named && p.Labels[kube.LabelProcess] == hook.TypeWeb {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		if named {
			return fmt.Errorf("no pods of %s %s on the cluster", rec.App, rec.Name())
		}
		return fmt.Errorf("no web pods of %s on the cluster", rec.App)
	}
	if n == 0 && !follow {
		return nil
	}
	tail := max(n, 0)
	shared := &lockedWriter{w: w} // cronjobs.go
	read := func(pod string) error {
		out := io.Writer(shared)
		var pw *prefixWriter
		if len(names) > 1 {
			pw = &prefixWriter{w: out, prefix: "[" + pod + "] "}
			out = pw
		}
		err := k.Logs(ctx, rec.App, pod, tail, follow, out)
		if pw != nil {
			pw.flush()
		}
		if err != nil && ctx.Err() == nil {
			// "kube: logs of APP/POD: 404 Not Found: MESSAGE"
			return &usererr.Error{Msg: oneLine(err.Error()), Err: err}
		}
		return nil
	}
	if !follow || len(names) == 1 {
		for _, pod := range names {
			if err := read(pod); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, pod := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = read(pod)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// prefixWriter writes whole lines, each starting with prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := p.w.Write(append([]byte(p.prefix), p.buf[:i+1]...)); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
}

// flush writes what is left of a last line without its newline.
func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		p.w.Write(append(append([]byte(p.prefix), p.buf...), '\n'))
		p.buf = nil
	}
}
