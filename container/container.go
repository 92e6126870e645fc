// Package container starts, inspects and stops release containers through
// the Podman API bindings. Everything Podman-specific stays in here.
package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	nettypes "github.com/containers/common/libnetwork/types"
	"github.com/containers/podman/v4/pkg/bindings"
	"github.com/containers/podman/v4/pkg/bindings/containers"
	"github.com/containers/podman/v4/pkg/bindings/images"
	"github.com/containers/podman/v4/pkg/specgen"
	"github.com/gitship/gitship/internal/podmanapi"
	spec "github.com/opencontainers/runtime-spec/specs-go"
)

// Mount paths inside every release container (the container contract).
const (
	SocketMount = "/run/gitship"
	SocketPath  = SocketMount + "/web.sock"
	DataMount   = "/data"
)

// Labels put on every gitship container and image.
const (
	LabelApp     = "gitship.app"
	LabelRelease = "gitship.release"
	LabelCommit  = "gitship.commit"
	LabelRoot    = "gitship.root"
	// LabelProcess is the process type a container runs (web, worker, ...:
	// a Procfile's types), set from Spec.Process.
	LabelProcess = "gitship.process"
)

// ErrNotFound is returned when a container does not exist.
var ErrNotFound = errors.New("no such container")

// ErrForeign is returned for a container that is not this instance's: it
// lacks the gitship.root label of the Client's Root. gitship never stops or
// removes one.
var ErrForeign = errors.New("not this gitship instance's container")

// Client talks to one Podman API service.
type Client struct {
	// Socket is the service URI, e.g. unix:///run/podman/podman.sock.
	Socket string
	// Root is the instance (its gitship.root label): Stop and Remove touch
	// only containers that carry it. Empty: no check (tools, tests).
	Root string
}

// Spec describes one release container.
type Spec struct {
	Name      string            // gitship-APP-vN
	Image     string            // localhost/gitship/APP:sha12
	SocketDir string            // host dir mounted at SocketMount ("": none, e.g. a worker)
	DataDir   string            // host dir mounted at DataMount ("": none)
	Env       map[string]string // app environment plus GITSHIP_*
	Labels    map[string]string
	Network   string // "bridge" (default network), "none", "host" or a network name
	Groups    []string
	// Port is the TCP port the app listens on inside the container (5000,
	// as Dokku sets $PORT; 0: none). Start publishes it on 127.0.0.1 only,
	// on a host port Podman picks (read it back with HostPort), and sets
	// PORT in the environment unless Env has it. It needs a bridge
	// network: with "host" the app would listen on the host's addresses,
	// with "none" nothing could reach it.
	Port int
	// Command replaces the image's whole command line, ENTRYPOINT and CMD
	// alike, as a Procfile command does on Heroku (nil: the image's).
	Command []string
	// Process is the process type (web, worker, ...), put on the container
	// as the label LabelProcess ("": no label).
	Process string
	// Restart is the restart policy: "" or "always" (web and workers),
	// "no" (one-off runs, cron jobs), "on-failure", "unless-stopped".
	Restart string
	// Memory is a hard memory limit in bytes (0: none).
	Memory int64
	// CPUs is a CPU limit in cores, e.g. 0.5 (0: none).
	CPUs float64
}

// State is what gitship shows about a container.
type State struct {
	Name     string
	Status   string // running, exited, ...
	Running  bool
	ExitCode int32
	// Restarts counts restarts by the restart policy: a release that
	// restarted before it ever answered is crashing.
	Restarts int32
	// StartedAt is when the container last started (zero: never).
	StartedAt time.Time
	// FinishedAt is when it last exited (zero: never).
	FinishedAt time.Time
	// OOMKilled says the kernel killed it for its memory limit.
	OOMKilled bool
	Image     string
	Labels    map[string]string
}

func (c *Client) conn(ctx context.Context) (context.Context, error) {
	cctx, err := bindings.NewConnection(ctx, c.Socket)
	if err != nil {
		if short := podmanapi.Error(c.Socket, err); short != err {
			return nil, short
		}
		return nil, fmt.Errorf("connect to podman at %s: %w (is the podman API service running?)", c.Socket, err)
	}
	return cctx, nil
}

// Start creates and starts the container described by s.
func (c *Client) Start(ctx context.Context, s Spec) error {
	cctx, err := c.conn(ctx)
	if err != nil {
		return err
	}
	g, err := generator(s)
	if err != nil {
		return err
	}
	if _, err := containers.CreateWithSpec(cctx, g, nil); err != nil {
		if _, oerr := c.owned(cctx, s.Name); errors.Is(oerr, ErrForeign) {
			return fmt.Errorf("create container %s: the name is taken by a container that is %w", s.Name, oerr)
		}
		return fmt.Errorf("create container %s: %w", s.Name, podmanapi.Error(c.Socket, err))
	}
	if err := containers.Start(cctx, s.Name, nil); err != nil {
		return fmt.Errorf("start container %s: %w", s.Name, podmanapi.Error(c.Socket, err))
	}
	return nil
}

func generator(s Spec) (*specgen.SpecGenerator, error) {
	g := specgen.NewSpecGenerator(s.Image, false)
	g.Name = s.Name
	g.Env = s.Env
	g.Labels = s.Labels
	if s.Process != "" {
		g.Labels = make(map[string]string, len(s.Labels)+1)
		for k, v := range s.Labels {
			g.Labels[k] = v
		}
		g.Labels[LabelProcess] = s.Process
	}
	g.RestartPolicy = "always"
	if s.Restart != "" {
		g.RestartPolicy = s.Restart
	}
	if s.Command != nil {
		g.Command = s.Command
		// [""] and not an empty list, which the JSON drops and the server
		// then replaces with the image's ENTRYPOINT.
		g.Entrypoint = []string{""}
	}
	// The socket must be reachable by nginx's worker group and nothing may be
	// world-writable: the group comes in as a supplementary group, the
	// umask keeps "other" out (see README, "Container contract").
	g.Umask = "0007"
	g.Groups = s.Groups
	for _, m := range []struct{ src, dst string }{{s.SocketDir, SocketMount}, {s.DataDir, DataMount}} {
		if m.src != "" {
			g.Mounts = append(g.Mounts, spec.Mount{Destination: m.dst, Source: m.src, Type: "bind", Options: []string{"rbind", "rw"}})
		}
	}
	rl, err := rlimits()
	if err != nil {
		return nil, err
	}
	g.Rlimits = rl
	if s.Memory > 0 || s.CPUs > 0 {
		g.ResourceLimits = &spec.LinuxResources{}
	}
	if s.Memory > 0 {
		// Swap is memory+swap in OCI terms: the same figure means no swap,
		// so the app that outgrows its limit is killed, not left to page
		// the host to a crawl (the podman CLI's default is twice the limit).
		m, sw := s.Memory, s.Memory
		g.ResourceLimits.Memory = &spec.LinuxMemory{Limit: &m, Swap: &sw}
	}
	if s.CPUs > 0 {
		period := uint64(100000)
		quota := int64(s.CPUs * float64(period))
		g.ResourceLimits.CPU = &spec.LinuxCPU{Period: &period, Quota: &quota}
	}
	setNetwork(g, s.Network)
	if s.Port != 0 {
		if err := publish(g, s); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func setNetwork(g *specgen.SpecGenerator, network string) {
	switch network {
	case "", "bridge":
		g.NetNS = specgen.Namespace{NSMode: specgen.Bridge}
	case "none":
		g.NetNS = specgen.Namespace{NSMode: specgen.NoNetwork}
	case "host":
		g.NetNS = specgen.Namespace{NSMode: specgen.Host}
	default:
		g.NetNS = specgen.Namespace{NSMode: specgen.Bridge}
		g.Networks = map[string]nettypes.PerNetworkOptions{network: {}}
	}
}

// rlimits passes the caller's own nofile and nproc limits: the service
// would otherwise set 1048576, above this host's hard limit, and start
// fails. Both must be given, or the missing one gets that default.
func rlimits() ([]spec.POSIXRlimit, error) {
	var out []spec.POSIXRlimit
	for _, r := range []struct {
		name string
		res  int
	}{{"nofile", syscall.RLIMIT_NOFILE}, {"nproc", rlimitNproc}} {
		var l syscall.Rlimit
		if err := syscall.Getrlimit(r.res, &l); err != nil {
			return nil, fmt.Errorf("read rlimit %s: %w", r.name, err)
		}
		out = append(out, spec.POSIXRlimit{Type: r.name, Hard: l.Max, Soft: l.Cur})
	}
	return out, nil
}

// rlimitNproc is RLIMIT_NPROC on Linux (not exported by package syscall).
const rlimitNproc = 6

// Inspect returns the state of the named container, or ErrNotFound.
func (c *Client) Inspect(ctx context.Context, name string) (State, error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return State{}, err
	}
	d, err := containers.Inspect(cctx, name, nil)
	if err != nil {
		if isNotFound(err) {
			return State{}, fmt.Errorf("inspect %s: %w", name, ErrNotFound)
		}
		return State{}, fmt.Errorf("inspect %s: %w", name, podmanapi.Error(c.Socket, err))
	}
	st := State{Name: strings.TrimPrefix(d.Name, "/"), Image: d.ImageName}
	if d.State != nil {
		st.Status = d.State.Status
		st.Running = d.State.Running
		st.ExitCode = d.State.ExitCode
		st.StartedAt = d.State.StartedAt
		st.FinishedAt = d.State.FinishedAt
		st.OOMKilled = d.State.OOMKilled
	}
	st.Restarts = d.RestartCount
	if d.Config != nil {
		st.Labels = d.Config.Labels
	}
	return st, nil
}

// Stop sends SIGTERM and, after timeout seconds, SIGKILL. A missing or
// already stopped container is not an error; one of another instance is
// ErrForeign and is left alone.
func (c *Client) Stop(ctx context.Context, name string, timeout uint) error {
	cctx, id, err := c.ownedConn(ctx, "stop", name)
	if err != nil || id == "" {
		return err
	}
	err = containers.Stop(cctx, id, new(containers.StopOptions).WithTimeout(timeout).WithIgnore(true))
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("stop %s: %w", name, podmanapi.Error(c.Socket, err))
	}
	return nil
}

// ownedConn connects and resolves name (owned) for the operation op
// ("stop"): the ID, or "" without an error when there is no such
// container, which op then has nothing to do with.
func (c *Client) ownedConn(ctx context.Context, op, name string) (context.Context, string, error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return nil, "", err
	}
	id, err := c.owned(cctx, name)
	if errors.Is(err, ErrNotFound) {
		return cctx, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", op, name, err)
	}
	return cctx, id, nil
}

// owned returns the ID of the container name when it is this instance's,
// ErrNotFound when there is none, and ErrForeign when it belongs to
// someone else. Acting on the ID afterwards means a container that
// replaced it under the same name in the meantime is not touched either.
func (c *Client) owned(cctx context.Context, name string) (string, error) {
	d, err := containers.Inspect(cctx, name, nil)
	if isNotFound(err) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("inspect: %w", podmanapi.Error(c.Socket, err))
	}
	if c.Root != "" {
		got := ""
		if d.Config != nil {
			got = d.Config.Labels[LabelRoot]
		}
		if got != c.Root {
			if got == "" {
				return "", fmt.Errorf("%w: it has no %s label", ErrForeign, LabelRoot)
			}
			return "", fmt.Errorf("%w: it belongs to the instance at %s", ErrForeign, got)
		}
	}
	return d.ID, nil
}

// Remove force-removes the container; a missing one is not an error, one
// of another instance (or not gitship's) is ErrForeign and stays.
// A container that its restart policy is restarting at that moment can
// refuse ("container state improper"): that is retried for a few seconds.
func (c *Client) Remove(ctx context.Context, name string) error {
	cctx, id, err := c.ownedConn(ctx, "remove", name)
	if err != nil || id == "" {
		return err
	}
	opts := new(containers.RemoveOptions).WithForce(true).WithIgnore(true).WithTimeout(0)
	delay := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err = containers.Remove(cctx, id, opts)
		if err == nil || isNotFound(err) {
			return nil
		}
		if attempt == 8 {
			return fmt.Errorf("remove %s: %w", name, podmanapi.Error(c.Socket, err))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove %s: %w", name, podmanapi.Error(c.Socket, err))
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// List returns the containers carrying all the given labels.
func (c *Client) List(ctx context.Context, labels map[string]string) ([]State, error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return nil, err
	}
	opts := new(containers.ListOptions).WithAll(true).WithFilters(labelFilter(labels))
	list, err := containers.List(cctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", podmanapi.Error(c.Socket, err))
	}
	out := make([]State, 0, len(list))
	for _, l := range list {
		name := ""
		if len(l.Names) > 0 {
			name = l.Names[0]
		}
		out = append(out, State{Name: name, Status: l.State, Running: l.State == "running",
			ExitCode: l.ExitCode, Image: l.Image, Labels: l.Labels})
	}
	return out, nil
}

// Logs returns the last n lines the container wrote (stdout and stderr).
func (c *Client) Logs(ctx context.Context, name string, n int) ([]string, error) {
	var b strings.Builder
	if err := c.Follow(ctx, name, n, false, &b); err != nil {
		return nil, err
	}
	out := strings.TrimRight(b.String(), "\n")
	if out == "" {
		return nil, nil
	}
	lines := strings.Split(out, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

func isNotFound(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "no such container") || strings.Contains(err.Error(), "no container with"))
}

// ImageExists says whether image is in Podman's store.
func (c *Client) ImageExists(ctx context.Context, image string) (bool, error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return false, err
	}
	ok, err := images.Exists(cctx, image, nil)
	if err != nil {
		return false, fmt.Errorf("look up image %s: %w", image, podmanapi.Error(c.Socket, err))
	}
	return ok, nil
}

// Follow writes the container's output to w, the last n lines first
// (n < 0: all), and with follow keeps streaming until ctx ends or the
// container stops.
func (c *Client) Follow(ctx context.Context, name string, n int, follow bool, w io.Writer) error {
	cctx, err := c.conn(ctx)
	if err != nil {
		return err
	}
	tail := "all"
	if n >= 0 {
		tail = strconv.Itoa(n)
	}
	ch := make(chan string, 64)
	done := make(chan error, 1)
	opts := new(containers.LogOptions).WithStdout(true).WithStderr(true).WithTail(tail).WithFollow(follow)
	go func() {
		done <- containers.Logs(cctx, name, opts, ch, ch)
		close(ch)
	}()
	// Drain the channel even after a failed write, or the reader blocks.
	var werr error
	for s := range ch {
		if werr == nil {
			_, werr = io.WriteString(w, s)
		}
	}
	if err := <-done; err != nil && ctx.Err() == nil {
		return fmt.Errorf("logs of %s: %w", name, podmanapi.Error(c.Socket, err))
	}
	if werr != nil {
		return fmt.Errorf("logs of %s: %w", name, werr)
	}
	return nil
}

// labelFilter is the API's filter for resources carrying all labels.
func labelFilter(labels map[string]string) map[string][]string {
	filter := make([]string, 0, len(labels))
	for k, v := range labels {
		filter = append(filter, k+"="+v)
	}
	return map[string][]string{"label": filter}
}
