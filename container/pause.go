package container

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/containers/podman/v4/pkg/bindings/containers"
	"github.com/gitship/gitship/internal/podmanapi"
)

// ErrNotRunning is returned by Pause for a container that is not running
// (nothing to freeze).
var ErrNotRunning = errors.New("container is not running")

// Pause freezes every process of the container (the cgroup freezer): it
// holds where it is, between two system calls, until Unpause. Requests to
// it wait in their sockets' queues; none fails. Only this instance's
// containers are paused (ErrForeign otherwise); a paused one is not an
// error.
func (c *Client) Pause(ctx context.Context, name string) error {
	cctx, err := c.conn(ctx)
	if err != nil {
		return err
	}
	id, err := c.owned(cctx, name)
	if err != nil {
		return fmt.Errorf("pause %s: %w", name, err)
	}
	if err := containers.Pause(cctx, id, nil); err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "already paused"):
			return nil
		case isNotFound(err):
			return fmt.Errorf("pause %s: %w", name, ErrNotFound)
		case strings.Contains(msg, "state improper") || strings.Contains(msg, "not running"):
			return fmt.Errorf("pause %s: %w", name, ErrNotRunning)
		}
		return fmt.Errorf("pause %s: %w", name, podmanapi.Error(c.Socket, err))
	}
	return nil
}

// Unpause thaws a container Pause froze. One that is not paused (any
// more), or gone, is not an error: Unpause runs after whatever failed.
func (c *Client) Unpause(ctx context.Context, name string) error {
	cctx, id, err := c.ownedConn(ctx, "unpause", name)
	if err != nil || id == "" {
		return err
	}
	if err := containers.Unpause(cctx, id, nil); err != nil {
		if isNotFound(err) || strings.Contains(err.Error(), "not paused") {
			return nil
		}
		return fmt.Errorf("unpause %s: %w", name, podmanapi.Error(c.Socket, err))
	}
	return nil
}
