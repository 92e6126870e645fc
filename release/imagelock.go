package release

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/gitship/gitship/config"
)

// Podman's image store is shared by every build and every removal on the
// host, and `podman rmi` also removes the untagged parents of the image it
// removes: the intermediate images a concurrent build of another app may
// have just picked as its layer cache. That build then fails with "layer
// not known". So builds hold the image lock shared, and image removals
// (prune, destroy) hold it exclusively, for as short as they can.
//
// Lock order: an app's deploy lock first, then the image lock. Nobody
// waits for a deploy lock while holding the image lock.

// imagesLockPath is one file per image store, beside it (not in it: the
// store is Podman's), so that every gitship instance using the store,
// whatever its root, takes the same lock.
func (d *Deployer) imagesLockPath() string { return ImagesLockPath(d.Config) }

// ImagesLockPath is the image lock of cfg's image store; whatever else
// removes images from that store (an operator's script, a test's cleanup)
// can take it exclusively with FileLock.
func ImagesLockPath(cfg *config.Config) string {
	if cfg.Podman.Storage == "" {
		return filepath.Join(cfg.Root, "images.lock")
	}
	return filepath.Join(filepath.Dir(filepath.Clean(cfg.Podman.Storage)), "gitship-images.lock")
}

// lockImagesShared is taken by a build.
func (d *Deployer) lockImagesShared(ctx context.Context, p *Progress) (func(), error) {
	unlock, err := d.Locker.RLock(ctx, d.imagesLockPath(), func() {
		p.Say("Waiting for an image prune to finish")
	})
	if err != nil {
		return nil, fmt.Errorf("image store lock: %w", err)
	}
	return unlock, nil
}

// lockImagesExclusive is taken by whatever removes images.
func (d *Deployer) lockImagesExclusive(ctx context.Context, p *Progress) (func(), error) {
	unlock, err := d.Locker.Lock(ctx, d.imagesLockPath(), func() {
		p.Say("Waiting for the builds in progress to finish before removing images")
	})
	if err != nil {
		return nil, fmt.Errorf("image store lock: %w", err)
	}
	return unlock, nil
}
