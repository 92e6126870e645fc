package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/containers/podman/v4/pkg/bindings"
	"github.com/gitship/gitship/internal/podmanapi"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
)

// answerTimeout bounds the check that buildkitd answers: a socket nobody
// listens on fails at once, but a wedged daemon must not hang a push.
const answerTimeout = 3 * time.Second

// BuildKit builds through buildkitd with the BuildKit Go client and loads
// the result into Podman's store, so the image runs exactly as a
// Podman-built one does.
type BuildKit struct {
	Address string // e.g. unix:///run/buildkit/buildkitd.sock
	Podman  string // Podman API URI, where the image is loaded

	// noRelay moves every image with the load path (tests of that path).
	noRelay bool
	// known, if set, replaces knownLayers (tests of the fallback).
	known func(pctx context.Context, repo string) func(digest string) bool
}

// Name says which builder this is, for the push output.
func (b *BuildKit) Name() string { return "buildkit" }

// Build solves req with the Dockerfile frontend, renders BuildKit's progress
// to out as plain lines as it happens, and streams the exported image into
// Podman's store while BuildKit writes it (no temporary file). An image
// Podman already holds (an unchanged rebuild) is not sent again, only tagged.
func (b *BuildKit) Build(ctx context.Context, req Request, out io.Writer) (Image, error) {
	c, err := connect(ctx, b.Address)
	if err != nil {
		return Image{}, err
	}
	defer c.Close()
	pctx, err := bindings.NewConnection(ctx, b.Podman)
	if err != nil {
		if short := podmanapi.Error(b.Podman, err); short != err {
			return Image{}, short
		}
		return Image{}, fmt.Errorf("connect to podman at %s: %w (is the podman API service running?)", b.Podman, err)
	}
	if !b.noRelay {
		if img, done, err := b.buildThroughRelay(ctx, c, pctx, req, out); done {
			return img, err
		}
	}
	opt, err := solveOpt(req)
	if err != nil {
		return Image{}, fmt.Errorf("build %s: %w", req.Tag, err)
	}
	ld := &loader{ctx: pctx}
	opt.Exports = []client.ExportEntry{{
		Type:   client.ExporterDocker,
		Attrs:  map[string]string{"name": req.Tag},
		Output: ld.open,
	}}

	_, solveErr := solve(ctx, c, opt, out)
	res, loadErr := ld.wait(solveErr)
	switch {
	case loadErr != nil:
		// A failed load breaks BuildKit's pipe too; Podman's words say why.
		return Image{}, fmt.Errorf("build %s: load into podman: %s", req.Tag, cleanBuildKitError(podmanapi.Error(b.Podman, loadErr)))
	case solveErr != nil:
		return Image{}, fmt.Errorf("build %s: %s", req.Tag, cleanBuildKitError(solveErr))
	case res == nil:
		return Image{}, fmt.Errorf("build %s: buildkit exported no image", req.Tag)
	}
	tagStart := time.Now()
	img, err := tagged(pctx, req.Tag, res)
	if err != nil {
		return Image{}, fmt.Errorf("build %s: %w", req.Tag, podmanapi.Error(b.Podman, err))
	}
	// The load overlaps the export, so this is the whole move from
	// BuildKit to Podman: first byte to Podman's answer, plus the tag.
	took := res.took + time.Since(tagStart)
	if res.id != "" {
		fmt.Fprintf(out, "Loaded into podman in %.2fs (podman already had image %.12s: tagged only)\n", took.Seconds(), res.id)
	} else {
		fmt.Fprintf(out, "Loaded into podman in %.2fs\n", took.Seconds())
	}
	return img, nil
}

// Available says whether buildkitd answers at address; otherwise the error
// is one line saying how to start it.
func Available(ctx context.Context, address string) error {
	c, err := connect(ctx, address)
	if err != nil {
		return err
	}
	return c.Close()
}

// connect returns a client to a buildkitd that has answered. client.New
// dials lazily, so only a call shows whether anything listens.
func connect(ctx context.Context, address string) (*client.Client, error) {
	c, err := client.New(ctx, address)
	if err != nil {
		return nil, notAnswering(address, err)
	}
	tctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	ws, err := c.ListWorkers(tctx)
	if err == nil && len(ws) == 0 {
		err = errors.New("it has no workers")
	}
	if err != nil {
		c.Close()
		return nil, notAnswering(address, err)
	}
	return c, nil
}

var dialError = regexp.MustCompile(`Error while dialing:? ([^"]+)`)

// notAnswering keeps gRPC's dial error ("dial unix ...: connect: no such
// file or directory") and drops its wrapping.
func notAnswering(address string, err error) error {
	msg := cleanBuildKitError(err)
	if m := dialError.FindStringSubmatch(msg); m != nil {
		msg = strings.TrimSpace(m[1])
	}
	return fmt.Errorf("buildkitd is not answering at %s: %s; start it (systemctl start buildkit, or buildkitd --addr %s)",
		address, msg, address)
}

// solveOpt is everything about req that BuildKit's Dockerfile frontend reads.
// The context is a local mount, so the frontend applies .dockerignore itself.
func solveOpt(req Request) (client.SolveOpt, error) {
	ctxFS, err := fsutil.NewFS(req.ContextDir)
	if err != nil {
		return client.SolveOpt{}, fmt.Errorf("context %s: %w", req.ContextDir, err)
	}
	dfFS, err := fsutil.NewFS(req.ContextDir)
	if err != nil {
		return client.SolveOpt{}, fmt.Errorf("context %s: %w", req.ContextDir, err)
	}
	return client.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: frontendAttrs(req),
		LocalMounts:   map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS},
		// One key per app (the image repository): buildkitd keeps the last
		// context sent under a key and syncs only what changed, so apps
		// must not evict each other's.
		SharedKey: repository(req.Tag),
	}, nil
}

// frontendAttrs maps req onto the Dockerfile frontend's options.
func frontendAttrs(req Request) map[string]string {
	attrs := map[string]string{}
	if req.Dockerfile != "" {
		attrs["filename"] = req.Dockerfile
	}
	for k, v := range req.Labels {
		attrs["label:"+k] = v
	}
	for k, v := range req.Args {
		attrs["build-arg:"+k] = v
	}
	return attrs
}

// solve runs the build and renders its status channel to out until BuildKit
// closes it, and returns what the exporter reported. The display drains
// the channel even after a cancel so that the failing step's output is
// never cut short. Warnings (Dockerfile checks) are already in the plain
// output, as "#N WARN: ..." lines.
func solve(ctx context.Context, c *client.Client, opt client.SolveOpt, out io.Writer) (map[string]string, error) {
	disp, err := progressui.NewDisplay(out, progressui.PlainMode)
	if err != nil {
		return nil, err
	}
	ch := make(chan *client.SolveStatus)
	shown := make(chan error, 1)
	go func() {
		_, err := disp.UpdateFrom(context.WithoutCancel(ctx), ch)
		shown <- err
	}()
	res, solveErr := c.Solve(ctx, nil, opt, ch) // closes ch
	dispErr := <-shown
	if solveErr != nil {
		return nil, solveErr
	}
	if dispErr != nil {
		return nil, dispErr
	}
	return res.ExporterResponse, nil
}

var grpcPrefix = regexp.MustCompile(`^(rpc error: code = \w+ desc = )+`)

// cleanBuildKitError keeps BuildKit's own words on one line: the gRPC
// wrapping and anything after the first line (stack traces) go.
func cleanBuildKitError(err error) string {
	msg := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	return grpcPrefix.ReplaceAllString(msg, "")
}

// repository is an image name without its tag.
func repository(tag string) string {
	if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
		return tag[:i]
	}
	return tag
}
