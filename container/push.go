package container

import (
	"context"
	"fmt"
	"io"

	"github.com/containers/podman/v4/pkg/bindings/images"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gitship/gitship/internal/podmanapi"
)

// Push sends image (an ID or a name in Podman's store) to the registry
// as ref (REGISTRY/REPO:TAG) and returns the reference by digest
// (REGISTRY/REPO@sha256:...), read back from the registry, that a cluster
// pulls. insecure is a registry over plain HTTP (one on loopback, for
// tests). Only the layers the registry lacks travel.
func (c *Client) Push(ctx context.Context, image, ref string, insecure bool) (string, error) {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	tag, err := name.NewTag(ref, opts...)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	cctx, err := c.conn(ctx)
	if err != nil {
		return "", err
	}
	po := new(images.PushOptions).WithQuiet(true).WithProgressWriter(io.Discard)
	if insecure {
		po = po.WithSkipTLSVerify(true)
	}
	if err := images.Push(cctx, image, ref, po); err != nil {
		return "", fmt.Errorf("push %s to %s: %w", image, ref, podmanapi.Error(c.Socket, err))
	}
	desc, err := remote.Head(tag, remote.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("read back %s from the registry: %w", ref, err)
	}
	return tag.Context().Digest(desc.Digest.String()).String(), nil
}
