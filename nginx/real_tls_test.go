package nginx_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitship/gitship/internal/testenv"
	"github.com/gitship/gitship/nginx"
)

// selfSigned writes a certificate and key for name into dir.
func selfSigned(t *testing.T, dir, name string) (cert, key string) {
	t.Helper()
	cb, kb, err := testenv.SelfSigned(name, []string{name}, 1, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := os.WriteFile(cert, cb, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, kb, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestRealNginxTLS: the TLS server block and the challenge location pass
// the real nginx -t; a certificate path that does not exist does not.
func TestRealNginxTLS(t *testing.T) {
	m := privateNginx(t)
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, "shop.example.com")
	site := nginx.Site{
		App: "shop", Release: "v1", Domains: []string{"shop.example.com"},
		Socket: "/run/gitship/shop/v1/web.sock", Listen: "127.0.0.1:1", Webroot: dir,
		TLS: &nginx.TLS{Listen: "127.0.0.1:2", Cert: cert, Key: key, HSTS: true},
	}
	conf, err := nginx.Render(site)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Install(context.Background(), "shop", conf); err != nil {
		t.Fatalf("nginx -t refused the TLS config: %v", err)
	}
	site.TLS.Cert = filepath.Join(dir, "missing.pem")
	bad, err := nginx.Render(site)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Install(context.Background(), "shop", bad); err == nil {
		t.Fatal("nginx -t accepted a missing certificate")
	}
}
