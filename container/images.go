package container

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/containers/podman/v4/pkg/bindings/images"
	"github.com/containers/podman/v4/pkg/domain/entities"
	"github.com/gitship/gitship/internal/podmanapi"
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
	list, err := listImages(cctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", podmanapi.Error(c.Socket, err))
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

// listImages is images.List, once more (up to 5 tries) when it fails
// with "image not known": the 4.3 service reads each image after listing
// their IDs, so an image someone else removes in between (another
// instance's prune, `podman rmi`) fails the whole list. A new list does
// not have it.
func listImages(cctx context.Context, opts *images.ListOptions) ([]*entities.ImageSummary, error) {
	for try := 1; ; try++ {
		list, err := images.List(cctx, opts)
		if err == nil || try == 5 || !strings.Contains(err.Error(), "image not known") {
			return list, err
		}
		select {
		case <-cctx.Done():
			return nil, err
		case <-time.After(time.Duration(try) * 20 * time.Millisecond):
		}
	}
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
		return false, fmt.Errorf("remove image %s: %w", name, podmanapi.Error(c.Socket, errors.Join(errs...)))
	}
	return rep != nil && len(rep.Deleted) > 0, nil
}

// PruneDangling removes the images carrying all labels that have neither
// a name nor a child: what a failed build leaves (its last successful
// steps) and what remains of a chain whose image was removed. Each goes
// by ID and never by force; one a container uses stays. Removing one can
// leave its parent dangling, so it goes round until nothing more goes.
// An image for which keep says yes stays: a release may still run it by
// ID after its name went. With dryRun it only counts the first round.
//
// Not Podman's image prune: through the API (4.3) its label filter
// matches on the key alone, and would take other instances' images.
func (c *Client) PruneDangling(ctx context.Context, labels map[string]string, keep func(Image) bool, dryRun bool) (n int, size int64, err error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return 0, 0, err
	}
	var errs []error
	for round := 0; round < 20; round++ {
		list, err := listImages(cctx, new(images.ListOptions).WithAll(true).WithFilters(map[string][]string{"dangling": {"true"}}))
		if err != nil {
			return n, size, fmt.Errorf("list dangling images: %w", podmanapi.Error(c.Socket, err))
		}
		gone := 0
		for _, l := range list {
			if len(l.Names) > 0 || !hasLabels(l.Labels, labels) {
				continue
			}
			if keep != nil && keep(Image{ID: l.ID, Size: l.Size, Created: time.Unix(l.Created, 0), Labels: l.Labels}) {
				continue
			}
			if dryRun {
				n, size = n+1, size+l.Size
				continue
			}
			if _, rerrs := images.Remove(cctx, []string{l.ID}, new(images.RemoveOptions).WithForce(false)); len(rerrs) > 0 {
				if err := errors.Join(rerrs...); !inUse(err) {
					errs = append(errs, fmt.Errorf("%.12s: %w", l.ID, err))
				}
				continue
			}
			n, size, gone = n+1, size+l.Size, gone+1
		}
		if dryRun || gone == 0 {
			break
		}
	}
	if len(errs) > 0 {
		return n, size, fmt.Errorf("remove build leftovers: %w", errors.Join(errs...))
	}
	return n, size, nil
}

// hasLabels says whether have holds every label of want, value and all.
func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// inUse is Podman refusing to remove an image a container or a child
// image needs: not a failure of the prune, the image just stays.
func inUse(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "in use") || strings.Contains(msg, "child")
}

// ImageUser returns the user image runs as (its USER; "" is root).
func (c *Client) ImageUser(ctx context.Context, image string) (string, error) {
	cctx, err := c.conn(ctx)
	if err != nil {
		return "", err
	}
	rep, err := images.GetImage(cctx, image, nil)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", image, err)
	}
	if rep == nil || rep.ImageData == nil || rep.Config == nil {
		return "", nil
	}
	return rep.Config.User, nil
}
