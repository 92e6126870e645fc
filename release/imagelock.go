package release

import (
	"context"
	"fmt"
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

func (d *Deployer) imagesLockPath() string { return d.Config.ImagesLock() }

// lockImagesShared is taken by a build.
func (d *Deployer) lockImagesShared(ctx context.Context, p *Progress) (func(), error) {
	return d.lockImages(ctx, d.Locker.RLock, p, "Waiting for an image prune to finish")
}

// lockImagesExclusive is taken by whatever removes images.
func (d *Deployer) lockImagesExclusive(ctx context.Context, p *Progress) (func(), error) {
	return d.lockImages(ctx, d.Locker.Lock, p, "Waiting for the builds in progress to finish before removing images")
}

// lockImages takes the image lock with lock, saying why it waits.
func (d *Deployer) lockImages(ctx context.Context, lock func(context.Context, string, func()) (func(), error), p *Progress, why string) (func(), error) {
	unlock, err := lock(ctx, d.imagesLockPath(), func() { p.Say("%s", why) })
	if err != nil {
		return nil, fmt.Errorf("image store lock: %w", err)
	}
	return unlock, nil
}
