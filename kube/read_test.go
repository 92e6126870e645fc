package kube

import (
	"context"
	"slices"
	"testing"
)

// Ingresses reads back the hosts of the app's applied Ingress.
func TestIngresses(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client(t)
	ctx := context.Background()
	r := full()
	o := render(t, r, Config{DataSize: "1Gi"})
	apply(t, c, append(o.Before(), o.Rollout()...))
	list, err := c.Ingresses(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("Ingresses = %d, want 1", len(list))
	}
	var hosts []string
	for _, rule := range list[0].Spec.Rules {
		hosts = append(hosts, rule.Host)
	}
	if !slices.Equal(hosts, r.Domains) {
		t.Errorf("hosts = %v, want %v", hosts, r.Domains)
	}
}
