package certbot

// The harness of TestPebble: internal/pebble (Pebble and its DNS server)
// and a stand-in for nginx, on loopback.

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gitship/gitship/internal/pebble"
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

// startTestPebble starts Pebble validating HTTP-01 on httpPort, with
// state and logs in dir; everything stops in t.Cleanup, and if the test
// failed the end of each log is logged. Names under pebble.Blocked are
// refused by Pebble's policy.
func startTestPebble(t *testing.T, dir string, httpPort int) *pebble.Env {
	t.Helper()
	// Registered first, so it runs after the processes have stopped.
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range []string{"pebble-challtestsrv", "pebble"} {
				t.Logf("%s log:\n%s", name, tail(filepath.Join(dir, name+".log")))
			}
		}
	})
	p, err := pebble.Start(dir, httpPort, t.Cleanup)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pebbleRoot reads Pebble's issuing root, saved by pebble.Start.
func pebbleRoot(p *pebble.Env) (*x509.Certificate, error) {
	b, err := os.ReadFile(p.Root)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM", p.Root)
	}
	return x509.ParseCertificate(block.Bytes)
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
