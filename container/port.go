package container

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	nettypes "github.com/containers/common/libnetwork/types"
	"github.com/containers/podman/v4/pkg/bindings/containers"
	"github.com/containers/podman/v4/pkg/specgen"
	"github.com/gitship/gitship/internal/podmanapi"
)

// publishIP is the only host address a container port is published on:
// nothing of an app is reachable from outside the host but through nginx.
const publishIP = "127.0.0.1"

// publish maps s.Port to a host port on 127.0.0.1 that Podman picks (host
// port 0: the service chooses a free one, so two releases of an app never
// collide), and gives the app PORT unless the caller set it.
func publish(g *specgen.SpecGenerator, s Spec) error {
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("container %s: port %d out of range", s.Name, s.Port)
	}
	if s.Network == "host" || s.Network == "none" {
		return fmt.Errorf("container %s: port %d cannot be published with network %q", s.Name, s.Port, s.Network)
	}
	g.PortMappings = []nettypes.PortMapping{{HostIP: publishIP, ContainerPort: uint16(s.Port), Protocol: "tcp"}}
	if _, ok := s.Env["PORT"]; !ok {
		env := make(map[string]string, len(s.Env)+1)
		for k, v := range s.Env {
			env[k] = v
		}
		env["PORT"] = strconv.Itoa(s.Port)
		g.Env = env
	}
	return nil
}

// HostPort returns the host port on 127.0.0.1 that the container's TCP
// port containerPort is published on, or an error when it is not.
func (c *Client) HostPort(ctx context.Context, name string, containerPort int) (int, error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return 0, err
	}
	d, err := containers.Inspect(cctx, name, nil)
	if err != nil {
		if isNotFound(err) {
			return 0, fmt.Errorf("inspect %s: %w", name, ErrNotFound)
		}
		return 0, fmt.Errorf("inspect %s: %w", name, podmanapi.Error(c.Socket, err))
	}
	key := strconv.Itoa(containerPort) + "/tcp"
	var bindings []string
	if d.NetworkSettings != nil {
		for _, b := range d.NetworkSettings.Ports[key] {
			if b.HostIP == publishIP {
				return strconv.Atoi(b.HostPort)
			}
			bindings = append(bindings, b.HostIP+":"+b.HostPort)
		}
	}
	if len(bindings) > 0 {
		return 0, fmt.Errorf("container %s: port %s is published on %s, not on %s", name, key, strings.Join(bindings, ", "), publishIP)
	}
	return 0, fmt.Errorf("container %s: port %s is not published", name, key)
}

// A Listener is a TCP socket in the LISTEN state.
type Listener struct {
	Addr netip.Addr // 0.0.0.0 or :: for every address
	Port int
}

// Loopback says whether only the container itself can connect: a port
// published from the host does not reach an app listening on 127.0.0.1
// inside its container (Flask's development server does by default).
func (l Listener) Loopback() bool { return l.Addr.IsLoopback() }

func (l Listener) String() string { return netip.AddrPortFrom(l.Addr, uint16(l.Port)).String() }

// Listening returns the TCP sockets listening in the container's network
// namespace (IPv4 and IPv6, sorted by port): what to tell a user whose app
// did not answer on $PORT. It reads /proc/PID/net/tcp{,6} of the
// container's main process, so it needs the Podman service on this host,
// the right to read that process's /proc (root) and a running container;
// with the host network it sees the host's sockets.
func (c *Client) Listening(ctx context.Context, name string) ([]Listener, error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return nil, err
	}
	d, err := containers.Inspect(cctx, name, nil)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("inspect %s: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("inspect %s: %w", name, podmanapi.Error(c.Socket, err))
	}
	if d.State == nil || !d.State.Running || d.State.Pid == 0 {
		return nil, fmt.Errorf("listening sockets of %s: the container is not running", name)
	}
	var out []Listener
	for _, f := range []string{"tcp", "tcp6"} {
		l, err := readListeners(fmt.Sprintf("/proc/%d/net/%s", d.State.Pid, f))
		if errors.Is(err, os.ErrNotExist) && f == "tcp6" {
			continue // a kernel without IPv6
		}
		if err != nil {
			return nil, fmt.Errorf("listening sockets of %s: %w", name, err)
		}
		out = append(out, l...)
	}
	slices.SortFunc(out, func(a, b Listener) int {
		if a.Port != b.Port {
			return a.Port - b.Port
		}
		return a.Addr.Compare(b.Addr)
	})
	return slices.Compact(out), nil
}

func readListeners(path string) ([]Listener, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := parseListeners(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// tcpListen is the state TCP_LISTEN in /proc/net/tcp.
const tcpListen = "0A"

// parseListeners reads a /proc/net/tcp or tcp6 table: a header line, then
// "sl local_address rem_address st ..." where an address is the IP in hex,
// each 32-bit word in host (little-endian) order, a colon and the port.
func parseListeners(r io.Reader) ([]Listener, error) {
	var out []Listener
	sc := bufio.NewScanner(r)
	for first := true; sc.Scan(); first = false {
		fields := strings.Fields(sc.Text())
		if first || len(fields) < 4 || fields[3] != tcpListen {
			continue
		}
		ip, port, ok := strings.Cut(fields[1], ":")
		if !ok {
			return nil, fmt.Errorf("bad local address %q", fields[1])
		}
		p, err := strconv.ParseUint(port, 16, 16)
		if err != nil {
			return nil, fmt.Errorf("bad local address %q", fields[1])
		}
		b, err := hex.DecodeString(ip)
		if err != nil || (len(b) != 4 && len(b) != 16) {
			return nil, fmt.Errorf("bad local address %q", fields[1])
		}
		for i := 0; i < len(b); i += 4 {
			b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
		}
		addr, _ := netip.AddrFromSlice(b)
		out = append(out, Listener{Addr: addr.Unmap(), Port: int(p)})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
