// Package pebble runs a private ACME server for tests: Pebble, with
// pebble-challtestsrv as its DNS server answering 127.0.0.1 for every
// name, all on loopback. certbot's tests and cmd/gitship's end-to-end
// scripts share it.
package pebble

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gitship/gitship/internal/testenv"
)

// Env is a running private ACME server (Pebble + pebble-challtestsrv as
// its DNS) on loopback.
type Env struct {
	Directory string // ACME directory URL: [certbot] server
	CABundle  string // Pebble's own TLS certificate: REQUESTS_CA_BUNDLE for certbot
	RootsURL  string // Pebble's issuing root (PEM) on its management port
	MgmtCert  string // what to trust to fetch RootsURL (the same file as CABundle)
	Root      string // Pebble's issuing root, fetched at start: trust it to check served HTTPS (curl --cacert)
	DNS       string // pebble-challtestsrv's DNS address (host:port)
}

// Blocked is a domain Pebble refuses by policy, it and every name
// under it (urn:ietf:params:acme:error:rejectedIdentifier).
const Blocked = "blocked.example.test"

// Start starts pebble-challtestsrv (DNS answering 127.0.0.1 for every
// name) and Pebble validating HTTP-01 on httpPort, and waits until both
// are ready and Pebble's issuing root is saved to Env.Root. State and
// logs (pebble.log, pebble-challtestsrv.log) go in dir; deferFn is
// handed each process's stop (t.Cleanup, a testscript Defer). Names
// under Blocked are refused by Pebble's policy.
func Start(dir string, httpPort int, deferFn func(func())) (*Env, error) {
	var missing []string
	for _, tool := range []string{"pebble", "pebble-challtestsrv"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("start pebble: %s not on PATH (apt-get install pebble)", strings.Join(missing, ", "))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start pebble: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := writeServerCert(certPath, keyPath); err != nil {
		return nil, fmt.Errorf("start pebble: TLS certificate: %w", err)
	}
	ports, err := testenv.FreePorts(5)
	if err != nil {
		return nil, fmt.Errorf("start pebble: %w", err)
	}
	acme, mgmt, dns, dnsMgmt, tlsPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	cfgPath := filepath.Join(dir, "pebble.json")
	if err := writeConfig(cfgPath, certPath, keyPath, acme, mgmt, httpPort, tlsPort); err != nil {
		return nil, fmt.Errorf("start pebble: %w", err)
	}

	dnsAddr := fmt.Sprintf("127.0.0.1:%d", dns)
	chall, err := testenv.StartProc(dir, "pebble-challtestsrv", "pebble-challtestsrv", nil,
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", dnsAddr,
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-management", fmt.Sprintf("127.0.0.1:%d", dnsMgmt))
	if err != nil {
		return nil, err
	}
	deferFn(chall.Stop)
	// No artificial validation delays, no rejected nonces, no reused
	// authorizations: fast, and the same every run.
	peb, err := testenv.StartProc(dir, "pebble", "pebble",
		[]string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_VA_ALWAYS_VALID=0", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		"-config", cfgPath, "-dnsserver", dnsAddr)
	if err != nil {
		return nil, err
	}
	deferFn(peb.Stop)

	client, err := newClient(certPath)
	if err != nil {
		return nil, fmt.Errorf("start pebble: %w", err)
	}
	env := &Env{
		Directory: fmt.Sprintf("https://127.0.0.1:%d/dir", acme),
		CABundle:  certPath,
		RootsURL:  fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmt),
		MgmtCert:  certPath,
		Root:      filepath.Join(dir, "root.pem"),
		DNS:       dnsAddr,
	}
	var root []byte
	err = testenv.Poll(30*time.Second, func() error {
		if err := chall.Exited(); err != nil {
			return err
		}
		if err := peb.Exited(); err != nil {
			return err
		}
		if err := resolves(dnsAddr); err != nil {
			return err
		}
		if _, err := get(client, env.Directory); err != nil {
			return err
		}
		root, err = get(client, env.RootsURL)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start pebble: not ready: %w", err)
	}
	if block, _ := pem.Decode(root); block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("start pebble: %s is not a PEM certificate", env.RootsURL)
	}
	if err := os.WriteFile(env.Root, root, 0o644); err != nil {
		return nil, fmt.Errorf("start pebble: %w", err)
	}
	return env, nil
}

// writeConfig writes Pebble's JSON config: ACME and management on
// loopback, HTTP-01 validated on httpPort, names under Blocked
// refused.
func writeConfig(path, certPath, keyPath string, acme, mgmt, httpPort, tlsPort int) error {
	b, err := json.MarshalIndent(map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", acme),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":                    certPath,
		"privateKey":                     keyPath,
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"domainBlocklist":                []string{Blocked},
	}}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// newClient is an HTTP client that trusts Pebble's own TLS certificate.
func newClient(certPath string) (*http.Client, error) {
	b, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no certificate", certPath)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}

// get GETs url and returns the body of a 200 answer.
func get(client *http.Client, url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, nil
}

// resolves checks that the DNS server at addr answers 127.0.0.1
// for any name, as Pebble will ask it.
func resolves(addr string) error {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := r.LookupHost(ctx, "ready.example.test")
	if err != nil {
		return err
	}
	if !slices.Contains(ips, "127.0.0.1") {
		return fmt.Errorf("DNS %s answers %v for ready.example.test, want 127.0.0.1", addr, ips)
	}
	return nil
}

// writeServerCert writes a self-signed certificate for localhost and
// 127.0.0.1 and its key: Pebble's own TLS identity, which certbot trusts
// through REQUESTS_CA_BUNDLE. It is marked a CA so OpenSSL takes it as a
// trust anchor.
func writeServerCert(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Pebble test server"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
}
