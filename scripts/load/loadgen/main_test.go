package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// The signal is stood in for by cancelling run's context once the server
// has answered 50 requests (20 of them with a 503).
func TestRunUntilSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		if i == 50 {
			cancel()
		}
		if i%5 == 0 {
			http.Error(w, "<html>busy</html>", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "hello from %s\n", r.Host)
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "load.json")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-url", srv.URL + "/", "-host", "web.test", "-clients", "2", "-out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("run = %d, want 0; stderr: %s", code, stderr.String())
	}
	line := strings.TrimSpace(stdout.String())
	if !regexp.MustCompile(`^requests=[0-9]+ ok=[0-9]+ non2xx=[1-9][0-9]* errors=0 duration=[0-9.]+s$`).MatchString(line) {
		t.Errorf("stdout = %q, want one summary line with non2xx > 0", line)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Summary  string
		Requests int
		OK       int
		Non2xx   int
		Statuses map[string]int
		Bodies   map[string]int
		Failures []string
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("decode %s: %v\n%s", out, err, b)
	}
	if bytes.Contains(b, []byte(`\u003c`)) {
		t.Errorf("report escapes HTML: %s", b)
	}
	// Requests in flight when the load stops are not counted: fewer than
	// the 50 the server saw.
	if rep.Summary != line || rep.Requests < 40 || rep.Bodies["hello from web.test"] != rep.OK ||
		rep.Statuses["503"] != rep.Non2xx || len(rep.Failures) == 0 {
		t.Errorf("report = %+v, want the summary line, statuses, bodies and failures", rep)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-url"},
		{"-url", "http://127.0.0.1:1/", "extra"},
		{"-url", "http://example.com/"},
		{"-url", "http://127.0.0.1:1/", "-clients", "0"},
		{"-url", "http://127.0.0.1:1/", "-max", "0s"},
		{"-nope"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("run(%q) = %d, want 2; stderr: %s", args, code, stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("run(%q) printed %q, want nothing on stdout", args, stdout.String())
		}
	}
}
