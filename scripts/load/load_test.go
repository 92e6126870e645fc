package load

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds; it fails the test at a deadline (30 s,
// or sooner if the test's own deadline is nearer) naming what it waited for
// and the last snapshot of r.
func waitFor(t *testing.T, r *Run, what string, cond func(Result) bool) Result {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := t.Deadline(); ok && d.Add(-time.Second).Before(deadline) {
		deadline = d.Add(-time.Second)
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		res := r.Snapshot()
		if cond(res) {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last snapshot: %s %v %v", what, res, res.Statuses, res.Failures)
		}
		<-tick.C
	}
}

// start starts a load against srv and stops it when the test ends.
func start(t *testing.T, cfg Config) *Run {
	t.Helper()
	r, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { r.Stop() })
	return r
}

func TestAll2xx(t *testing.T) {
	var hosts atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts.Store(r.Host)
		fmt.Fprintln(w, "hello from app (v1)")
		fmt.Fprintln(w, "second line")
	}))
	defer srv.Close()
	r := start(t, Config{URL: srv.URL + "/", Host: "app.test", Clients: 4})
	waitFor(t, r, "100 requests", func(res Result) bool { return res.Requests >= 100 })
	res := r.Stop()
	if res.Requests == 0 || res.Failed() != 0 || res.OK != res.Requests {
		t.Errorf("got %s, want requests > 0, all ok; failures %v", res, res.Failures)
	}
	if res.Statuses[200] != res.Requests {
		t.Errorf("Statuses = %v, want %d × 200", res.Statuses, res.Requests)
	}
	if len(res.Bodies) != 1 || res.Bodies["hello from app (v1)"] != res.OK {
		t.Errorf("Bodies = %v, want only the first line, %d times", res.Bodies, res.OK)
	}
	if h, _ := hosts.Load().(string); h != "app.test" {
		t.Errorf("server saw Host %q, want app.test", h)
	}
	if len(res.Failures) != 0 {
		t.Errorf("Failures = %v, want none", res.Failures)
	}
	if !strings.HasPrefix(res.String(), fmt.Sprintf("requests=%d ok=%d non2xx=0 errors=0 duration=", res.Requests, res.OK)) {
		t.Errorf("String() = %q", res.String())
	}
}

func TestNon2xx(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			http.Error(w, "<html>\n<head><title>502 Bad Gateway</title></head>", http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer srv.Close()
	r := start(t, Config{URL: srv.URL, Clients: 3})
	waitFor(t, r, "30 non-2xx answers", func(res Result) bool { return res.Non2xx >= 30 })
	res := r.Stop()
	if res.Non2xx == 0 || res.Errors != 0 || res.Failed() != res.Non2xx {
		t.Errorf("got %s, want non2xx > 0 and no errors", res)
	}
	if res.Statuses[502] != res.Non2xx || res.Statuses[200] != res.OK || res.OK+res.Non2xx != res.Requests {
		t.Errorf("Statuses = %v, want %d × 200 and %d × 502", res.Statuses, res.OK, res.Non2xx)
	}
	if len(res.Failures) != MaxFailures {
		t.Fatalf("got %d failures recorded, want the first %d: %v", len(res.Failures), MaxFailures, res.Failures)
	}
	want := "502 Bad Gateway: <html> <head><title>502 Bad Gateway</title></head>"
	if f := res.Failures[0]; !strings.HasPrefix(f, "+") || !strings.HasSuffix(f, want) {
		t.Errorf("Failures[0] = %q, want +OFFSETs %s", f, want)
	}
	if _, ok := res.Bodies["<html>"]; ok {
		t.Errorf("Bodies = %v, counts a non-2xx body", res.Bodies)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		fmt.Fprintln(w, "followed")
	}))
	defer srv.Close()
	r := start(t, Config{URL: srv.URL + "/", Clients: 1})
	waitFor(t, r, "10 requests", func(res Result) bool { return res.Requests >= 10 })
	res := r.Stop()
	if res.OK != 0 || res.Statuses[302] != res.Requests {
		t.Errorf("got %s %v, want only 302s", res, res.Statuses)
	}
}

func TestServerClosedMidRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	r := start(t, Config{URL: srv.URL, Clients: 4, Timeout: 5 * time.Second})
	waitFor(t, r, "50 answers", func(res Result) bool { return res.OK >= 50 })
	srv.Close()
	waitFor(t, r, "20 errors", func(res Result) bool { return res.Errors >= 20 })
	res := r.Stop()
	if res.Errors == 0 || res.OK == 0 || res.Failed() != res.Errors+res.Non2xx {
		t.Errorf("got %s, want answers, then errors", res)
	}
	if len(res.Failures) == 0 || !strings.Contains(res.Failures[0], "refused") && !strings.Contains(res.Failures[0], "EOF") && !strings.Contains(res.Failures[0], "reset") {
		t.Errorf("Failures = %v, want connection errors", res.Failures)
	}
}

// A server that accepts a connection and closes it without answering is an
// error too (an EOF), not a non-2xx answer.
func TestConnectionClosedWithoutAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	r := start(t, Config{URL: "http://" + ln.Addr().String() + "/", Clients: 2})
	waitFor(t, r, "10 errors", func(res Result) bool { return res.Errors >= 10 })
	res := r.Stop()
	if res.Errors != res.Requests || res.Non2xx != 0 || res.OK != 0 {
		t.Errorf("got %s, want only errors", res)
	}
}

func TestBodiesSwitchMidRun(t *testing.T) {
	var switched atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if switched.Load() {
			io.WriteString(w, "hello (v2)\r\nmore\n")
			return
		}
		io.WriteString(w, "hello (v1)") // no newline at all
	}))
	defer srv.Close()
	r := start(t, Config{URL: srv.URL, Clients: 2})
	waitFor(t, r, "v1 answers", func(res Result) bool { return res.Bodies["hello (v1)"] >= 20 })
	switched.Store(true)
	waitFor(t, r, "v2 answers", func(res Result) bool { return res.Bodies["hello (v2)"] >= 20 })
	res := r.Stop()
	if len(res.Bodies) != 2 || res.Bodies["hello (v1)"]+res.Bodies["hello (v2)"] != res.OK || res.Failed() != 0 {
		t.Errorf("got %s, Bodies = %v, want the two bodies counting every answer", res, res.Bodies)
	}
}

func TestBodiesAreCapped(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "answer %d\n", n.Add(1))
	}))
	defer srv.Close()
	r := start(t, Config{URL: srv.URL, Clients: 2})
	waitFor(t, r, "some bodies counted as other", func(res Result) bool { return res.Bodies[OtherBody] >= 10 })
	res := r.Stop()
	if len(res.Bodies) != MaxBodies+1 {
		t.Errorf("got %d distinct bodies, want %d plus %q", len(res.Bodies), MaxBodies, OtherBody)
	}
	sum := 0
	for _, v := range res.Bodies {
		sum += v
	}
	if sum != res.OK {
		t.Errorf("Bodies add up to %d, want %d (every answer)", sum, res.OK)
	}
}

func TestMaxDurationStopsByItself(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	defer srv.Close()
	r := start(t, Config{URL: srv.URL, Clients: 2, MaxDuration: 200 * time.Millisecond})
	select {
	case <-r.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("the load did not stop by itself after MaxDuration; %s", r.Snapshot())
	}
	first := r.Snapshot()
	// Nothing runs any more: Stop sees the same counts.
	res := r.Stop()
	if res.Requests == 0 || res.Requests != first.Requests || res.Duration != first.Duration {
		t.Errorf("got %s after %s, want requests > 0 and no change after Done", res, first)
	}
}

func TestParentContextStops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := Start(ctx, Config{URL: srv.URL, Clients: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	waitFor(t, r, "10 requests", func(res Result) bool { return res.Requests >= 10 })
	cancel()
	select {
	case <-r.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the load did not stop when its context was cancelled")
	}
}

func TestTimeoutIsAnError(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	r := start(t, Config{URL: srv.URL, Clients: 2, Timeout: 50 * time.Millisecond})
	waitFor(t, r, "4 errors", func(res Result) bool { return res.Errors >= 4 })
	res := r.Stop()
	if res.Errors != res.Requests || len(res.Failures) == 0 || !strings.Contains(res.Failures[0], "Timeout") {
		t.Errorf("got %s %v, want only timeouts", res, res.Failures)
	}
}

// Requests in flight when Stop is called are cut short, not counted as
// errors (else every stop would add up to Clients errors).
func TestStopDoesNotCountInFlight(t *testing.T) {
	var inFlight atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		<-r.Context().Done()
	}))
	defer srv.Close()
	r := start(t, Config{URL: srv.URL, Clients: 3, Timeout: time.Minute})
	waitFor(t, r, "3 requests in flight", func(Result) bool { return inFlight.Load() >= 3 })
	res := r.Stop()
	if res.Requests != 0 || res.Failed() != 0 {
		t.Errorf("got %s %v, want nothing counted", res, res.Failures)
	}
	if again := r.Stop(); again.String() != res.String() {
		t.Errorf("second Stop = %s, want %s", again, res)
	}
}

func TestStartValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no url", Config{}, "scheme"},
		{"bad url", Config{URL: "http://[::1"}, "load url"},
		{"not http", Config{URL: "ftp://127.0.0.1/"}, "scheme"},
		{"not loopback", Config{URL: "http://192.0.2.1/"}, "not a loopback"},
		{"a name", Config{URL: "http://example.com/"}, "not a loopback"},
		{"negative clients", Config{URL: "http://127.0.0.1/", Clients: -1}, "clients"},
		{"too many clients", Config{URL: "http://127.0.0.1/", Clients: MaxClients + 1}, "clients"},
		{"negative timeout", Config{URL: "http://127.0.0.1/", Timeout: -time.Second}, "timeout"},
		{"too long", Config{URL: "http://127.0.0.1/", MaxDuration: 2 * time.Hour}, "max duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Start(context.Background(), tc.cfg)
			if err == nil {
				r.Stop()
				t.Fatalf("Start(%+v) = nil error, want one about %s", tc.cfg, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start(%+v) = %v, want it to mention %q", tc.cfg, err, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:1/", "http://[::1]:1/", "http://localhost:1/", "https://127.0.0.2/"} {
		cfg, err := Config{URL: u}.withDefaults()
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		if cfg.Clients != DefaultClients || cfg.Timeout != DefaultTimeout || cfg.MaxDuration != DefaultMaxDuration {
			t.Errorf("%s: defaults = %+v", u, cfg)
		}
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"longer text", 6, "longer…"},
		{"héllo", 2, "h…"}, // never half of é
	} {
		if got := clip(tc.s, tc.n); got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
