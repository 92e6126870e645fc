package nginx_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/nginx"
)

// TestRealNginxAccessLog: a real nginx writes the app's access log in
// gitship's format, one line per answer with its status and the upstream
// that gave it, so the answers of a new release can be
// told from the old one's after a switch; the marker location
// writes none.
func TestRealNginxAccessLog(t *testing.T) {
	m := privateNginx(t)
	ctx := context.Background()
	const host = "logged.test"
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	logPath := filepath.Join(m.Prefix, "logs", "logged.access.log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		t.Fatal(err)
	}

	// v1 answers 200; v2, on another port, answers 500 on /fail. (Both
	// on TCP: a socket in a test's temp dir is out of reach of nginx's
	// workers when the tests run as root; the e2e scripts log sockets.)
	old := newWebProcess(t, "old")
	v2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "new")
	}))
	t.Cleanup(v2.Close)
	newAddr := strings.TrimPrefix(v2.URL, "http://")

	install := func(release string, upstream string) {
		t.Helper()
		conf, err := nginx.Render(nginx.Site{App: "logged", Release: release, Domains: []string{host},
			Upstreams: []string{upstream}, Listen: listen, AccessLog: logPath})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Install(ctx, "logged", conf); err != nil {
			t.Fatalf("Install %s: %v", release, err)
		}
		if err := m.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	install("v1", old.addr())
	startNginx(t, m)
	m.Reload = []string{m.Binary, "-p", m.Prefix, "-c", m.Conf, "-s", "reload"}
	if err := nginx.WaitServed(ctx, listen, host, "logged", "v1", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(path string, want int) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	get("/", http.StatusOK)
	get("/fail", http.StatusOK)

	install("v2", newAddr)
	if err := nginx.WaitServed(ctx, listen, host, "logged", "v2", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	get("/", http.StatusOK)
	get("/fail", http.StatusInternalServerError)
	get("/fail", http.StatusInternalServerError)

	want := []nginx.Answer{
		{Status: 200, Upstream: old.addr()},
		{Status: 200, Upstream: old.addr()},
		{Status: 200, Upstream: newAddr},
		{Status: 500, Upstream: newAddr},
		{Status: 500, Upstream: newAddr},
	}
	// nginx writes a line once the answer is sent: poll to a deadline.
	var got []nginx.Answer
	var lines []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, lines = readAnswers(t, logPath)
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != len(want) {
		t.Fatalf("access log has %d lines, want %d (the marker logs none):\n%s", len(got), len(want), strings.Join(lines, "\n"))
	}
	start := time.Now().Add(-time.Minute)
	for i, w := range want {
		g := got[i]
		if g.Status != w.Status || g.Upstream != w.Upstream || g.Time.Before(start) {
			t.Errorf("line %d: %+v, want status %d from %s, logged in the last minute\n%s", i+1, g, w.Status, w.Upstream, lines[i])
		}
	}
	if f := strings.Split(lines[3], "\t"); len(f) != 11 || f[6] != host || f[7] != "GET /fail HTTP/1.1" {
		t.Errorf("line 4 fields %q: want 11, with the host and the request", f)
	}
}

// readAnswers parses every line of the access log at path.
func readAnswers(t *testing.T, path string) ([]nginx.Answer, []string) {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []nginx.Answer
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		a, err := nginx.ParseAnswer(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out, lines
}
