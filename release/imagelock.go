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
