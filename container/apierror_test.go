package container

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// deadService is a Podman API socket that answers the bindings' ping and
// then drops every request, as a service that dies does.
func deadService(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "podman.sock")
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
	return sock
}

// refusedSocket is a socket file nobody listens on.
func refusedSocket(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "podman.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	return sock
}

// When the Podman API service is gone, an error names the socket and the
// cause in one short line, never the request's URL.
func TestAPIErrorIsShort(t *testing.T) {
	ctx := context.Background()
	refused, dead := refusedSocket(t), deadService(t)
	tests := []struct {
		name, sock string
		call       func(c *Client) error
		want       string
	}{
		{"refused", refused, func(c *Client) error { _, err := c.Inspect(ctx, "x"); return err },
			"podman API at " + refused + ": connection refused (is the podman API service running?)"},
		{"inspect on a dead service", dead, func(c *Client) error { _, err := c.Inspect(ctx, "x"); return err },
			"inspect x: podman API at " + dead + ": the connection closed (is the podman API service running?)"},
		{"list on a dead service", dead, func(c *Client) error {
			_, err := c.List(ctx, map[string]string{LabelApp: "demo", LabelRoot: strings.Repeat("/very/long/root", 20)})
			return err
		}, "list containers: podman API at " + dead + ": the connection closed (is the podman API service running?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(&Client{Socket: "unix://" + tt.sock})
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v\nwant  %s", err, tt.want)
			}
		})
	}
}
