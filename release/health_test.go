package release

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// serveUnix serves h on a unix socket in a fresh temp dir and returns the
// socket's path; the server stops when the test ends.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(shortTempDir(t), "web.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return sock
}

func TestProbeCheck(t *testing.T) {
	tests := []struct {
		status  int
		healthy bool
	}{
		{http.StatusOK, true},
		{http.StatusNotFound, true},
		{http.StatusServiceUnavailable, false},
		{http.StatusInternalServerError, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			var mu sync.Mutex
			var host, path, agent string
			sock := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				host, path, agent = r.Host, r.URL.Path, r.UserAgent()
				mu.Unlock()
				w.WriteHeader(tt.status)
				if _, err := w.Write([]byte(strings.Repeat("x", 1000))); err != nil {
					t.Errorf("write body: %v", err)
				}
			}))
			p := Probe{Socket: sock, Host: "demo.example.org", Path: "/healthz"}
			a := p.Check(context.Background())
			if a.Err != nil {
				t.Fatalf("Check: %v", a.Err)
			}
			if a.Status != tt.status {
				t.Errorf("Status = %d, want %d", a.Status, tt.status)
			}
			if a.Healthy() != tt.healthy {
				t.Errorf("Healthy() = %v, want %v", a.Healthy(), tt.healthy)
			}
			if want := "HTTP " + strconv.Itoa(tt.status); a.String() != want {
				t.Errorf("String() = %q, want %q", a.String(), want)
			}
			mu.Lock()
			defer mu.Unlock()
			if host != "demo.example.org" {
				t.Errorf("server saw Host %q, want demo.example.org", host)
			}
			if path != "/healthz" {
				t.Errorf("server saw path %q, want /healthz", path)
			}
			if agent != "gitship-health" {
				t.Errorf("server saw User-Agent %q, want gitship-health", agent)
			}
		})
	}
}

func TestProbeMissingSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "web.sock")
	p := Probe{Socket: sock, Host: "demo.example.com", Path: "/"}
	a := p.Check(context.Background())
	if a.Err == nil {
		t.Fatalf("Check of a missing socket = %v, want an error", a)
	}
	if a.Healthy() {
		t.Error("an answer with an error is healthy")
	}
	if !strings.Contains(a.String(), "socket") {
		t.Errorf("answer %q does not mention the socket", a)
	}
	if strings.Contains(a.String(), "http://") {
		t.Errorf("answer %q still carries the URL noise", a)
	}
	if !strings.Contains(p.String(), sock) {
		t.Errorf("probe %q does not name the socket path", p)
	}
}

func TestProbeRefusedSocket(t *testing.T) {
	// A socket file nobody listens on: the listener is closed, but the
	// file is left behind (as after a crashed app).
	sock := filepath.Join(shortTempDir(t), "web.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	a := Probe{Socket: sock, Host: "h.example.com", Path: "/"}.Check(context.Background())
	if a.Err == nil || a.Healthy() {
		t.Fatalf("Check of a dead socket = %v, want an error", a)
	}
	if !strings.Contains(a.String(), "socket") {
		t.Errorf("answer %q does not mention the socket", a)
	}
}

func TestProbeCancelled(t *testing.T) {
	sock := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := Probe{Socket: sock, Host: "h.example.com", Path: "/"}.Check(ctx)
	if a.Err == nil || a.Healthy() {
		t.Errorf("Check with a cancelled ctx = %v, want an error", a)
	}
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		a       Answer
		healthy bool
		str     string
	}{
		{Answer{Status: 200}, true, "HTTP 200"},
		{Answer{Status: 302}, true, "HTTP 302"},
		{Answer{Status: 404}, true, "HTTP 404"},
		{Answer{Status: 499}, true, "HTTP 499"},
		{Answer{Status: 500}, false, "HTTP 500"},
		{Answer{Status: 503}, false, "HTTP 503"},
		{Answer{}, false, "no answer yet"},
		{Answer{Status: 200, Err: errors.New("read body: EOF")}, false, "read body: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			if got := tt.a.Healthy(); got != tt.healthy {
				t.Errorf("Healthy() = %v, want %v", got, tt.healthy)
			}
			if got := tt.a.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
		})
	}
}

func TestProbeString(t *testing.T) {
	p := Probe{Socket: "/run/gitship/demo/v3/web.sock", Host: "demo.example.com", Path: "/up"}
	want := "GET http://demo.example.com/up over unix:/run/gitship/demo/v3/web.sock"
	if p.String() != want {
		t.Errorf("String() = %q, want %q", p.String(), want)
	}
}
