package release

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitship/gitship/internal/testenv"
	"github.com/gitship/gitship/state"
)

// saveOther stores app name with domains (nil: served at NAME.<domain>).
func saveOther(t *testing.T, d *Deployer, name string, domains ...string) {
	t.Helper()
	if err := state.SaveApp(d.Fs, d.Config.AppsDir(), &state.App{Name: name, Settings: state.Settings{Branch: "main", Domains: domains}}); err != nil {
		t.Fatal(err)
	}
}

// refusedInit checks that a refused Init of app created nothing of it.
func refusedInit(t *testing.T, root, app string) {
	t.Helper()
	for _, p := range []string{filepath.Join(root, "repos", app+".git"), filepath.Join(root, "apps", app)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a refused init (%v)", p, err)
		}
	}
}

func TestInitRefusesTakenDomain(t *testing.T) {
	root := t.TempDir()
	d := newInitDeployer(t, root)
	saveOther(t, d, "other", "shop.example.org")
	_, err := d.Init(t.Context(), "demo", []string{"demo.example.org", "shop.example.org"}, initBin, initCfg)
	want := "cannot init demo: domain shop.example.org is served by app other already (remove it there first)"
	if err == nil || err.Error() != want {
		t.Fatalf("Init = %v\nwant %s", err, want)
	}
	var taken *TakenError
	if !errors.As(err, &taken) || taken.Owner != "other" {
		t.Errorf("error %v is not a *TakenError naming other", err)
	}
	refusedInit(t, root, "demo")

	// an existing app: its domains stay as they were
	if _, err := d.Init(t.Context(), "demo", []string{"demo.example.org"}, initBin, initCfg); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Init(t.Context(), "demo", []string{"shop.example.org"}, initBin, initCfg); err == nil {
		t.Fatal("Init of an existing app took another app's domain")
	}
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Domains, []string{"demo.example.org"}) {
		t.Errorf("domains %v after a refused Init, want [demo.example.org]", a.Domains)
	}
}

// TestInitRefusesTakenImplicitName: `init zed` would serve zed.<domain>,
// which another app serves as one of its own domains.
func TestInitRefusesTakenImplicitName(t *testing.T) {
	root := t.TempDir()
	d := newInitDeployer(t, root)
	saveOther(t, d, "other", "zed.example.com")
	_, err := d.Init(t.Context(), "zed", nil, initBin, initCfg)
	want := "cannot init zed: it would be served at zed.example.com, which app other serves already (give zed a --domain)"
	if err == nil || err.Error() != want {
		t.Fatalf("Init = %v\nwant %s", err, want)
	}
	refusedInit(t, root, "zed")
	if _, err := d.Init(t.Context(), "zed", []string{"zed.example.org"}, initBin, initCfg); err != nil {
		t.Fatalf("with a domain of its own: %v", err)
	}
}

// TestAddDomainHeldByLiveRelease: a domain another app's live release
// serves is held, even when that app's settings no longer name it (the
// next push would drop it, but nginx serves it now).
func TestAddDomainHeldByLiveRelease(t *testing.T) {
	e := newMemEnv(t)
	saveOther(t, e.d, "other")
	if err := e.store.Save(&state.Record{App: "other", Version: 1, Kind: state.KindPush, Commit: sha1, Status: state.StatusLive,
		Settings: state.Settings{Domains: []string{"shop.example.org"}}}); err != nil {
		t.Fatal(err)
	}
	before := e.app(t)
	var out strings.Builder
	err := e.d.AddDomain(t.Context(), "demo", "shop.example.org", &out)
	want := "domain shop.example.org is served by app other already (remove it there first)"
	if err == nil || err.Error() != want {
		t.Fatalf("AddDomain = %v\nwant %s", err, want)
	}
	if after := e.app(t); !slices.Equal(after.Domains, before.Domains) {
		t.Errorf("domains %v after a refused add", after.Domains)
	}
	if e.count(t) != 0 || len(e.px.installs) != 0 {
		t.Errorf("a refused add made %d records and %d nginx installs", e.count(t), len(e.px.installs))
	}
	// the implicit name of the other app is held too
	if err := e.d.AddDomain(t.Context(), "demo", "other.example.com", &out); err == nil {
		t.Error("AddDomain took other.example.com, which other serves")
	}
}

// TestRemoveDomainFallbackTaken: removing the last domain falls back to
// APP.<domain>, which another app may serve by now.
func TestRemoveDomainFallbackTaken(t *testing.T) {
	e := newMemEnv(t)
	e.editApp(t, func(a *state.App) { a.Domains = []string{"shop.example.org"} })
	saveOther(t, e.d, "other", "demo.example.com")
	err := e.d.RemoveDomain(t.Context(), "demo", "shop.example.org", &strings.Builder{})
	if err == nil || err.Error() != "domain demo.example.com is served by app other already (remove it there first)" {
		t.Fatalf("RemoveDomain = %v", err)
	}
	if a := e.app(t); !slices.Equal(a.Domains, []string{"shop.example.org"}) {
		t.Errorf("domains %v after a refused remove", a.Domains)
	}
}

// syncBuffer is a strings.Builder safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConcurrentAddDomain: two apps add one domain at once, with real
// flocks: the first holds the domains lock through its release, the
// second waits for it and is refused naming the first.
func TestConcurrentAddDomain(t *testing.T) {
	e := newOsEnv(t)
	e.d.Locker = FileLock{}
	e.mustDeploy(t, sha1)
	saveOther(t, e.d, "other")
	if _, err := e.d.Deploy(t.Context(), "other", "refs/heads/main", state.KindPush, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	outs := map[string]*syncBuffer{"demo": {}, "other": {}}
	// The first app to start its release waits there until the other
	// waits for the domains lock: both changes overlap.
	var once sync.Once
	e.d.Pause = func(ctx context.Context, step string) {
		if step != "start" {
			return
		}
		once.Do(func() {
			if err := testenv.Poll(10*time.Second, func() error {
				for _, o := range outs {
					if strings.Contains(o.String(), "Waiting for another app's domain change to finish") {
						return nil
					}
				}
				return errors.New("no app waits for the domains lock while the other releases")
			}); err != nil {
				t.Error(err)
			}
		})
	}
	var mu sync.Mutex
	errs := map[string]error{}
	var wg sync.WaitGroup
	for app := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.d.AddDomain(t.Context(), app, "shop.example.org", outs[app])
			mu.Lock()
			errs[app] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	first, loser := "demo", "other"
	if errs[first] != nil {
		first, loser = loser, first
	}
	if errs[first] != nil {
		t.Fatalf("neither add succeeded:\ndemo: %v\n%s\nother: %v\n%s", errs["demo"], outs["demo"], errs["other"], outs["other"])
	}
	want := "domain shop.example.org is served by app " + first + " already (remove it there first)"
	if errs[loser] == nil || errs[loser].Error() != want {
		t.Errorf("%s (second): %v\nwant %s\n%s", loser, errs[loser], want, outs[loser])
	}
	ds, err := e.d.Domains(loser)
	if err != nil || slices.Contains(ds, "shop.example.org") {
		t.Errorf("%s serves %v (%v)", loser, ds, err)
	}
}

// TestRollbackLeavesOutTakenDomain: v1 served shop.example.org, which
// another app serves since: the rollback happens without it, and says so.
func TestRollbackLeavesOutTakenDomain(t *testing.T) {
	e := newOsEnv(t)
	e.editApp(t, func(a *state.App) { a.Domains = []string{"shop.example.org", "www.demo.example.org"} })
	e.mustDeploy(t, sha1)
	e.editApp(t, func(a *state.App) { a.Domains = nil })
	e.mustDeploy(t, sha2)
	saveOther(t, e.d, "other", "shop.example.org")

	r, err, out := e.rollback(t, "v1")
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if !strings.Contains(out, "-----> domain shop.example.org is now served by other: left out\n") {
		t.Errorf("output does not say shop.example.org was left out:\n%s", out)
	}
	want := []string{"www.demo.example.org"}
	if !slices.Equal(r.Settings.Domains, want) || !slices.Equal(e.app(t).Domains, want) {
		t.Errorf("record domains %v, app domains %v, want %v", r.Settings.Domains, e.app(t).Domains, want)
	}
	conf := e.lastConf(t)
	if !strings.Contains(conf, "server_name www.demo.example.org;") || strings.Contains(conf, "shop.example.org") {
		t.Errorf("nginx config:\n%s", conf)
	}
	if got := e.live(t); got != "v3" {
		t.Errorf("live %s, want v3", got)
	}
}

// TestRollbackRefusedWithNoNameLeft: every domain of v1 is another app's
// now, and so is the APP.<domain> it would fall back to: refused, nothing
// changes.
func TestRollbackRefusedWithNoNameLeft(t *testing.T) {
	e := newOsEnv(t)
	e.editApp(t, func(a *state.App) { a.Domains = []string{"shop.example.org"} })
	e.mustDeploy(t, sha1)
	e.editApp(t, func(a *state.App) { a.Domains = []string{"new.example.org"} })
	e.mustDeploy(t, sha2)
	saveOther(t, e.d, "other", "shop.example.org", "demo.example.com")
	installs := len(e.px.installs)

	_, err, out := e.rollback(t, "v1")
	want := "cannot roll back demo to v1: demo.example.com is served by app other now"
	if err == nil || err.Error() != want {
		t.Fatalf("rollback = %v\nwant %s\n%s", err, want, out)
	}
	if e.count(t) != 2 || e.live(t) != "v2" || len(e.px.installs) != installs {
		t.Errorf("a refused rollback changed something: %d records, live %s, %d installs", e.count(t), e.live(t), len(e.px.installs)-installs)
	}
	if a := e.app(t); !slices.Equal(a.Domains, []string{"new.example.org"}) {
		t.Errorf("domains %v", a.Domains)
	}
}

func TestValidateDomainRefusesIP(t *testing.T) {
	for _, d := range []string{"203.0.113.7", "203.0.113.7.", "127.1", "010.0.0.1", "0x7f.1",
		"::1", "[::1]", "[::1].", "2001:db8::1", "[2001:db8::1]", "::ffff:203.0.113.7"} {
		err := state.ValidateDomain(d)
		if err == nil || !strings.Contains(err.Error(), "an IP address, not a host name") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ValidateDomain(%q) = %v, want a one-line IP address error", d, err)
		}
	}
	for _, d := range []string{"1.example.com", "203.0.113.7.example.com", "x.y2k", "app.0xcafe.org"} {
		if err := state.ValidateDomain(d); err != nil {
			t.Errorf("ValidateDomain(%q) = %v", d, err)
		}
	}
}
