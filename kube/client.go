package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gitship/gitship/internal/usererr"
)

// FieldManager is who gitship's server-side applies are recorded as.
const FieldManager = "gitship"

// Client talks to the cluster through the dynamic client: server-side
// apply of rendered objects, and reads decoded into the typed structs. It
// imports neither the all-groups clientset nor the typed group clients:
// both register every API group of Kubernetes when gitship starts, which
// every command would pay for.
type Client struct {
	dyn  dynamic.Interface
	http *http.Client
	host string // the API server's URL, for pod logs
	// Poll is how often RunJob and WaitRollout look (0: every 500ms).
	Poll time.Duration
	// Now is the clock of progress and timeouts (nil: time.Now).
	Now func() time.Time
}

// New connects to the cluster c.Kubeconfig names ("": $KUBECONFIG, then
// ~/.kube/config).
func New(c Config) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if c.Kubeconfig != "" {
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig}
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		where := c.Kubeconfig
		if where == "" {
			where = "$KUBECONFIG or ~/.kube/config"
		}
		return nil, &usererr.Error{Msg: fmt.Sprintf("kube: read kubeconfig %s: %s", where, oneLine(err.Error())),
			Hint: "set [kube] kubeconfig in the server config to a kubeconfig file of the cluster", Err: err}
	}
	return NewForConfig(rc)
}

// NewForConfig is a Client of the API server rc describes.
func NewForConfig(rc *rest.Config) (*Client, error) {
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "gitship"
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 20, 40
	}
	hc, err := rest.HTTPClientFor(rc)
	if err != nil {
		return nil, fmt.Errorf("kube: client of %s: %w", rc.Host, err)
	}
	dyn, err := dynamic.NewForConfigAndClient(rc, hc)
	if err != nil {
		return nil, fmt.Errorf("kube: client of %s: %w", rc.Host, err)
	}
	return &Client{dyn: dyn, http: hc, host: strings.TrimSuffix(rc.Host, "/")}, nil
}

// kinds maps what gitship applies and reads to its API resource.
var kinds = map[string]struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}{
	"Namespace":             {schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false},
	"Secret":                {schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, true},
	"PersistentVolumeClaim": {schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}, true},
	"Service":               {schema.GroupVersionResource{Version: "v1", Resource: "services"}, true},
	"Pod":                   {schema.GroupVersionResource{Version: "v1", Resource: "pods"}, true},
	"Event":                 {schema.GroupVersionResource{Version: "v1", Resource: "events"}, true},
	"Deployment":            {schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true},
	"Job":                   {schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, true},
	"CronJob":               {schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, true},
	"Ingress":               {schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}, true},
}

func (c *Client) resource(kind, ns string) dynamic.ResourceInterface {
	k := kinds[kind]
	if !k.namespaced {
		return c.dyn.Resource(k.gvr)
	}
	return c.dyn.Resource(k.gvr).Namespace(ns)
}

// Apply applies objs in their order by server-side apply, as field
// manager gitship, taking over fields another manager set (gitship's
// release is what runs). Two kinds are special: a Namespace that exists
// and is not gitship's (or another instance's) is refused rather than
// taken; a PersistentVolumeClaim is created once and never changed
// afterwards, so that no rollback to a release with another data_size or
// storage_class can touch the app's data.
func (c *Client) Apply(ctx context.Context, objs []Object) error {
	for _, o := range objs {
		kind := kindOf(o)
		if _, ok := kinds[kind]; !ok {
			return fmt.Errorf("kube: apply %s %s: not a kind gitship applies", kind, o.GetName())
		}
		m, err := manifest(o)
		if err != nil {
			return fmt.Errorf("kube: apply %w", err)
		}
		u := &unstructured.Unstructured{Object: m}
		res := c.resource(kind, o.GetNamespace())
		switch kind {
		case "Namespace":
			if err := c.claimNamespace(ctx, o); err != nil {
				return err
			}
		case "PersistentVolumeClaim":
			_, err := res.Create(ctx, u, metav1.CreateOptions{FieldManager: FieldManager})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("kube: create %s %s/%s: %w", kind, o.GetNamespace(), o.GetName(), err)
			}
			continue
		}
		if _, err := res.Apply(ctx, o.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
			return fmt.Errorf("kube: apply %s %s: %w", kind, path(o), err)
		}
	}
	return nil
}

// claimNamespace refuses a namespace that exists and is not this
// gitship's: an app named like a namespace someone else uses must not
// take it over.
func (c *Client) claimNamespace(ctx context.Context, o Object) error {
	got, err := c.resource("Namespace", "").Get(ctx, o.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kube: get namespace %s: %w", o.GetName(), err)
	}
	l := got.GetLabels()
	want := o.GetLabels()[LabelInstance]
	if l[LabelManagedBy] != ManagedBy || l[LabelApp] != o.GetName() {
		return usererr.New(fmt.Sprintf("kube: namespace %s exists and is not gitship's (no label %s=%s)", o.GetName(), LabelManagedBy, ManagedBy),
			"give the app another name, or label the namespace if it is meant for gitship")
	}
	if want != "" && l[LabelInstance] != "" && l[LabelInstance] != want {
		return usererr.New(fmt.Sprintf("kube: namespace %s belongs to another gitship (instance %s, this is %s)", o.GetName(), l[LabelInstance], want),
			"give the app another name on this server")
	}
	return nil
}

// pruned are the kinds Prune removes when a release no longer has them.
// Never the namespace nor the claim (the app's data), nor Jobs (they
// expire on their own, and say what a release command did).
var pruned = []string{"Deployment", "CronJob", "Ingress", "Service", "Secret"}

// Prune deletes the app's gitship objects of the pruned kinds that keep
// does not name: a process type scaled to 0 or gone from the Procfile, a
// cron job gone from app.json, the Ingress of an app left without
// domains, the Secrets of earlier releases. Call it after a release's
// rollout succeeded: pods of the previous release still read its Secret
// while they run, and an undo re-applies that release's objects, Secret
// included. Only objects labelled by gitship for app (and instance, if
// keep's have one) are looked at.
func (c *Client) Prune(ctx context.Context, app string, keep []Object) ([]string, error) {
	want := map[string]bool{}
	instance := ""
	for _, o := range keep {
		want[kindOf(o)+"/"+o.GetName()] = true
		if i := o.GetLabels()[LabelInstance]; i != "" {
			instance = i
		}
	}
	sel := selector(app, instance)
	var gone []string
	for _, kind := range pruned {
		list, err := c.resource(kind, app).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return gone, fmt.Errorf("kube: list %ss of %s: %w", strings.ToLower(kind), app, err)
		}
		for _, item := range list.Items {
			if want[kind+"/"+item.GetName()] {
				continue
			}
			bg := metav1.DeletePropagationBackground
			err := c.resource(kind, app).Delete(ctx, item.GetName(), metav1.DeleteOptions{PropagationPolicy: &bg})
			if err != nil && !apierrors.IsNotFound(err) {
				return gone, fmt.Errorf("kube: delete %s %s/%s: %w", kind, app, item.GetName(), err)
			}
			gone = append(gone, kind+"/"+item.GetName())
		}
	}
	return gone, nil
}

func selector(app, instance string) string {
	s := LabelManagedBy + "=" + ManagedBy + "," + LabelApp + "=" + app
	if instance != "" {
		s += "," + LabelInstance + "=" + instance
	}
	return s
}

// Deployments are app's gitship Deployments, by name.
func (c *Client) Deployments(ctx context.Context, app string) ([]appsv1.Deployment, error) {
	return listOf[appsv1.Deployment](ctx, c, "Deployment", app, selector(app, ""))
}

// Pods are app's pods (web, workers, release and cron jobs), by name.
func (c *Client) Pods(ctx context.Context, app string) ([]corev1.Pod, error) {
	return c.pods(ctx, app, LabelApp+"="+app)
}

func (c *Client) pods(ctx context.Context, ns, sel string) ([]corev1.Pod, error) {
	return listOf[corev1.Pod](ctx, c, "Pod", ns, sel)
}

// listOf lists kind in namespace ns, by name, decoded into T.
func listOf[T any](ctx context.Context, c *Client, kind, ns, sel string) ([]T, error) {
	list, err := c.resource(kind, ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("kube: list %ss of %s: %w", strings.ToLower(kind), ns, err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].GetName() < list.Items[j].GetName() })
	out := make([]T, len(list.Items))
	for i := range list.Items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, &out[i]); err != nil {
			return nil, fmt.Errorf("kube: decode %s %s/%s: %w", kind, ns, list.Items[i].GetName(), err)
		}
	}
	return out, nil
}

// getOf gets kind ns/name decoded into T (errors as the API gives them,
// so that apierrors.IsNotFound works).
func getOf[T any](ctx context.Context, c *Client, kind, ns, name string) (*T, error) {
	u, err := c.resource(kind, ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var out T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &out); err != nil {
		return nil, fmt.Errorf("kube: decode %s %s/%s: %w", kind, ns, name, err)
	}
	return &out, nil
}

// Logs writes the output of pod's container (tail: its last lines, 0:
// all) to w, following it while it runs if follow is set.
func (c *Client) Logs(ctx context.Context, app, pod string, tail int, follow bool, w io.Writer) error {
	url := fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s/log", c.host, app, pod)
	q := []string{}
	if tail > 0 {
		q = append(q, fmt.Sprintf("tailLines=%d", tail))
	}
	if follow {
		q = append(q, "follow=true")
	}
	if len(q) > 0 {
		url += "?" + strings.Join(q, "&")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("kube: logs of %s/%s: %w", app, pod, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("kube: logs of %s/%s: %w", app, pod, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096)) // best effort: the status says enough
		return fmt.Errorf("kube: logs of %s/%s: %s: %s", app, pod, resp.Status, statusMessage(body))
	}
	if _, err := io.Copy(w, resp.Body); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("kube: logs of %s/%s: %w", app, pod, err)
	}
	return nil
}

// statusMessage is the message of the API's Status in body, or body's
// first line when it is not one.
func statusMessage(body []byte) string {
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Message != "" {
		return oneLine(st.Message)
	}
	return oneLine(string(body))
}

func path(o Object) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
