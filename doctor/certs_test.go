package doctor

import (
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

	"github.com/gitship/gitship/certbot"
)

// writeCert puts a self-signed certificate for name, valid until
// notAfter, where certbot keeps it: DIR/live/NAME/{fullchain,privkey}.pem.
func writeCert(t *testing.T, dir, name string, notAfter time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(dir, "live", name)
	if err := os.MkdirAll(live, 0o700); err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{"fullchain.pem": {Type: "CERTIFICATE", Bytes: der}, "privkey.pem": {Type: "EC PRIVATE KEY", Bytes: kb}} {
		if err := os.WriteFile(filepath.Join(live, file), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCertExpiry reads generated certificates as certbot keeps them, one
// per threshold, named after the app and after one of its domains.
func TestCertExpiry(t *testing.T) {
	for _, tc := range []struct {
		name string
		left time.Duration
		want Status
	}{
		{"90 days", 90 * 24 * time.Hour, OK},
		{"29 days", 29 * 24 * time.Hour, Warn},
		{"8 days", 8 * 24 * time.Hour, Warn},
		{"3 days", 3 * 24 * time.Hour, Fail},
		{"expired", -time.Hour, Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCert(t, dir, "shop.example.org", now.Add(tc.left))
			d := &Doctor{Certs: &certbot.Client{ConfigDir: dir}, Now: func() time.Time { return now }}
			got := d.certs([]liveApp{{name: "shop", domains: []string{"shop.example.org", "www.shop.example.org"}}})
			if len(got) != 1 || got[0].Name != "cert:shop.example.org" || got[0].Status != tc.want {
				t.Fatalf("got %+v, want one cert:shop.example.org %s", got, tc.want)
			}
		})
	}
}
