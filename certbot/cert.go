package certbot

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Lookup returns the certificate NAME if certbot has it (ok=false if
// not), parsed from the first PEM block of its fullchain.pem.
func (c *Client) Lookup(name string) (Cert, bool, error) {
	if err := checkName(name); err != nil {
		return Cert{}, false, fmt.Errorf("look up certificate: %w", err)
	}
	dir := c.liveDir(name)
	full := filepath.Join(dir, "fullchain.pem")
	b, err := os.ReadFile(full)
	if errors.Is(err, fs.ErrNotExist) {
		return Cert{}, false, nil
	}
	if err != nil {
		return Cert{}, false, fmt.Errorf("look up certificate %s: %w", name, err)
	}
	x, err := parseLeaf(b)
	if err != nil {
		return Cert{}, false, fmt.Errorf("look up certificate %s: %s: %w", name, full, err)
	}
	key := filepath.Join(dir, "privkey.pem")
	if _, err := os.Stat(key); err != nil {
		return Cert{}, false, fmt.Errorf("look up certificate %s: private key: %w", name, err)
	}
	domains := make([]string, len(x.DNSNames))
	for i, d := range x.DNSNames {
		domains[i] = strings.ToLower(d)
	}
	return Cert{
		Name:      name,
		Domains:   domains,
		Fullchain: full,
		Key:       key,
		NotAfter:  x.NotAfter,
		Serial:    x.SerialNumber.Text(16),
	}, true, nil
}

// List returns every certificate under ConfigDir/live, sorted by name. A
// directory there without a fullchain.pem is skipped. The certificates it
// could read come back even with an error, which names the rest.
func (c *Client) List() ([]Cert, error) {
	live := filepath.Join(c.configDir(), "live")
	entries, err := os.ReadDir(live)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	var certs []Cert
	var bad []string
	for _, e := range entries {
		if !e.IsDir() || checkName(e.Name()) != nil {
			continue // certbot's README, or nothing certbot would name
		}
		cert, ok, err := c.Lookup(e.Name())
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		if ok {
			certs = append(certs, cert)
		}
	}
	sort.Slice(certs, func(i, j int) bool { return certs[i].Name < certs[j].Name })
	if len(bad) > 0 {
		return certs, fmt.Errorf("list certificates: %s", strings.Join(bad, "; "))
	}
	return certs, nil
}

// parseLeaf parses the first PEM block of a fullchain: the certificate
// itself, before its intermediates.
func parseLeaf(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("first PEM block is %q, want CERTIFICATE", block.Type)
	}
	return x509.ParseCertificate(block.Bytes)
}

// configDir is certbot's --config-dir.
func (c *Client) configDir() string {
	if c.ConfigDir != "" {
		return c.ConfigDir
	}
	return "/etc/letsencrypt"
}

// liveDir is where certbot links the current files of certificate name.
func (c *Client) liveDir(name string) string {
	return filepath.Join(c.configDir(), "live", name)
}

// checkName refuses cert names that are not one path element or that
// certbot would read as a flag.
func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty certificate name")
	case name == "." || name == "..", strings.ContainsAny(name, "/\\\x00"),
		strings.HasPrefix(name, "-"), strings.TrimSpace(name) != name:
		return fmt.Errorf("invalid certificate name %q", name)
	}
	return nil
}

// checkDomain refuses what is not a DNS name before it reaches certbot's
// argv: a leading "-" would be a flag, a comma splits -d into two names,
// and certbot 2.1 crashes on an underscore instead of saying why.
// Wildcards need the DNS-01 challenge, which the webroot cannot answer.
func checkDomain(d string) error {
	if strings.HasPrefix(d, "*.") {
		return fmt.Errorf("invalid domain %q: wildcards need DNS-01, the webroot answers HTTP-01 only", d)
	}
	if d == "" || len(d) > 253 {
		return fmt.Errorf("invalid domain %q: want 1 to 253 characters", d)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("invalid domain %q: bad label %q", d, label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("invalid domain %q: character %q", d, r)
			}
		}
	}
	return nil
}
