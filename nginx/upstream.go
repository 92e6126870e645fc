package nginx

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"

	crossplane "github.com/nginxinc/nginx-go-crossplane"
)

// unixPrefix starts an upstream that is a unix socket, as nginx spells it.
const unixPrefix = "unix:"

// upstreams is what the upstream block lists: Upstreams, or the
// deprecated lone Socket when Upstreams is empty.
func (s Site) upstreams() []string {
	if len(s.Upstreams) == 0 && s.Socket != "" {
		return []string{unixPrefix + s.Socket}
	}
	return s.Upstreams
}

// validUpstreams checks every upstream (see CheckUpstream) and that they
// are all of one kind and listed once.
func (s Site) validUpstreams() error {
	if len(s.Upstreams) > 0 && s.Socket != "" {
		return errors.New("both Upstreams and the deprecated Socket are set")
	}
	ups := s.upstreams()
	if len(ups) == 0 {
		return errors.New("no upstreams")
	}
	seen := make(map[string]bool, len(ups))
	for _, u := range ups {
		if err := CheckUpstream(u); err != nil {
			return err
		}
		if seen[u] {
			return fmt.Errorf("upstream %q listed twice", u)
		}
		seen[u] = true
		if strings.HasPrefix(u, unixPrefix) != strings.HasPrefix(ups[0], unixPrefix) {
			return fmt.Errorf("upstreams mix unix sockets and TCP addresses (%q, %q)", ups[0], u)
		}
	}
	return nil
}

// CheckUpstream accepts "unix:" and an absolute socket path, or a
// loopback address with a port ("127.0.0.1:5000", "[::1]:5000"), and
// nothing else: nginx must never proxy an app through a public address
// or a host name it would resolve.
func CheckUpstream(u string) error {
	if strings.ContainsFunc(u, isControl) {
		return fmt.Errorf("upstream %q contains a control character", u)
	}
	if p, ok := strings.CutPrefix(u, unixPrefix); ok {
		if !path.IsAbs(p) {
			return fmt.Errorf("upstream %q: socket %q is not an absolute path", u, p)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(u)
	if err != nil {
		return fmt.Errorf("upstream %q is neither unix:/PATH nor a loopback HOST:PORT", u)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" || addr.Is4In6() {
		return fmt.Errorf("upstream %q: host %q is not an IP address (want 127.0.0.1 or [::1])", u, host)
	}
	if !addr.IsLoopback() {
		return fmt.Errorf("upstream %q: %s is not a loopback address", u, host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return fmt.Errorf("upstream %q: port %q is not a number from 1 to 65535", u, port)
	}
	return nil
}

// servers is the upstream block's body: one server per web process,
// taken round robin (nginx's default balancing: no directive, no state
// shared between workers).
//
// max_fails=0: nginx never marks a server unavailable. With several
// servers the default (max_fails=1, fail_timeout=10s) would, after one
// refused connection, skip a server for 10 s in that worker, and once every
// server had failed (all restarting together) answer 502 "no live
// upstreams" without trying any; with a dead server a request instead pays
// one refused loopback connect and moves on (proxy_next_upstream in
// proxyDirectives). With one server nginx ignores max_fails anyway.
func (s Site) servers() crossplane.Directives {
	var out crossplane.Directives
	for _, u := range s.upstreams() {
		out = append(out, simple("server", u, "max_fails=0"))
	}
	return out
}
