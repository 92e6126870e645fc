package container

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// flakyImageService answers the image list with Podman 4.3's "image not
// known" failures first (an image removed by someone else between its
// listing and its reading), then with one image.
func flakyImageService(t *testing.T, failures int32) (sock string, lists *atomic.Int32) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "podman.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	lists = new(atomic.Int32)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Libpod-Api-Version", "4.3.1")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/images/json"):
			if lists.Add(1) <= failures {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte(`{"cause":"image not known","message":"reading image \"e3a5\": locating image with ID \"e3a5\": image not known","response":500}`))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`[{"Id":"abc","Names":["localhost/gitship/demo:0123456789ab"],"Labels":{"gitship.app":"demo"}}]`))
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock, lists
}

// An image removed by someone else while the service reads the list fails
// that one list only: Images asks again.
func TestImagesRetriesAVanishedImage(t *testing.T) {
	for _, tt := range []struct {
		failures int32
		wantErr  bool
	}{{0, false}, {2, false}, {10, true}} {
		sock, lists := flakyImageService(t, tt.failures)
		c := &Client{Socket: "unix://" + sock}
		got, err := c.Images(context.Background(), map[string]string{LabelApp: "demo"})
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "image not known") {
				t.Errorf("%d failures: err %v, want the last 'image not known'", tt.failures, err)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0].ID != "abc" {
			t.Errorf("%d failures: %v, %+v; want the one image", tt.failures, err, got)
		}
		if n := lists.Load(); n != tt.failures+1 {
			t.Errorf("%d failures: %d lists, want %d", tt.failures, n, tt.failures+1)
		}
	}
}
