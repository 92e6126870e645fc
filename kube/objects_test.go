package kube

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/internal/usererr"
)

var update = flag.Bool("update", false, "rewrite testdata/*.yaml")

const digest = "registry.example.com/team/shop@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// full is a release with every part: workers (one scaled to 0), limits,
// a release command, cron jobs, domains with TLS.
func full() Release {
	return Release{
		App: "shop", Version: "v7", Commit: "0123456789abcdef0123456789abcdef01234567", Image: digest,
		Env: map[string]string{"DATABASE_URL": "postgres://db/shop", "SECRET_KEY": "s3cret"},
		Processes: map[string][]string{
			"web":      {"/bin/sh", "-c", "gunicorn app:app --bind 0.0.0.0:$PORT"},
			"worker":   {"python", "worker.py"},
			"Clock_2":  {"python", "clock.py"},
			"disabled": {"true"},
			"release":  {"/bin/sh", "-c", "python migrate.py"},
		},
		Scale:      map[string]int{"web": 2, "disabled": 0},
		Memory:     512 << 20,
		CPUs:       0.5,
		HealthPath: "/healthz", HealthTimeout: 90 * time.Second,
		Domains:        []string{"shop.example.com", "www.shop.example.com"},
		ReleaseCommand: []string{"/bin/sh", "-c", "python migrate.py"},
		ReleaseTimeout: 10 * time.Minute,
		Cron: []CronJob{
			{ID: "b2c3d4e5", Schedule: "0 3 * * *", Command: []string{"python", "nightly.py"}},
			{ID: "a1b2c3d4", Schedule: "*/5 * * * *", Command: []string{"python", "tick.py"}},
		},
		Instance: "a1b2c3",
	}
}

// TestRenderGolden renders releases and compares their YAML with
// testdata/NAME.yaml (go test ./kube -update rewrites them).
func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		r    Release
		c    Config
	}{
		{
			// no Procfile, no limits, no release command: web with the
			// image's own command, served at its default domain
			name: "minimal",
			r: Release{App: "blog", Version: "v1", Commit: "89abcdef0123456789abcdef0123456789abcdef", Image: digest,
				HealthPath: "/", HealthTimeout: time.Minute, Domains: []string{"blog.example.com"}},
			c: Config{DataSize: "1Gi"},
		},
		{
			name: "full",
			r:    full(),
			c:    Config{DataSize: "5Gi", IngressClass: "nginx", StorageClass: "fast", ClusterIssuer: "letsencrypt"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Render(tt.r, tt.c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := YAML(o.All())
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join("testdata", tt.name+".yaml")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("YAML mismatch (run go test ./kube -update and review the diff)\n--- got ---\n%s", got)
			}
			again, err := YAML(o.All())
			if err != nil || string(again) != string(got) {
				t.Errorf("a second YAML of the same objects differs (err %v)", err)
			}
		})
	}
}

// TestRenderRules checks the mapping's rules one by one, beside the
// golden files that show them whole.
func TestRenderRules(t *testing.T) {
	o, err := Render(full(), Config{DataSize: "1Gi"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range o.Deployments {
		names = append(names, d.Name)
	}
	if got := strings.Join(names, " "); got != "shop-web shop-clock-2 shop-worker" {
		t.Errorf("Deployments = %s, want web first, then the workers but the one scaled to 0", got)
	}
	web := o.Deployments[0]
	if *web.Spec.Replicas != 2 || *o.Deployments[2].Spec.Replicas != DefaultReplicas {
		t.Errorf("replicas web %d worker %d, want 2 (scaled) and 1 (default)", *web.Spec.Replicas, *o.Deployments[2].Spec.Replicas)
	}
	ru := web.Spec.Strategy.RollingUpdate
	if ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge.IntValue() != 1 {
		t.Errorf("rolling update = %+v, want maxUnavailable 0, maxSurge 1", ru)
	}
	ct := web.Spec.Template.Spec.Containers[0]
	if ct.Image != digest || ct.ReadinessProbe == nil || ct.ReadinessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("web container = %+v", ct)
	}
	for _, d := range o.Deployments {
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			if e.Name == "SECRET_KEY" || strings.Contains(e.Value, "s3cret") {
				t.Errorf("%s has the app's environment in clear: %+v", d.Name, e)
			}
		}
		if from := d.Spec.Template.Spec.Containers[0].EnvFrom; len(from) != 1 || from[0].SecretRef.Name != "shop-env-v7" {
			t.Errorf("%s envFrom = %+v, want the Secret shop-env-v7", d.Name, from)
		}
	}
	if string(o.Secret.Data["SECRET_KEY"]) != "s3cret" || !*o.Secret.Immutable {
		t.Errorf("Secret = %+v", o.Secret)
	}
	if o.ReleaseJob == nil || *o.ReleaseJob.Spec.BackoffLimit != 0 || o.ReleaseJob.Spec.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("release job = %+v", o.ReleaseJob)
	}
	if len(o.CronJobs) != 2 || o.CronJobs[0].Name != "shop-cron-a1b2c3d4" || o.CronJobs[0].Spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("cron jobs = %+v", o.CronJobs)
	}
	if o.Ingress.Spec.TLS != nil || o.Ingress.Annotations != nil {
		t.Errorf("Ingress without cluster_issuer has TLS: %+v", o.Ingress)
	}
	if got := len(o.All()); got != 3+1+3+2+2 {
		t.Errorf("All has %d objects", got)
	}
	for _, obj := range o.All() {
		if obj.GetLabels()[LabelManagedBy] != ManagedBy || obj.GetLabels()[LabelInstance] != "a1b2c3" {
			t.Errorf("%s %s labels = %v", kindOf(obj), obj.GetName(), obj.GetLabels())
		}
	}
	if _, ok := o.Claim.Labels[LabelRelease]; ok {
		t.Errorf("the claim carries a release label: %v", o.Claim.Labels)
	}
}

func TestRenderRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Release, *Config)
		want string
		user bool // a usererr for the person at the terminal
	}{
		{"cluster namespace", func(r *Release, _ *Config) { r.App = "default" }, `its namespace would be the cluster's own "default"`, true},
		{"kube- namespace", func(r *Release, _ *Config) { r.App = "kube-x" }, "the cluster's own", true},
		{"tag not digest", func(r *Release, _ *Config) { r.Image = "registry.example.com/team/shop:v7" }, "not a reference by digest", false},
		{"web scaled to 0", func(r *Release, _ *Config) { r.Scale = map[string]int{"web": 0} }, "at least one web pod", false},
		{"types of one name", func(r *Release, _ *Config) { r.Processes["clock-2"] = []string{"x"} }, "Procfile types Clock_2 and clock-2 of shop have one Kubernetes name, shop-clock-2", true},
		{"type not a name", func(r *Release, _ *Config) { r.Processes["_tick"] = []string{"x"} }, "Procfile type _tick of shop cannot be a Kubernetes name (-tick)", true},
		{"env key", func(r *Release, _ *Config) { r.Env["A B"] = "x" }, `environment key "A B"`, true},
		{"data size", func(_ *Release, c *Config) { c.DataSize = "1GB" }, `kube data_size "1GB"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := full(), Config{DataSize: "1Gi"}
			tt.edit(&r, &c)
			_, err := Render(r, c)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Render = %v, want one line containing %q", err, tt.want)
			}
			var ue *usererr.Error
			if errors.As(err, &ue) != tt.user {
				t.Errorf("usererr = %v, want %v", !tt.user, tt.user)
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	for _, l := range []string{"port", ""} {
		if err := CheckListen("shop", l); err != nil {
			t.Errorf("CheckListen(%q) = %v", l, err)
		}
	}
	err := CheckListen("shop", "socket")
	var ue *usererr.Error
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "must listen on $PORT (5000)") {
		t.Errorf("CheckListen(socket) = %v, want a usererr naming $PORT", err)
	}
}
