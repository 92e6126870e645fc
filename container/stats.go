package container

import (
	"context"
	"fmt"

	"github.com/containers/podman/v4/pkg/bindings/containers"
	"github.com/gitship/gitship/internal/podmanapi"
)

// Memory is what a running container uses of memory now and its limit
// (the host's memory when it has none), in bytes: Podman's stats, one
// sample. A container that is not running is ErrNotRunning.
func (c *Client) Memory(ctx context.Context, name string) (usage, limit uint64, err error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return 0, 0, err
	}
	ch, err := containers.Stats(cctx, []string{name}, new(containers.StatsOptions).WithStream(false))
	if err != nil {
		if isNotFound(err) {
			return 0, 0, fmt.Errorf("stats of %s: %w", name, ErrNotFound)
		}
		return 0, 0, fmt.Errorf("stats of %s: %w", name, podmanapi.Error(c.Socket, err))
	}
	found := false
	for rep := range ch {
		if rep.Error != nil {
			err = rep.Error
			continue
		}
		for _, s := range rep.Stats {
			usage, limit, found = s.MemUsage, s.MemLimit, true
		}
	}
	if !found {
		if err == nil {
			err = ErrNotRunning
		}
		return 0, 0, fmt.Errorf("stats of %s: %w", name, err)
	}
	return usage, limit, nil
}
