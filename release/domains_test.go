package release

import (
	"context"
	"strings"
	"testing"

	"github.com/gitship/gitship/state"
)

func TestAddDomainIsAConfigRelease(t *testing.T) {
	e := newOsEnv(t)
	v1 := e.mustDeploy(t, sha1)
	builds := len(e.b.reqs)
	var out strings.Builder
	if err := e.d.AddDomain(context.Background(), "demo", "shop.example.org", &out); err != nil {
		t.Fatalf("AddDomain: %v\n%s", err, out.String())
	}
	r, err := e.store.Get("demo", 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != state.KindConfig || r.Image != v1.Image || r.Status != state.StatusLive || len(e.b.reqs) != builds {
		t.Errorf("v2 kind %s image %s status %s, %d builds; want a live config release of v1's image, no build", r.Kind, r.Image, r.Status, len(e.b.reqs)-builds)
	}
	if !strings.Contains(e.lastConf(t), "server_name demo.example.com shop.example.org;") {
		t.Errorf("nginx does not serve the new domain beside the old one:\n%s", e.lastConf(t))
	}
	if ds, _ := e.d.Domains("demo"); len(ds) != 2 || ds[1] != "shop.example.org" {
		t.Errorf("domains %v", ds)
	}
	if err := e.d.AddDomain(context.Background(), "demo", "Bad_Domain", &out); err == nil || !strings.Contains(err.Error(), `invalid domain "Bad_Domain"`) {
		t.Errorf("bad domain: %v", err)
	}
	if err := e.d.RemoveDomain(context.Background(), "demo", "shop.example.org", &out); err != nil {
		t.Fatal(err)
	}
	if ds, _ := e.d.Domains("demo"); len(ds) != 1 || ds[0] != "demo.example.com" {
		t.Errorf("after remove: %v, want the default demo.example.com", ds)
	}
	if err := e.d.RemoveDomain(context.Background(), "demo", "nope.example.org", &out); err == nil {
		t.Error("removing a domain the app does not have succeeded")
	}
}

func TestAddDomainOfAnotherApp(t *testing.T) {
	e := newMemEnv(t)
	if err := state.SaveApp(e.d.Fs, e.d.Config.AppsDir(), &state.App{Name: "other", Settings: state.Settings{Branch: "main", Domains: []string{"taken.example.org"}}}); err != nil {
		t.Fatal(err)
	}
	err := e.d.AddDomain(context.Background(), "demo", "taken.example.org", &strings.Builder{})
	if err == nil || err.Error() != "domain taken.example.org is served by app other already (remove it there first)" {
		t.Fatalf("err = %v", err)
	}
	// the default APP.<domain> of another app counts too
	err = e.d.AddDomain(context.Background(), "demo", "other.example.com", &strings.Builder{})
	if err != nil {
		t.Fatalf("other has its own domains, so other.example.com is free: %v", err)
	}
	// without a live release the change waits for the first push
	a := e.app(t)
	if len(a.Domains) != 2 || a.Domains[1] != "other.example.com" {
		t.Errorf("domains %v", a.Domains)
	}
	if list, _ := e.store.List("demo"); len(list) != 0 {
		t.Errorf("a release was made without a live one: %d records", len(list))
	}
}
