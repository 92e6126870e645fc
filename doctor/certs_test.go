package doctor

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitship/gitship/certbot"
	"github.com/gitship/gitship/internal/testenv"
)

// writeCert puts a self-signed certificate for name, valid until
// notAfter, where certbot keeps it: DIR/live/NAME/{fullchain,privkey}.pem.
func writeCert(t *testing.T, dir, name string, notAfter time.Time) {
	t.Helper()
	cert, key, err := testenv.SelfSigned(name, []string{name}, 1, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(dir, "live", name)
	if err := os.MkdirAll(live, 0o700); err != nil {
		t.Fatal(err)
	}
	for file, b := range map[string][]byte{"fullchain.pem": cert, "privkey.pem": key} {
		if err := os.WriteFile(filepath.Join(live, file), b, 0o600); err != nil {
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
