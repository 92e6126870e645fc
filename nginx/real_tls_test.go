package nginx_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitship/gitship/nginx"
)

// selfSigned writes a certificate and key for name into dir.
func selfSigned(t *testing.T, dir, name string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
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
