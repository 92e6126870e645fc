package certbot

// The harness of TestPebble: Pebble, its DNS server and a stand-in for
// nginx on loopback. cmd/gitship/pebble_test.go has the same pieces for
// the end-to-end scripts (a leaf cannot import cmd/gitship).

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
	"errors"
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
	"sync"
	"syscall"
	"testing"
	"time"
)

// challengeServer stands in for nginx: it serves
// /.well-known/acme-challenge/ from webroot, except to refused hosts.
type challengeServer struct {
	webroot string
	mu      sync.Mutex
	refused map[string]bool
}

func (s *challengeServer) refuse(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[host] = true
}

func (s *challengeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	s.mu.Lock()
	refused := s.refused[host]
	s.mu.Unlock()
	if refused || !strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
		http.NotFound(w, r)
		return
	}
	http.FileServer(http.Dir(s.webroot)).ServeHTTP(w, r)
}

// testPebble is a running Pebble with its DNS server.
type testPebble struct {
	Directory string // ACME directory URL
	CABundle  string // Pebble's own TLS certificate: REQUESTS_CA_BUNDLE for certbot
	RootsURL  string // Pebble's issuing root, on its management port
	client    *http.Client
}

// root fetches Pebble's issuing root.
func (p *testPebble) root() (*x509.Certificate, error) {
	resp, err := p.client.Get(p.RootsURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", p.RootsURL, resp.Status)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("GET %s: no PEM", p.RootsURL)
	}
	return x509.ParseCertificate(block.Bytes)
}

// startTestPebble starts pebble-challtestsrv (DNS answering 127.0.0.1 for
// every name) and Pebble validating HTTP-01 on httpPort, with state and
// logs in dir; both stop in t.Cleanup. Names under blocked.example.test
// are refused by Pebble's policy.
func startTestPebble(t *testing.T, dir string, httpPort int) *testPebble {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := writeServerCert(certPath, keyPath); err != nil {
		t.Fatal(err)
	}
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	acme, mgmt, dns, dnsMgmt, tlsPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", acme),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate":                    certPath,
		"privateKey":                     keyPath,
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"domainBlocklist":                []string{"blocked.example.test"},
	}}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}

	dnsAddr := fmt.Sprintf("127.0.0.1:%d", dns)
	chall, err := startProc(dir, "pebble-challtestsrv", nil,
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", dnsAddr,
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-management", fmt.Sprintf("127.0.0.1:%d", dnsMgmt))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chall.stop(t) })
	// No artificial validation delays, no rejected nonces, no reused
	// authorizations: fast and the same every run.
	peb, err := startProc(dir, "pebble", []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_VA_ALWAYS_VALID=0", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		"-config", cfgPath, "-dnsserver", dnsAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peb.stop(t) })

	pool := x509.NewCertPool()
	pemBytes, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pemBytes)
	p := &testPebble{
		Directory: fmt.Sprintf("https://127.0.0.1:%d/dir", acme),
		CABundle:  certPath,
		RootsURL:  fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmt),
		client:    &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := t.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ready := func() error {
		if err := chall.exited(); err != nil {
			return err
		}
		if err := peb.exited(); err != nil {
			return err
		}
		if err := resolves(dnsAddr); err != nil {
			return err
		}
		if _, err := p.root(); err != nil {
			return err
		}
		resp, err := p.client.Get(p.Directory)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", p.Directory, resp.Status)
		}
		return nil
	}
	if err := waitUntil(deadline, ready); err != nil {
		t.Fatalf("pebble not ready: %v", err)
	}
	return p
}

// resolves checks that the DNS server at addr answers 127.0.0.1 for any
// name, as Pebble will ask it.
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

// waitUntil retries try, backing off, until it succeeds or deadline
// passes; then it returns try's last error.
func waitUntil(deadline time.Time, try func() error) error {
	wait := 20 * time.Millisecond
	for {
		err := try()
		if err == nil {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return err
		}
		<-time.After(min(wait, left))
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// proc is a background process of the test, its output in a log file.
type proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set when done closes
}

// startProc starts name with args and extra environment, its output in
// dir/NAME.log.
func startProc(dir, name string, env []string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// exited is an error with the end of the log if the process is gone.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v): %s", p.name, p.err, tail(p.log))
	default:
		return nil
	}
}

// stop ends the process (SIGTERM, then SIGKILL after 5 s) and, if the
// test failed, logs the end of its output.
func (p *proc) stop(t *testing.T) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("stop %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("kill %s: %v", p.name, err)
		}
		<-p.done
	}
	if t.Failed() {
		t.Logf("%s log:\n%s", p.name, tail(p.log))
	}
}

// tail is the end of the file at path.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago (all held open together, so none repeats).
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeServerCert writes a self-signed certificate for localhost and
// 127.0.0.1 and its key: Pebble's own TLS identity, which certbot trusts
// through REQUESTS_CA_BUNDLE. It is marked a CA so OpenSSL accepts it as a
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
