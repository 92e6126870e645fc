package nginx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitship/gitship/nginx"
)

func TestLoopbackAddr(t *testing.T) {
	for in, want := range map[string]string{
		"80":              "127.0.0.1:80",
		"127.0.0.1:18080": "127.0.0.1:18080",
		"0.0.0.0:80":      "127.0.0.1:80",
		"[::]:80":         "[::1]:80",
		"10.1.2.3:8080":   "10.1.2.3:8080",
	} {
		if got := nginx.LoopbackAddr(in); got != want {
			t.Errorf("LoopbackAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// markerServer answers the marker with the old release for the first n
// requests, then with the new one, like nginx while a reload takes effect.
func markerServer(t *testing.T, n int32, host string) (listen string, calls *atomic.Int32) {
	calls = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != nginx.MarkerPath || r.Host != host {
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) <= n {
			fmt.Fprint(w, nginx.MarkerBody("myapp", "v1"))
			return
		}
		fmt.Fprint(w, nginx.MarkerBody("myapp", "v2"))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), calls
}

func TestWaitServed(t *testing.T) {
	listen, calls := markerServer(t, 3, "myapp.example.com")
	if err := nginx.WaitServed(context.Background(), listen, "myapp.example.com", "myapp", "v2", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 4 {
		t.Errorf("polled %d times, want 4 (3 old answers, then the new one)", got)
	}
}

func TestWaitServedTimesOut(t *testing.T) {
	listen, _ := markerServer(t, 1<<30, "myapp.example.com")
	err := nginx.WaitServed(context.Background(), listen, "myapp.example.com", "myapp", "v2", 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), `last answer: "myapp v1"`) {
		t.Fatalf("err = %v, want a timeout naming the last answer", err)
	}
}
