package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/containers/podman/v4/pkg/bindings/containers"
	"github.com/containers/podman/v4/pkg/copy"
	"github.com/containers/podman/v4/pkg/specgen"
	"github.com/gitship/gitship/internal/podmanapi"
)

// LabelProbe marks the short-lived containers gitship creates only to look
// into an image (never started).
const LabelProbe = "gitship.probe"

// HasShell says whether image has /bin/sh (a file, or a symlink that
// resolves to one), so that a Procfile command can run through
// `/bin/sh -c`. It runs nothing and pulls nothing: it creates a container
// of the image without starting it, stats the path through the archive
// API and removes the container again. That costs a create, a mount of
// the image's layers and a remove (tens of milliseconds on a small image);
// an image ID does not change, so callers that ask often cache the answer
// per ID. The probe container carries the Client's Root and LabelProbe.
func (c *Client) HasShell(ctx context.Context, image string) (ok bool, err error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return false, err
	}
	g := specgen.NewSpecGenerator(image, false)
	// an image without CMD cannot be created without a command; this one
	// never runs
	g.Command = []string{"/bin/sh"}
	g.Entrypoint = []string{""}
	g.NetNS = specgen.Namespace{NSMode: specgen.NoNetwork}
	g.Labels = map[string]string{LabelProbe: "shell"}
	if c.Root != "" {
		g.Labels[LabelRoot] = c.Root
	}
	r, err := containers.CreateWithSpec(cctx, g, nil)
	if err != nil {
		return false, fmt.Errorf("look for /bin/sh in %s: %w", image, podmanapi.Error(c.Socket, err))
	}
	defer func() {
		// the probe goes even when ctx ended meanwhile
		rctx, rerr := c.conn(context.WithoutCancel(ctx))
		if rerr == nil {
			_, rerr = containers.Remove(rctx, r.ID, new(containers.RemoveOptions).WithForce(true).WithIgnore(true))
		}
		if rerr != nil && err == nil {
			err = fmt.Errorf("remove probe container %.12s of %s: %w", r.ID, image, podmanapi.Error(c.Socket, rerr))
		}
	}()
	st, err := containers.Stat(cctx, r.ID, "/bin/sh")
	switch {
	case errors.Is(err, copy.ErrENOENT):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look for /bin/sh in %s: %w", image, podmanapi.Error(c.Socket, err))
	}
	return st != nil && !st.IsDir, nil
}
