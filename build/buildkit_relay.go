package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/containers/podman/v4/pkg/bindings/images"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
)

// buildThroughRelay builds req and moves the image into Podman through a
// relay registry (relay.go). done is false when the move failed for a
// reason of the relay's own (the build did not): the caller then builds
// again with the load path, which BuildKit's cache makes an export only.
func (b *BuildKit) buildThroughRelay(ctx context.Context, c *client.Client, pctx context.Context, req Request, out io.Writer) (img Image, done bool, err error) {
	opt, err := solveOpt(req)
	if err != nil {
		return Image{}, true, fmt.Errorf("build %s: %w", req.Tag, err)
	}
	// Beside the context: a killed deploy's cleanup (build-APP.*) takes
	// it too, and the context itself stays exactly the commit's tree.
	dir := strings.TrimSuffix(req.ContextDir, "/") + ".blobs"
	if err := os.Mkdir(dir, 0o700); err != nil {
		fmt.Fprintf(out, "No relay registry (%v): loading the image instead\n", err)
		return Image{}, false, nil
	}
	defer os.RemoveAll(dir)
	known := b.known
	if known == nil {
		known = knownLayers
	}
	rl, err := startRelay(dir, known(pctx, repository(req.Tag)))
	if err != nil {
		fmt.Fprintf(out, "No relay registry (%v): loading the image instead\n", err)
		return Image{}, false, nil
	}
	defer rl.close(ctx)
	ref := rl.ref(req.Tag)
	opt.Exports = []client.ExportEntry{{
		Type: client.ExporterImage,
		Attrs: map[string]string{
			"name": ref, "push": "true", "registry.insecure": "true",
			// no image record in buildkitd (a containerd worker would keep
			// one per push, holding its blobs): Podman has the image
			"store": "false",
			// diffIDs as blob digests: what Podman's store can match
			"compression": "uncompressed", "force-compression": "true",
			"oci-mediatypes": "true",
		},
	}}
	exported, err := solve(ctx, c, opt, out)
	if err != nil {
		msg := cleanBuildKitError(err)
		if strings.Contains(msg, rl.host) {
			fmt.Fprintf(out, "The push to the relay registry failed (%s): loading the image instead\n", msg)
			return Image{}, false, nil
		}
		return Image{}, true, fmt.Errorf("build %s: %s", req.Tag, msg)
	}
	config := exported[exptypes.ExporterImageConfigDigestKey]
	if config == "" {
		fmt.Fprintf(out, "BuildKit reported no image config for %s: loading the image instead\n", ref)
		return Image{}, false, nil
	}
	start := time.Now()
	skipped, sent := rl.stats()
	how := fmt.Sprintf("through a loopback registry (%d blobs sent, %d layers podman had were not", sent, skipped)
	// An unchanged rebuild: Podman has the image (its ID is the config
	// digest), so it only gets the tag, as on the load path.
	id := strings.TrimPrefix(config, "sha256:")
	if has, err := images.Exists(pctx, id, nil); err == nil && has {
		img, err = tagged(pctx, req.Tag, &loaded{id: id})
		if err != nil {
			return Image{}, true, fmt.Errorf("build %s: %w", req.Tag, err)
		}
		fmt.Fprintf(out, "Loaded into podman in %.2fs %s; podman had image %.12s: tagged only)\n", time.Since(start).Seconds(), how, id)
		return img, true, nil
	}
	img, err = pullFromRelay(pctx, ref, req.Tag, config)
	if err != nil {
		fmt.Fprintf(out, "Podman's pull from the relay registry failed (%s): loading the image instead\n", cleanBuildKitError(err))
		return Image{}, false, nil
	}
	fmt.Fprintf(out, "Loaded into podman in %.2fs %s)\n", time.Since(start).Seconds(), how)
	return img, true, nil
}
