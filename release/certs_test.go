package release

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitship/gitship/certbot"
	"github.com/gitship/gitship/state"
)

// fakeCerts is a certbot stand-in: Issue stores a certificate (or fails).
type fakeCerts struct {
	mu       sync.Mutex
	certs    map[string]certbot.Cert
	issueErr error
	renewErr error
	renewed  []string
	issued   [][]string
}

var _ Certs = (*fakeCerts)(nil)

func (f *fakeCerts) Issue(ctx context.Context, name string, domains []string) (certbot.Cert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issued = append(f.issued, domains)
	if f.issueErr != nil {
		return certbot.Cert{}, f.issueErr
	}
	c := certbot.Cert{Name: name, Domains: domains, Fullchain: "/le/live/" + name + "/fullchain.pem",
		Key: "/le/live/" + name + "/privkey.pem", NotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	if f.certs == nil {
		f.certs = map[string]certbot.Cert{}
	}
	f.certs[name] = c
	return c, nil
}

func (f *fakeCerts) Renew(ctx context.Context) ([]string, error) { return f.renewed, f.renewErr }

func (f *fakeCerts) Lookup(name string) (certbot.Cert, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.certs[name]
	return c, ok, nil
}

func (e *env) lastConf(t *testing.T) string {
	t.Helper()
	e.px.mu.Lock()
	defer e.px.mu.Unlock()
	if len(e.px.installs) == 0 {
		t.Fatal("nothing installed in nginx")
	}
	return e.px.installs[len(e.px.installs)-1]
}

func TestIssueCertSwitchesToTLS(t *testing.T) {
	e := newOsEnv(t)
	fc := &fakeCerts{}
	e.d.Certs = fc
	e.mustDeploy(t, sha1)
	if conf := e.lastConf(t); strings.Contains(conf, "ssl_certificate") || !strings.Contains(conf, "/.well-known/acme-challenge/") {
		t.Fatalf("before a certificate: want the challenge location and no TLS:\n%s", conf)
	}
	var out strings.Builder
	if err := e.d.IssueCert(context.Background(), "demo", &out); err != nil {
		t.Fatalf("IssueCert: %v\n%s", err, out.String())
	}
	if !slices.Equal(fc.issued[0], []string{"demo.example.com"}) {
		t.Errorf("issued for %v", fc.issued)
	}
	conf := e.lastConf(t)
	for _, want := range []string{"ssl_certificate /le/live/demo/fullchain.pem;", "return 301 https://$host$request_uri;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	wantLines(t, out.String(), `-----> Certificate for demo\.example\.com, valid until 2030-01-01`+dur, `-----> Serving demo over HTTPS at https://demo\.example\.com/`)
}

func TestIssueCertFailureChangesNothing(t *testing.T) {
	e := newOsEnv(t)
	e.d.Certs = &fakeCerts{issueErr: errors.New("Invalid response from http://demo.example.com/.well-known/acme-challenge/x: 404")}
	e.mustDeploy(t, sha1)
	installs, _ := e.px.counts()
	err := e.d.IssueCert(context.Background(), "demo", &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "certificate for demo: Invalid response") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line with certbot's reason", err)
	}
	if after, _ := e.px.counts(); after != installs {
		t.Errorf("nginx changed after a failed issuance: %d installs, had %d", after, installs)
	}
}

// TestAutoCertNeverFailsADeploy: with an email set, a deploy issues a
// missing certificate; a failure is a warning and the deploy succeeds.
func TestAutoCertNeverFailsADeploy(t *testing.T) {
	e := newOsEnv(t)
	e.d.Config.Certbot.Email = "ops@example.com"
	e.d.Certs = &fakeCerts{issueErr: errors.New("DNS problem: NXDOMAIN looking up A for demo.example.com")}
	r, err, out := e.deploy(t, sha1)
	if err != nil || r.Status != state.StatusLive {
		t.Fatalf("deploy = %v, status %v; TLS must not fail it\n%s", err, r.Status, out)
	}
	wantLines(t, out, "!     Warning: certificate for demo: DNS problem: NXDOMAIN .* \\(the app is live over HTTP; run `gitship certs issue demo` to try again\\)")

	e2 := newOsEnv(t)
	e2.d.Config.Certbot.Email = "ops@example.com"
	fc := &fakeCerts{}
	e2.d.Certs = fc
	e2.mustDeploy(t, sha1)
	if len(fc.issued) != 1 || !strings.Contains(e2.lastConf(t), "ssl_certificate") {
		t.Errorf("issued %v; last config:\n%s", fc.issued, e2.lastConf(t))
	}
	e2.mustDeploy(t, sha2)
	if len(fc.issued) != 1 {
		t.Errorf("a second deploy issued again: %v", fc.issued)
	}
}

func TestRenewCertsReportsExpiry(t *testing.T) {
	e := newMemEnv(t)
	soon := e.d.Now().Add(5 * 24 * time.Hour)
	fc := &fakeCerts{certs: map[string]certbot.Cert{"demo": {Name: "demo", Domains: []string{"demo.example.com"}, NotAfter: soon}}}
	e.d.Certs = fc

	fc.renewed = []string{"demo"}
	var out strings.Builder
	if err := e.d.RenewCerts(context.Background(), &out); err != nil {
		t.Fatalf("renewed: %v", err)
	}
	if e.px.reloads != 1 {
		t.Errorf("%d reloads after a renewal, want 1", e.px.reloads)
	}

	fc.renewed, fc.renewErr = nil, errors.New("Timeout during connect")
	out.Reset()
	err := e.d.RenewCerts(context.Background(), &out)
	if !errors.Is(err, ErrCertsExpiring) {
		t.Fatalf("err = %v, want ErrCertsExpiring", err)
	}
	if e.px.reloads != 1 {
		t.Errorf("reloaded although nothing was renewed")
	}
	wantLines(t, out.String(), "!     certbot renew: Timeout during connect", "!     demo: demo.example.com valid until .* \\(4 days\\), and it was not renewed")

	fc.renewErr = nil
	fc.certs["demo"] = certbot.Cert{Name: "demo", Domains: []string{"demo.example.com"}, NotAfter: e.d.Now().Add(60 * 24 * time.Hour)}
	out.Reset()
	if err := e.d.RenewCerts(context.Background(), &out); err != nil {
		t.Fatalf("nothing due: %v", err)
	}
	wantLines(t, out.String(), "-----> demo: demo.example.com valid until .* \\(59 days\\)")
}
