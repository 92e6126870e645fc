package certbot

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/internal/pebble"
	"github.com/gitship/gitship/internal/testenv"
)

// TestPebble runs the real certbot against Pebble, a private ACME server,
// with pebble-challtestsrv as its DNS server resolving every name to
// 127.0.0.1 and a Go file server standing in for nginx: everything on
// loopback, nothing reaching outside.
//
// Pebble issues certificates valid for 5 years and `certbot renew` only
// renews what expires within renew_before_expiry (30 days by default).
// To exercise the path cron takes (not --force-renewal, which skips the
// "is it due?" decision), the test sets renew_before_expiry = 3650 days
// in the certificate's renewal/NAME.conf, as an operator could: certbot
// then finds it due on its own. Client has no test-only knob.
func TestPebble(t *testing.T) {
	testenv.Need(t, "apt-get install certbot pebble", "certbot", "pebble", "pebble-challtestsrv")
	dir := t.TempDir()
	webroot := filepath.Join(dir, "acme")
	nginx := &challengeServer{webroot: webroot, refused: map[string]bool{}}
	srv := httptest.NewServer(nginx)
	t.Cleanup(srv.Close)
	p := startTestPebble(t, filepath.Join(dir, "pebble"), srv.Listener.Addr().(*net.TCPAddr).Port)

	c := &Client{
		Server:    p.Directory,
		Webroot:   webroot,
		ConfigDir: filepath.Join(dir, "le", "config"),
		WorkDir:   filepath.Join(dir, "le", "work"),
		LogsDir:   filepath.Join(dir, "le", "logs"),
		Env:       []string{"REQUESTS_CA_BUNDLE=" + p.CABundle},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	domains := []string{"web.example.test", "www.web.example.test"}

	var web Cert
	ok := t.Run("issue", func(t *testing.T) {
		start := time.Now()
		var err error
		web, err = c.Issue(ctx, "web", domains)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("issued %s for %s in %s", web.Name, strings.Join(web.Domains, ", "), time.Since(start).Round(time.Millisecond))
		got, ok, err := c.Lookup("web")
		if err != nil || !ok {
			t.Fatalf("Lookup(web) = ok %v, err %v", ok, err)
		}
		if !sameSet(got.Domains, domains) {
			t.Errorf("certificate covers %v, want %v", got.Domains, domains)
		}
		if !got.NotAfter.After(time.Now()) {
			t.Errorf("certificate expired at %s", got.NotAfter)
		}
		verifyChain(t, p, got, domains)

		// Asked again for the same names, certbot keeps the certificate.
		again, err := c.Issue(ctx, "web", domains)
		if err != nil {
			t.Fatal(err)
		}
		if again.Serial != web.Serial {
			t.Errorf("second Issue replaced the certificate (serial %s → %s), want it kept", web.Serial, again.Serial)
		}
	})
	if !ok {
		t.FailNow()
	}

	t.Run("challenge not served", func(t *testing.T) {
		nginx.refuse("nope.example.test")
		_, err := c.Issue(ctx, "nope", []string{"nope.example.test"})
		checkOneLine(t, err, "issue certificate nope: nope.example.test: ", "returned 404 (unauthorized)")
		if _, ok, _ := c.Lookup("nope"); ok {
			t.Error("a failed Issue left a certificate")
		}
	})

	t.Run("refused by policy", func(t *testing.T) {
		// certbot 2.1 on Python 3.11 prints only "AttributeError: can't set
		// attribute" here; the reason comes from its debug log.
		_, err := c.Issue(ctx, "blocked", []string{"ok.example.test", "x." + pebble.Blocked})
		checkOneLine(t, err, "issue certificate blocked: urn:ietf:params:acme:error:rejectedIdentifier", `"x.blocked.example.test"`)
	})

	t.Run("renew", func(t *testing.T) {
		api, err := c.Issue(ctx, "api", []string{"api.example.test"})
		if err != nil {
			t.Fatal(err)
		}
		renewed, err := c.Renew(ctx)
		if err != nil || len(renewed) != 0 {
			t.Fatalf("Renew with nothing due = %v, %v; want nothing, no error", renewed, err)
		}

		makeDue(t, c.ConfigDir, "web")
		start := time.Now()
		renewed, err = c.Renew(ctx)
		t.Logf("renew took %s", time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(renewed, []string{"web"}) {
			t.Errorf("renewed %v, want [web]", renewed)
		}
		now, _, err := c.Lookup("web")
		if err != nil {
			t.Fatal(err)
		}
		if now.Serial == web.Serial || now.NotAfter.Before(web.NotAfter) {
			t.Errorf("web after renewal: serial %s, until %s; before: %s, until %s", now.Serial, now.NotAfter, web.Serial, web.NotAfter)
		}
		verifyChain(t, p, now, domains)
		if still, _, _ := c.Lookup("api"); still.Serial != api.Serial {
			t.Errorf("api was not due but changed serial %s → %s", api.Serial, still.Serial)
		}

		// One due certificate fails; certbot goes on with the other.
		makeDue(t, c.ConfigDir, "api")
		nginx.refuse("api.example.test")
		renewed, err = c.Renew(ctx)
		if !slices.Equal(renewed, []string{"web"}) {
			t.Errorf("renewed %v, want [web] (still due)", renewed)
		}
		var re *RenewError
		if !errors.As(err, &re) {
			t.Fatalf("Renew = %v, want a *RenewError", err)
		}
		if r := re.Failed["api"]; len(re.Failed) != 1 || !strings.HasPrefix(r, "api.example.test: ") || !strings.Contains(r, "returned 404") {
			t.Errorf("Failed = %q, want api's 404", re.Failed)
		}
		checkOneLine(t, err, "renew certificates: api: api.example.test: ", "404")
	})
}

// checkOneLine fails unless err is one line that starts with prefix and
// holds want.
func checkOneLine(t *testing.T, err error, prefix, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q…", prefix)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		t.Errorf("error\n %q\nwant one line starting %q and holding %q", msg, prefix, want)
	}
	t.Logf("error: %s", msg)
}

// verifyChain checks that cert's fullchain verifies for every domain up
// to Pebble's issuing root, as pebble.Start saved it.
func verifyChain(t *testing.T, p *pebble.Env, cert Cert, domains []string) {
	t.Helper()
	root, err := pebbleRoot(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cert.Fullchain)
	if err != nil {
		t.Fatal(err)
	}
	var chain []*x509.Certificate
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		x, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, x)
	}
	if len(chain) < 2 {
		t.Fatalf("fullchain has %d certificates, want the leaf and its intermediate", len(chain))
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, x := range chain[1:] {
		inter.AddCert(x)
	}
	for _, d := range domains {
		if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: d, Roots: roots, Intermediates: inter}); err != nil {
			t.Errorf("certificate for %s does not chain to Pebble's root: %v", d, err)
		}
	}
}

// makeDue makes certbot consider certificate name due for renewal now.
func makeDue(t *testing.T, configDir, name string) {
	t.Helper()
	path := filepath.Join(configDir, "renewal", name+".conf")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	found := false
	for i, l := range lines {
		if strings.Contains(l, "renew_before_expiry") {
			lines[i], found = "renew_before_expiry = 3650 days", true
		}
	}
	if !found {
		t.Fatalf("%s has no renew_before_expiry line:\n%s", path, b)
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
