package nginx

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// LoopbackAddr is the address to reach nginx listening on listen ("80",
// "127.0.0.1:18080", "0.0.0.0:80", "[::]:80") from this host.
func LoopbackAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return net.JoinHostPort("127.0.0.1", listen)
	}
	switch host {
	case "", "*", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// WaitServed polls nginx at listen until the server block for host answers
// MarkerPath with release of app: then the reload has taken effect and
// new connections reach the new release. It gives up at timeout. nginx
// answers the marker itself, so this works the same whatever the upstreams
// are (sockets or loopback ports) and asks nothing of the app.
func WaitServed(ctx context.Context, listen, host, app, release string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	want := MarkerBody(app, release)
	url := "http://" + LoopbackAddr(listen) + MarkerPath
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var last string
	for {
		got, err := fetch(ctx, client, url, host)
		if err == nil && got == want {
			return nil
		}
		// A fetch cut short by the deadline says nothing about nginx: keep
		// the answer before it.
		if ctx.Err() == nil || last == "" {
			last = got
			if err != nil {
				last = err.Error()
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nginx at %s did not serve %s %s within %s (last answer: %q)", listen, app, release, timeout, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func fetch(ctx context.Context, c *http.Client, url, host string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Served waits (up to 10 s) until nginx serves release of app for host:
// see WaitServed.
func (m *Manager) Served(ctx context.Context, listen, host, app, release string) error {
	return WaitServed(ctx, listen, host, app, release, 10*time.Second)
}
