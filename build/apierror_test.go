package build

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A Podman API service that dies mid-build gives one short line that
// names the socket, never the build request's URL (all its options).
func TestPodmanBuildAPIErrorIsShort(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "podman.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("Libpod-Api-Version", "4.3.1")
			w.Write([]byte("OK"))
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Podman{Socket: "unix://" + sock}
	req := Request{ContextDir: dir, Dockerfile: "Dockerfile", Tag: "localhost/gitship/demo:0123456789ab",
		Labels: map[string]string{"gitship.app": "demo", "gitship.root": "/var/lib/gitship"}}
	_, err = p.Build(context.Background(), req, &strings.Builder{})
	want := "build localhost/gitship/demo:0123456789ab: podman API at " + sock + ": the connection closed (is the podman API service running?)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
}
