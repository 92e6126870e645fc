package container

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/containers/podman/v4/pkg/bindings/images"
)

// Image is what gitship needs to know about an image in Podman's store.
type Image struct {
	ID string
	// Names are its tags, e.g. localhost/gitship/APP:sha12. One image can
	// carry names that are not gitship's (someone tagged it).
	Names   []string
	Size    int64
	Created time.Time
	Labels  map[string]string
}

// Images returns the images carrying all the given labels.
func (c *Client) Images(ctx context.Context, labels map[string]string) ([]Image, error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return nil, err
	}
	opts := new(images.ListOptions).WithAll(false).WithFilters(labelFilter(labels))
	list, err := images.List(cctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	out := make([]Image, 0, len(list))
	for _, l := range list {
		names := l.Names
		if len(names) == 0 {
			names = l.RepoTags
		}
		out = append(out, Image{ID: l.ID, Names: names, Size: l.Size,
			Created: time.Unix(l.Created, 0), Labels: l.Labels})
	}
	return out, nil
}

// RemoveImage removes the image name, never by force: an image that a
// container uses stays, and an image with other names only loses this one
// (force would remove the containers using it, and other people's tags).
// It reports whether the image itself was deleted, not just untagged.
func (c *Client) RemoveImage(ctx context.Context, name string) (deleted bool, err error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return false, err
	}
	rep, errs := images.Remove(cctx, []string{name}, new(images.RemoveOptions).WithForce(false))
	if len(errs) > 0 {
		return false, fmt.Errorf("remove image %s: %w", name, errors.Join(errs...))
	}
	return rep != nil && len(rep.Deleted) > 0, nil
}

// PruneDangling removes the images carrying all labels that have neither
// a name nor a child: what a failed build leaves (its last successful
// steps) and what remains of a chain whose image was removed. It is
// Podman's own image prune, which never forces. With dryRun it only
// counts them.
func (c *Client) PruneDangling(ctx context.Context, labels map[string]string, dryRun bool) (n int, size int64, err error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return 0, 0, err
	}
	filters := labelFilter(labels)
	if dryRun {
		filters["dangling"] = []string{"true"}
		list, err := images.List(cctx, new(images.ListOptions).WithAll(true).WithFilters(filters))
		if err != nil {
			return 0, 0, fmt.Errorf("list dangling images: %w", err)
		}
		for _, l := range list {
			n, size = n+1, size+l.Size
		}
		return n, size, nil
	}
	reps, err := images.Prune(cctx, new(images.PruneOptions).WithAll(false).WithFilters(filters))
	if err != nil {
		return 0, 0, fmt.Errorf("prune dangling images: %w", err)
	}
	var errs []error
	for _, r := range reps {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%.12s: %w", r.Id, r.Err))
			continue
		}
		n, size = n+1, size+int64(r.Size)
	}
	if len(errs) > 0 {
		return n, size, fmt.Errorf("prune dangling images: %w", errors.Join(errs...))
	}
	return n, size, nil
}
