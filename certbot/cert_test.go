package certbot

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/internal/testenv"
)

// writeLive lays out certificate name the way certbot does under
// configDir: live/NAME/{fullchain,privkey}.pem linking into archive/NAME.
// The fullchain holds a self-signed leaf for domains and, after it, a
// second certificate (an "intermediate") that Lookup must ignore. It is
// also the fake certbot's way of issuing, so it takes no *testing.T.
func writeLive(configDir, name string, domains []string, serial int64, notAfter time.Time) error {
	leaf, leafKey, err := testenv.SelfSigned(domains[0], domains, serial, notAfter)
	if err != nil {
		return err
	}
	other, _, err := testenv.SelfSigned("Fake Intermediate", nil, serial+1, notAfter)
	if err != nil {
		return err
	}
	archive := filepath.Join(configDir, "archive", name)
	live := filepath.Join(configDir, "live", name)
	for _, d := range []string{archive, live} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	files := map[string][]byte{"fullchain": append(leaf, other...), "privkey": leafKey}
	for base, b := range files {
		n := 1
		for ; ; n++ {
			if _, err := os.Stat(filepath.Join(archive, base+itoa(n)+".pem")); os.IsNotExist(err) {
				break
			}
		}
		target := filepath.Join(archive, base+itoa(n)+".pem")
		if err := os.WriteFile(target, b, 0o600); err != nil {
			return err
		}
		link := filepath.Join(live, base+".pem")
		if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
			return err
		}
		if err := os.Symlink(filepath.Join("..", "..", "archive", name, base+itoa(n)+".pem"), link); err != nil {
			return err
		}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	c := &Client{ConfigDir: dir}
	notAfter := time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second).UTC()
	if err := writeLive(dir, "web", []string{"web.example.com", "WWW.Example.com"}, 0x1f2e, notAfter); err != nil {
		t.Fatal(err)
	}

	got, ok, err := c.Lookup("web")
	if err != nil || !ok {
		t.Fatalf("Lookup(web) = ok %v, err %v; want the certificate", ok, err)
	}
	want := Cert{
		Name:      "web",
		Domains:   []string{"web.example.com", "www.example.com"},
		Fullchain: filepath.Join(dir, "live", "web", "fullchain.pem"),
		Key:       filepath.Join(dir, "live", "web", "privkey.pem"),
		NotAfter:  notAfter,
		Serial:    "1f2e",
	}
	if got.Name != want.Name || !slices.Equal(got.Domains, want.Domains) || got.Fullchain != want.Fullchain ||
		got.Key != want.Key || !got.NotAfter.Equal(want.NotAfter) || got.Serial != want.Serial {
		t.Errorf("Lookup(web) =\n %+v\nwant\n %+v", got, want)
	}

	if _, ok, err := c.Lookup("absent"); ok || err != nil {
		t.Errorf("Lookup(absent) = ok %v, err %v; want not found, no error", ok, err)
	}
	for _, bad := range []string{"", "..", "a/b", "-x"} {
		if _, _, err := c.Lookup(bad); err == nil {
			t.Errorf("Lookup(%q): no error", bad)
		}
	}
}

func TestLookupBrokenFiles(t *testing.T) {
	for _, tc := range []struct {
		name, fullchain, want string
		key                   bool
	}{
		{"not PEM", "hello\n", "no PEM block", true},
		{"key first", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", `"PRIVATE KEY", want CERTIFICATE`, true},
		{"garbage DER", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "x509", true},
		{"no key", "", "private key", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := writeLive(dir, "app", []string{"app.example.com"}, 7, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			live := filepath.Join(dir, "live", "app")
			if tc.fullchain != "" {
				if err := os.Remove(filepath.Join(live, "fullchain.pem")); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(live, "fullchain.pem"), []byte(tc.fullchain), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if !tc.key {
				if err := os.Remove(filepath.Join(live, "privkey.pem")); err != nil {
					t.Fatal(err)
				}
			}
			_, ok, err := (&Client{ConfigDir: dir}).Lookup("app")
			if err == nil || ok {
				t.Fatalf("Lookup = ok %v, err %v; want an error", ok, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "app") {
				t.Errorf("error %q does not name the certificate and hold %q", err, tc.want)
			}
		})
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	c := &Client{ConfigDir: dir}
	if got, err := c.List(); err != nil || len(got) != 0 {
		t.Fatalf("List on an empty config dir = %v, %v; want nothing, no error", got, err)
	}
	exp := time.Now().Add(time.Hour)
	for i, n := range []string{"web", "api", "blog"} {
		if err := writeLive(dir, n, []string{n + ".example.com"}, int64(10+i), exp); err != nil {
			t.Fatal(err)
		}
	}
	// certbot's own README and a lineage whose files are gone.
	if err := os.WriteFile(filepath.Join(dir, "live", "README"), []byte("certbot"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "live", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cert := range got {
		names = append(names, cert.Name)
		if len(cert.Domains) != 1 || cert.Domains[0] != cert.Name+".example.com" {
			t.Errorf("%s has domains %v", cert.Name, cert.Domains)
		}
	}
	if want := []string{"api", "blog", "web"}; !slices.Equal(names, want) {
		t.Errorf("List names = %v, want %v", names, want)
	}

	// A broken one is named; the others still come back.
	if err := os.WriteFile(filepath.Join(dir, "archive", "blog", "fullchain1.pem"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = c.List()
	if err == nil || !strings.Contains(err.Error(), "blog") || strings.Contains(err.Error(), "\n") {
		t.Errorf("List with a broken blog: err %v; want one line naming blog", err)
	}
	if len(got) != 2 {
		t.Errorf("List with a broken blog returned %d certificates, want the 2 good ones", len(got))
	}
}
