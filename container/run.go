package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/containers/podman/v4/pkg/bindings/containers"
	"github.com/gitship/gitship/internal/podmanapi"
)

// RunGrace is how long a one-off container has to exit after SIGINT when
// Run's ctx ends (Ctrl-C) before it is killed.
const RunGrace = 10 * time.Second

// Run runs s once in the foreground, like `podman run --rm`: it creates
// the container (restart policy "no", no published port, whatever s says),
// attaches stdin when it is not nil (its end closes the process's stdin)
// and stdout and stderr, starts it, waits for it and removes it, then
// returns the process's exit status. There is no terminal: output streams
// as it comes, with stdout and stderr kept apart.
//
// When ctx ends first, the process gets SIGINT (what Ctrl-C sends) and
// RunGrace to exit before it is killed; Run then returns its exit status,
// if any (else -1), and an error wrapping ctx's.
//
// gitship removes the container itself rather than through Podman's
// auto-removal, which could take it before its exit status is read: a
// gitship killed meanwhile leaves it behind, stopped, with its labels.
func (c *Client) Run(ctx context.Context, s Spec, stdin io.Reader, stdout, stderr io.Writer) (code int, err error) {
	s.Restart, s.Port = "no", 0
	g, err := generator(s)
	if err != nil {
		return -1, err
	}
	g.Stdin = stdin != nil
	cctx, err := c.conn(ctx)
	if err != nil {
		return -1, err
	}
	r, err := containers.CreateWithSpec(cctx, g, nil)
	if err != nil {
		if _, oerr := c.owned(cctx, s.Name); errors.Is(oerr, ErrForeign) {
			return -1, fmt.Errorf("create container %s: the name is taken by a container that is %w", s.Name, oerr)
		}
		return -1, fmt.Errorf("create container %s: %w", s.Name, podmanapi.Error(c.Socket, err))
	}
	// Teardown outlives ctx: a cancelled run still stops and goes.
	bg := context.WithoutCancel(ctx)
	removed := false
	remove := func() error {
		removed = true
		rctx, err := c.conn(bg)
		if err == nil {
			_, err = containers.Remove(rctx, r.ID, new(containers.RemoveOptions).WithForce(true).WithIgnore(true).WithTimeout(0))
		}
		if err != nil {
			return fmt.Errorf("remove container %s: %w", s.Name, podmanapi.Error(c.Socket, err))
		}
		return nil
	}
	defer func() {
		if !removed {
			if rerr := remove(); rerr != nil && err == nil {
				err = rerr
			}
		}
	}()

	// Attach on a connection of its own: the bindings swap the
	// connection's transport for the hijacked one.
	actx, err := c.conn(ctx)
	if err != nil {
		return -1, err
	}
	ready := make(chan bool, 1)
	attached := make(chan error, 1)
	opts := new(containers.AttachOptions).WithStream(true)
	go func() {
		attached <- containers.Attach(actx, r.ID, stdin, stdout, stderr, ready, opts)
	}()
	select {
	case <-ready:
	case err := <-attached:
		return -1, fmt.Errorf("attach to %s: %w", s.Name, podmanapi.Error(c.Socket, err))
	}
	if err := ctx.Err(); err != nil {
		return -1, fmt.Errorf("run %s: %w", s.Name, err)
	}
	// Not on ctx: once asked to start, the process must be seen through
	// (a cancel while starting is an interrupt below, not a half start).
	sctx, err := c.conn(bg)
	if err != nil {
		return -1, err
	}
	if err := containers.Start(sctx, r.ID, nil); err != nil {
		return -1, fmt.Errorf("start container %s: %w", s.Name, podmanapi.Error(c.Socket, err))
	}
	select {
	case aerr := <-attached:
		// the output ended: the process exited (or the service went)
		wctx, err := c.conn(bg)
		if err != nil {
			return -1, err
		}
		code, err := containers.Wait(wctx, r.ID, nil)
		if err != nil {
			return -1, fmt.Errorf("wait for %s: %w", s.Name, podmanapi.Error(c.Socket, err))
		}
		if aerr != nil {
			return int(code), fmt.Errorf("output of %s: %w", s.Name, podmanapi.Error(c.Socket, aerr))
		}
		return int(code), nil
	case <-ctx.Done():
		code, err := c.interrupt(bg, r.ID, s.Name, ctx.Err())
		if rerr := remove(); rerr != nil {
			return code, fmt.Errorf("%w; %w", err, rerr)
		}
		// The stream ends with the container: what it wrote on its way
		// out still reaches stdout, and nothing is written after Run.
		select {
		case <-attached:
		case <-time.After(5 * time.Second):
		}
		return code, err
	}
}

// interrupt sends SIGINT to a one-off container whose run was cancelled
// and waits RunGrace for it to exit; Run's Remove kills it after that.
func (c *Client) interrupt(ctx context.Context, id, name string, why error) (int, error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return -1, err
	}
	if err := containers.Kill(cctx, id, new(containers.KillOptions).WithSignal("SIGINT")); err != nil && !isNotFound(err) {
		return -1, fmt.Errorf("run %s: %w (and SIGINT: %v)", name, why, podmanapi.Error(c.Socket, err))
	}
	wctx, cancel := context.WithTimeout(cctx, RunGrace)
	defer cancel()
	code, err := containers.Wait(wctx, id, nil)
	if err != nil {
		return -1, fmt.Errorf("run %s: %w (it ignored SIGINT for %s and was killed)", name, why, RunGrace)
	}
	return int(code), fmt.Errorf("run %s: %w", name, why)
}
