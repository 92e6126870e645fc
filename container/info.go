package container

import (
	"context"
	"fmt"

	"github.com/containers/podman/v4/pkg/bindings/system"
	"github.com/gitship/gitship/internal/podmanapi"
)

// Info is what the Podman API service says about itself.
type Info struct {
	// Version is the service's Podman version, e.g. "4.3.1".
	Version string
	// GraphRoot is its image store (what fills up with images and layers).
	GraphRoot string
}

// Info asks the service for its version and image store: an answer means
// the service is up.
func (c *Client) Info(ctx context.Context) (Info, error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return Info{}, err
	}
	i, err := system.Info(cctx, nil)
	if err != nil {
		return Info{}, fmt.Errorf("podman info: %w", podmanapi.Error(c.Socket, err))
	}
	out := Info{Version: i.Version.Version}
	if i.Store != nil {
		out.GraphRoot = i.Store.GraphRoot
	}
	return out, nil
}
