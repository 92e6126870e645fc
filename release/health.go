package release

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Probe is one health check: an HTTP GET of Path over the unix socket at
// Socket, with Host as the Host header.
type Probe struct {
	Socket string
	Host   string
	Path   string
}

// String describes the probe for the pusher.
func (p Probe) String() string {
	return fmt.Sprintf("GET http://%s%s over unix:%s", p.Host, p.Path, p.Socket)
}

// Answer is what the probe got last.
type Answer struct {
	Status int
	Err    error
}

// String describes the answer for the pusher.
func (a Answer) String() string {
	if a.Err != nil {
		return a.Err.Error()
	}
	if a.Status == 0 {
		return "no answer yet"
	}
	return fmt.Sprintf("HTTP %d", a.Status)
}

// Healthy is an answer below 500.
func (a Answer) Healthy() bool { return a.Err == nil && a.Status > 0 && a.Status < 500 }

// Check runs the probe once.
func (p Probe) Check(ctx context.Context) Answer {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", p.Socket)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Host+p.Path, nil)
	if err != nil {
		return Answer{Err: err}
	}
	req.Header.Set("User-Agent", "gitship-health")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return Answer{Err: shortNetErr(err)}
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return Answer{Status: resp.StatusCode, Err: fmt.Errorf("read body: %w", err)}
	}
	return Answer{Status: resp.StatusCode}
}

// shortNetErr drops the URL noise of net/http errors: what is left says
// whether the socket is missing or refused.
func shortNetErr(err error) error {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s, "dial unix") {
		return fmt.Errorf("socket: %s", s[i+2:])
	}
	return err
}
