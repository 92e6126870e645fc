package nginx_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gitship/gitship/nginx"
)

// startNginx runs the private nginx of m in the foreground (master and
// workers) until the test ends.
func startNginx(t *testing.T, m *nginx.Manager) {
	t.Helper()
	cmd := exec.Command(m.Binary, "-p", m.Prefix, "-c", m.Conf, "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("stop nginx: %v", err)
		}
		if err := cmd.Wait(); err != nil {
			t.Logf("nginx exited: %v\n%s", err, out.Bytes())
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(m.Prefix, "error.log"))
			t.Logf("nginx error.log:\n%s", log)
		}
	})
}

// webProcess is one web process of a release: it counts what reaches it
// and, while dropping is set, reads a /drop request and closes the
// connection without an answer (a process dying mid-request).
type webProcess struct {
	name     string
	srv      *httptest.Server
	gets     atomic.Int32
	posts    atomic.Int32
	dropped  atomic.Int32
	dropping atomic.Bool
}

func newWebProcess(t *testing.T, name string) *webProcess {
	p := &webProcess{name: name}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			t.Errorf("%s: read body: %v", name, err)
		}
		if r.URL.Path == "/drop" && p.dropping.Load() {
			p.dropped.Add(1)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("%s: hijack: %v", name, err)
				return
			}
			if err := conn.Close(); err != nil {
				t.Errorf("%s: close: %v", name, err)
			}
			return
		}
		if r.Method == http.MethodPost {
			p.posts.Add(1)
		} else {
			p.gets.Add(1)
		}
		fmt.Fprint(w, name)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *webProcess) addr() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// TestRealNginxTCPUpstreams: a release of two web processes on loopback
// TCP ports behind a real nginx. Both get requests; the marker confirms the
// switch as with a socket; a process that drops a request costs a GET
// nothing (nginx passes it to the other) but a POST is never replayed; a
// stopped process fails no request.
func TestRealNginxTCPUpstreams(t *testing.T) {
	m := privateNginx(t)
	ctx := context.Background()
	a, b := newWebProcess(t, "a"), newWebProcess(t, "b")
	const host = "flaskr.test"
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	conf, err := nginx.Render(nginx.Site{
		App: "flaskr", Release: "v1", Domains: []string{host},
		Upstreams: []string{a.addr(), b.addr()}, Listen: listen,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Install(ctx, "flaskr", conf); err != nil {
		t.Fatalf("Install: %v", err)
	}
	startNginx(t, m)
	if err := nginx.WaitServed(ctx, listen, host, "flaskr", "v1", 10*time.Second); err != nil {
		t.Fatalf("WaitServed with TCP upstreams: %v", err)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, "http://"+listen+path, strings.NewReader("x=1"))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: read: %v", method, path, err)
		}
		return resp.StatusCode, string(body)
	}

	for i := range 10 {
		if code, body := do(http.MethodGet, "/"); code != http.StatusOK {
			t.Fatalf("GET %d: %d %q", i, code, body)
		}
	}
	if a.gets.Load() == 0 || b.gets.Load() == 0 {
		t.Fatalf("GETs not balanced: a got %d, b got %d of 10", a.gets.Load(), b.gets.Load())
	}

	// a drops /drop requests: GETs landing on it are passed to b.
	a.dropping.Store(true)
	bGets := b.gets.Load()
	for i := range 10 {
		if code, body := do(http.MethodGet, "/drop"); code != http.StatusOK || body != "b" {
			t.Fatalf("GET /drop %d with a dropping: %d %q, want 200 from b", i, code, body)
		}
	}
	if a.dropped.Load() == 0 || b.gets.Load()-bGets != 10 {
		t.Fatalf("a dropped %d GETs, b answered %d of 10: want some dropped and all answered by b",
			a.dropped.Load(), b.gets.Load()-bGets)
	}

	// A POST that a dropped is not replayed on b: the client gets the 502.
	dropped, failed := a.dropped.Load(), int32(0)
	for i := 0; a.dropped.Load() == dropped; i++ {
		if i == 10 {
			t.Fatal("no POST of 10 reached a")
		}
		code, body := do(http.MethodPost, "/drop")
		switch code {
		case http.StatusOK:
		case http.StatusBadGateway:
			failed++
		default:
			t.Fatalf("POST /drop: %d %q", code, body)
		}
	}
	if failed != a.dropped.Load()-dropped {
		t.Errorf("%d POSTs failed, a dropped %d: nginx replayed a POST on b", failed, a.dropped.Load()-dropped)
	}
	a.dropping.Store(false)

	// a stops: no GET or POST fails, b answers them all.
	a.srv.Close()
	for i := range 10 {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			if code, body := do(method, "/"); code != http.StatusOK || body != "b" {
				t.Fatalf("%s %d with a stopped: %d %q, want 200 from b", method, i, code, body)
			}
		}
	}
}
