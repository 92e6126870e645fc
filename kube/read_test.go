package kube

import (
	"context"
	"io"
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

// A refused log read is one line with the API's message, not its JSON.
func TestLogsErrorIsTheMessage(t *testing.T) {
	f := newFakeAPI(t)
	c := f.client(t)
	f.fail["GET pods"] = apiError{code: 404}
	err := c.Logs(context.Background(), "shop", "shop-web-1", 10, false, io.Discard)
	want := "kube: logs of shop/shop-web-1: 404 Not Found: forbidden by the test"
	if err == nil || err.Error() != want {
		t.Errorf("Logs error = %v, want %q", err, want)
	}
}
