package kube

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitship/gitship/internal/usererr"
)

// Port is the TCP port an app listens on ($PORT), as on this host.
const Port = 5000

// DataMount is where the app's claim is mounted ($GITSHIP_DATA).
const DataMount = "/data"

// DefaultReplicas is how many pods a process type runs unless Scale says
// otherwise: web and every worker alike, as state.DefaultCount on this
// host.
const DefaultReplicas = 1

// Labels and annotations gitship puts on what it applies.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by" // "gitship" on everything
	ManagedBy      = "gitship"
	LabelApp       = "gitship.app"
	LabelRelease   = "gitship.release" // v7; not on the Namespace and the claim, which outlive releases
	LabelProcess   = "gitship.process" // web, worker, release, cron
	LabelInstance  = "gitship.instance"
	AnnotCommit    = "gitship.commit"
	annotIssuer    = "cert-manager.io/cluster-issuer"
)

// Release is one gitship release as the cluster gets it: what the record
// of vN holds, resolved (commands to argv, limits to numbers).
type Release struct {
	App     string // the namespace too
	Version string // "v7"
	Commit  string
	// Image is the pushed image by digest (REGISTRY/APP@sha256:...), so
	// that re-applying vN runs exactly vN's image.
	Image string
	// Env is the app's environment: it goes into the release's Secret,
	// never into a pod spec in clear.
	Env map[string]string
	// Processes are the Procfile's types and their argv ("release"
	// aside: ReleaseCommand). A nil argv is the image's own command (web
	// without a Procfile). Web runs whether listed or not.
	Processes map[string][]string
	// Scale is how many pods each type runs; a type not in it runs
	// DefaultReplicas, one of 0 runs none (web needs at least one).
	Scale map[string]int
	// Memory (bytes) and CPUs (cores) are each container's limits; 0 is
	// none.
	Memory int64
	CPUs   float64
	// HealthPath is what web's readiness probe asks for over $PORT.
	HealthPath string
	// HealthTimeout bounds a rollout (the Deployments' progress
	// deadline).
	HealthTimeout time.Duration
	// Domains are the hosts the Ingress routes to web (the app's served
	// domains); the first is the Host header of the readiness probe.
	Domains []string
	// ReleaseCommand is the Procfile's release argv (nil: no Job) and
	// ReleaseTimeout its deadline (0: none).
	ReleaseCommand []string
	ReleaseTimeout time.Duration
	// Cron are the app.json jobs, run in pods of this release.
	Cron []CronJob
	// Instance is the gitship instance's short name (config.Instance):
	// labelled on everything so that Prune and Apply leave another
	// instance's objects alone ("": not labelled).
	Instance string
}

// CronJob is one app.json job.
type CronJob struct {
	ID       string // 8 hex, stable while schedule and command are
	Schedule string // five-field cron, as app.json has it
	Command  []string
}

// Config is what the server config's [kube] table says about the objects.
type Config struct {
	Kubeconfig    string // "": $KUBECONFIG, then ~/.kube/config
	IngressClass  string // "": the cluster's default class
	StorageClass  string // "": the cluster's default class
	DataSize      string // a quantity, e.g. 1Gi
	ClusterIssuer string // cert-manager ClusterIssuer; "": no TLS section
}

// Object is a Kubernetes object gitship renders and applies (the shape of
// controller-runtime's client.Object).
type Object interface {
	metav1.Object
	runtime.Object
}

// Objects are one release's objects, in the groups the push applies them
// in: Before (the namespace, the claim, the release's Secret), then the
// release Job, which must succeed before Rollout (Deployments, Service,
// Ingress, CronJobs) changes what runs.
type Objects struct {
	Namespace   *corev1.Namespace
	Claim       *corev1.PersistentVolumeClaim
	Secret      *corev1.Secret
	ReleaseJob  *batchv1.Job // nil without a release command
	Deployments []*appsv1.Deployment
	Service     *corev1.Service
	Ingress     *networkingv1.Ingress // nil without domains
	CronJobs    []*batchv1.CronJob
}

// Before are the objects the release Job needs: applied first.
func (o *Objects) Before() []Object { return []Object{o.Namespace, o.Claim, o.Secret} }

// Rollout are the objects that change what runs: applied once the release
// Job succeeded, then waited for (WaitRollout); a rollback applies Before
// and Rollout of the earlier release, without its Job.
func (o *Objects) Rollout() []Object {
	var out []Object
	for _, d := range o.Deployments {
		out = append(out, d)
	}
	out = append(out, o.Service)
	if o.Ingress != nil {
		out = append(out, o.Ingress)
	}
	for _, c := range o.CronJobs {
		out = append(out, c)
	}
	return out
}

// All are every object in the order they are applied: what `gitship
// export --kube` prints.
func (o *Objects) All() []Object {
	out := o.Before()
	if o.ReleaseJob != nil {
		out = append(out, o.ReleaseJob)
	}
	return append(out, o.Rollout()...)
}

var (
	// reserved are namespaces an app may not take: the cluster's own.
	reserved  = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true}
	dnsLabel  = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,28}[a-z0-9])?$`)
	digestRef = regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)
	envKey    = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	typeLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// TypeName is the object name part of a Procfile process type: Kubernetes
// names are lowercase DNS labels, a Procfile type may hold capitals and _.
func TypeName(typ string) string { return strings.ReplaceAll(strings.ToLower(typ), "_", "-") }

// Render turns release r into its objects. It refuses, with one line, what
// the cluster would refuse later or what would take what is not the
// app's: a namespace of the cluster's own, an image not by digest, two
// process types with one object name, web scaled to 0.
func Render(r Release, c Config) (*Objects, error) {
	if err := check(r); err != nil {
		return nil, err
	}
	size, err := resource.ParseQuantity(c.DataSize)
	if err != nil || size.Sign() <= 0 {
		return nil, fmt.Errorf("kube data_size %q: not a quantity above 0 (e.g. 1Gi)", c.DataSize)
	}
	secret := r.App + "-env-" + r.Version
	o := &Objects{
		Namespace: &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: r.App, Labels: r.labels(false)},
		},
		Claim: &corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: r.meta(r.App+"-data", false),
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: optional(c.StorageClass),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
			},
		},
		Secret: &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: r.meta(secret, true),
			// vN's Secret never changes: re-applying vN restores vN's
			// environment exactly, and a new environment is a new release
			// with a Secret of its own.
			Immutable: ptr(true),
			Type:      corev1.SecretTypeOpaque,
			Data:      map[string][]byte{},
		},
	}
	for k, v := range r.Env {
		o.Secret.Data[k] = []byte(v)
	}
	for _, typ := range r.types() {
		n := r.replicas(typ)
		if n == 0 {
			continue // a type scaled to 0 has no Deployment: Prune removes the one it had
		}
		o.Deployments = append(o.Deployments, r.deployment(typ, int32(n), secret))
	}
	o.Service = &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: r.meta(r.App+"-web", true),
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{LabelApp: r.App, LabelProcess: "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	if len(r.Domains) > 0 {
		o.Ingress = r.ingress(c)
	}
	if r.ReleaseCommand != nil {
		pod := r.pod("release", r.ReleaseCommand, secret, corev1.RestartPolicyNever)
		o.ReleaseJob = &batchv1.Job{
			TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: r.meta(r.App+"-release-"+r.Version, true),
			Spec: batchv1.JobSpec{
				BackoffLimit: ptr(int32(0)),
				// a day to read what it said; then it does not pile up
				TTLSecondsAfterFinished: ptr(int32(24 * 3600)),
				ActiveDeadlineSeconds:   seconds[int64](r.ReleaseTimeout),
				Template:                pod,
			},
		}
		o.ReleaseJob.Labels[LabelProcess] = "release"
	}
	for _, j := range r.Cron {
		pod := r.pod("cron", j.Command, secret, corev1.RestartPolicyNever)
		pod.Labels["gitship.cron"] = j.ID
		cj := &batchv1.CronJob{
			TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
			ObjectMeta: r.meta(r.App+"-cron-"+j.ID, true),
			Spec: batchv1.CronJobSpec{
				Schedule:                   j.Schedule,
				ConcurrencyPolicy:          batchv1.ForbidConcurrent,
				SuccessfulJobsHistoryLimit: ptr(int32(1)),
				FailedJobsHistoryLimit:     ptr(int32(1)),
				JobTemplate: batchv1.JobTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: pod.Labels},
					Spec:       batchv1.JobSpec{BackoffLimit: ptr(int32(0)), Template: pod},
				},
			},
		}
		cj.Labels[LabelProcess] = "cron"
		o.CronJobs = append(o.CronJobs, cj)
	}
	sort.Slice(o.CronJobs, func(i, j int) bool { return o.CronJobs[i].Name < o.CronJobs[j].Name })
	return o, nil
}

// check refuses a release the cluster cannot take as it is.
func check(r Release) error {
	if !dnsLabel.MatchString(r.App) {
		return fmt.Errorf("app %q: not a name gitship gives an app", r.App)
	}
	if reserved[r.App] || strings.HasPrefix(r.App, "kube-") {
		return usererr.New(fmt.Sprintf("app %s cannot run on Kubernetes: its namespace would be the cluster's own %q", r.App, r.App),
			"use another app name for target=kube")
	}
	if !digestRef.MatchString(r.Image) {
		return fmt.Errorf("release %s of %s: image %q is not a reference by digest (NAME@sha256:...)", r.Version, r.App, r.Image)
	}
	for k := range r.Env {
		if !envKey.MatchString(k) {
			return usererr.New(fmt.Sprintf("environment key %q of %s cannot go into a Kubernetes Secret", k, r.App),
				"use letters, digits, -, _ and . only")
		}
	}
	if r.replicas("web") < 1 {
		return fmt.Errorf("release %s of %s: web scaled to %d: at least one web pod must run", r.Version, r.App, r.replicas("web"))
	}
	seen := map[string]string{}
	for _, typ := range r.types() {
		n := TypeName(typ)
		if !typeLabel.MatchString(n) {
			return usererr.New(fmt.Sprintf("Procfile type %s of %s cannot be a Kubernetes name (%s)", typ, r.App, n),
				"start and end the type with a letter or digit")
		}
		if other, ok := seen[n]; ok {
			return usererr.New(fmt.Sprintf("Procfile types %s and %s of %s have one Kubernetes name, %s-%s", other, typ, r.App, r.App, n),
				"rename one of them")
		}
		seen[n] = typ
	}
	return nil
}

// types are web, then the workers in name order.
func (r Release) types() []string {
	out := []string{"web"}
	var workers []string
	for typ := range r.Processes {
		if typ != "web" && typ != "release" {
			workers = append(workers, typ)
		}
	}
	sort.Strings(workers)
	return append(out, workers...)
}

func (r Release) replicas(typ string) int {
	if n, ok := r.Scale[typ]; ok && n >= 0 {
		return n
	}
	return DefaultReplicas
}

// labels are what every object of the app carries; perRelease adds the
// release (not on the namespace and the claim, which every release
// shares).
func (r Release) labels(perRelease bool) map[string]string {
	l := map[string]string{LabelManagedBy: ManagedBy, "app.kubernetes.io/name": r.App, LabelApp: r.App}
	if perRelease {
		l[LabelRelease] = r.Version
	}
	if r.Instance != "" {
		l[LabelInstance] = r.Instance
	}
	return l
}

func (r Release) meta(name string, perRelease bool) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: r.App, Labels: r.labels(perRelease)}
}

func (r Release) deployment(typ string, replicas int32, secret string) *appsv1.Deployment {
	name := r.App + "-" + TypeName(typ)
	pod := r.pod(typ, r.Processes[typ], secret, corev1.RestartPolicyAlways)
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: r.meta(name, true),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(replicas),
			// the release's labels change every release: the selector,
			// which may never change, holds the stable ones only
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelApp: r.App, LabelProcess: typ}},
			Template: pod,
			// no pod of the running release goes before its successor is
			// ready: the switch loses no request
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr(intstr.FromInt32(0)),
					MaxSurge:       ptr(intstr.FromInt32(1)),
				},
			},
			// gitship rolls back by applying an earlier release: old
			// ReplicaSets are kept for kubectl's eyes only
			RevisionHistoryLimit:    ptr(int32(2)),
			ProgressDeadlineSeconds: seconds[int32](r.HealthTimeout),
		},
	}
	d.Labels[LabelProcess] = typ
	d.Annotations = map[string]string{AnnotCommit: r.Commit}
	return d
}

// pod is the pod template of a process of type typ running argv (nil:
// the image's command): the release's env from its Secret, gitship's own
// variables, /data from the claim, the limits. Web also gets $PORT and
// the readiness probe.
func (r Release) pod(typ string, argv []string, secret string, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	labels := r.labels(true)
	labels[LabelProcess] = typ
	labels["app.kubernetes.io/component"] = TypeName(typ)
	labels["app.kubernetes.io/version"] = r.Version
	env := []corev1.EnvVar{
		{Name: "GITSHIP_APP", Value: r.App},
		{Name: "GITSHIP_RELEASE", Value: r.Version},
		{Name: "GITSHIP_COMMIT", Value: r.Commit},
		{Name: "GITSHIP_DATA", Value: DataMount},
	}
	ct := corev1.Container{
		Name:    TypeName(typ),
		Image:   r.Image,
		Command: argv,
		// the app's environment first, gitship's after it: env wins over
		// envFrom, so GITSHIP_* and PORT stay gitship's (as on this host)
		EnvFrom:      []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: secret}}}},
		Env:          env,
		VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: DataMount}},
		Resources:    r.limits(),
	}
	if typ == "web" {
		ct.Env = append(ct.Env, corev1.EnvVar{Name: "PORT", Value: strconv.Itoa(Port)})
		ct.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: Port, Protocol: corev1.ProtocolTCP}}
		get := &corev1.HTTPGetAction{Path: r.HealthPath, Port: intstr.FromString("http")}
		if len(r.Domains) > 0 {
			// the app sees the Host it is served under, as the health
			// check on this host sends it (an app checking its allowed
			// hosts answers 400 to a pod IP)
			get.HTTPHeaders = []corev1.HTTPHeader{{Name: "Host", Value: r.Domains[0]}}
		}
		ct.ReadinessProbe = &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: get},
			PeriodSeconds:    2,
			TimeoutSeconds:   2,
			FailureThreshold: 3,
		}
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{AnnotCommit: r.Commit}},
		Spec: corev1.PodSpec{
			Containers:    []corev1.Container{ct},
			RestartPolicy: restart,
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: r.App + "-data"},
			}}},
			// no FOO_SERVICE_HOST variables of other services in the
			// app's environment, no API token it has no use for
			EnableServiceLinks:           ptr(false),
			AutomountServiceAccountToken: ptr(false),
		},
	}
}

func (r Release) limits() corev1.ResourceRequirements {
	l := corev1.ResourceList{}
	if r.Memory > 0 {
		l[corev1.ResourceMemory] = *resource.NewQuantity(r.Memory, resource.BinarySI)
	}
	if r.CPUs > 0 {
		l[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(r.CPUs*1000+0.5), resource.DecimalSI)
	}
	if len(l) == 0 {
		return corev1.ResourceRequirements{}
	}
	return corev1.ResourceRequirements{Limits: l}
}

func (r Release) ingress(c Config) *networkingv1.Ingress {
	in := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: r.meta(r.App, true),
		Spec:       networkingv1.IngressSpec{IngressClassName: optional(c.IngressClass)},
	}
	prefix := networkingv1.PathTypePrefix
	for _, d := range r.Domains {
		in.Spec.Rules = append(in.Spec.Rules, networkingv1.IngressRule{
			Host: d,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: r.App + "-web", Port: networkingv1.ServiceBackendPort{Name: "http"}},
				}}},
			}},
		})
	}
	if c.ClusterIssuer != "" {
		in.Annotations = map[string]string{annotIssuer: c.ClusterIssuer}
		in.Spec.TLS = []networkingv1.IngressTLS{{Hosts: r.Domains, SecretName: r.App + "-tls"}}
	}
	return in
}

func ptr[T any](v T) *T { return &v }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// seconds is d in whole seconds, at least 1 (nil for 0: none).
func seconds[T int32 | int64](d time.Duration) *T {
	if d <= 0 {
		return nil
	}
	s := T((d + time.Second - 1) / time.Second)
	return &s
}
