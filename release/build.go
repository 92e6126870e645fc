package release

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gitship/gitship/build"
	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/hook"
)

// buildShared builds under the shared image lock, held until the record
// names the new image (see imagelock.go).
func (r *run) buildShared(ctx context.Context) error {
	unlock, err := r.d.lockImagesShared(ctx, r.p)
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.build(ctx); err != nil {
		return err
	}
	return r.starting()
}

// build exports the commit into a fresh build context and builds its
// image; the context is kept for the next push to reuse.
func (r *run) build(ctx context.Context) error {
	d := r.d
	dir, err := d.newBuildDir(r.app.Name)
	if err != nil {
		return err
	}
	var st hook.Exported
	exported := false
	defer func() {
		if exported {
			err := d.keepContext(r.app.Name, dir, st.Tree)
			if err == nil {
				return
			}
			r.p.Fail("could not keep the build context for the next push: %v", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			r.p.Fail("could not remove build context %s: %v", dir, err)
		}
	}()
	done := r.p.Step("")
	st, err = d.Source.Export(ctx, d.repoPath(r.app.Name), r.rec.Commit, dir, d.previousContext(r.app.Name))
	if err != nil {
		return fmt.Errorf("export %s: %w", hook.Short(r.rec.Commit), err)
	}
	exported = true
	done(exportedLine(r.rec.Commit, st))
	if err := r.readProcfile(dir); err != nil {
		return err
	}
	file, err := buildFile(dir, r.rec.Settings.Dockerfile)
	if errors.Is(err, hook.ErrNoDockerfile) {
		return fmt.Errorf("commit %s has no Dockerfile or Containerfile at its root: add one and push again", hook.Short(r.rec.Commit))
	}
	if err != nil {
		return fmt.Errorf("commit %s: %w", hook.Short(r.rec.Commit), err)
	}
	d.pause(ctx, "build")
	tag, err := r.buildTag(ctx)
	if err != nil {
		return err
	}
	r.p.Say("Building %s from %s with %s", tag, file, d.Builder.Name())
	done = r.p.Step("")
	req := build.Request{
		ContextDir: dir, Dockerfile: file, Tag: tag, Args: r.rec.Settings.BuildArgs,
		// No commit label on the image: a label is a build step, and one
		// that changes with every commit would defeat the layer cache on
		// a push that changed nothing else. The tag names the commit.
		Labels: map[string]string{container.LabelApp: r.app.Name, container.LabelRoot: d.Config.Root},
	}
	img, err := r.buildOnce(ctx, req)
	// Podman's store is shared with other tools: one that removes images
	// during the build can take a layer the build was using. Once more,
	// then say so.
	if errors.Is(err, build.ErrStoreChanged) {
		r.p.Fail("%v", err)
		r.p.Fail("Building once more")
		img, err = r.buildOnce(ctx, req)
		if errors.Is(err, build.ErrStoreChanged) {
			return fmt.Errorf("build %s: Podman's image store lost layers during two builds in a row: is another tool removing images? (%w)", tag, err)
		}
	}
	if err != nil {
		return err
	}
	done(fmt.Sprintf("Built %s", tag))
	r.rec.Image, r.rec.ImageID = img.Tag, img.ID
	return nil
}

// buildOnce runs the builder once, its output indented under the step.
func (r *run) buildOnce(ctx context.Context, req build.Request) (build.Image, error) {
	w, flush := r.p.Indent()
	defer flush()
	return r.d.Builder.Build(ctx, req, w)
}

// buildTag is the name this build gets: ImageTag, or, when an image of
// that name exists already (the same commit built again: a changed
// dockerfile setting or build args, a redeploy), ImageTag-vN. A build never
// moves a name: releases start their image by ID, and the name stays what
// `gitship releases` shows and prune goes by.
func (r *run) buildTag(ctx context.Context) (string, error) {
	tag := ImageTag(r.app.Name, r.rec.Commit)
	cands := []string{tag, tag + "-" + r.rec.Name()}
	// -vN is this release's own; only another instance with an app of
	// the same name can have it.
	for i := 2; i <= 9; i++ {
		cands = append(cands, fmt.Sprintf("%s-%s-%d", tag, r.rec.Name(), i))
	}
	for _, t := range cands {
		ok, err := r.d.Runtime.ImageExists(ctx, t)
		if err != nil {
			return "", fmt.Errorf("choose the image name: %w", err)
		}
		if !ok {
			return t, nil
		}
	}
	return "", fmt.Errorf("no free image name: %s to %s exist already (another gitship instance with an app %s on this host?)",
		cands[0], cands[len(cands)-1], r.app.Name)
}

// ImageTag is the image name of app at commit sha.
func ImageTag(app, sha string) string { return imagePrefix(app) + hook.Short(sha) }

// imagePrefix is gitship's image name of app up to its tag: prune and
// destroy remove only names that start with it.
func imagePrefix(app string) string { return "localhost/gitship/" + app + ":" }

// buildFile is the configured build file (which must be a regular file
// inside dir), or the one FindDockerfile finds at the root.
func buildFile(dir, configured string) (string, error) {
	if configured == "" {
		return hook.FindDockerfile(dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	fi, err := root.Stat(configured)
	if err != nil {
		return "", fmt.Errorf("the configured dockerfile %s: %w", configured, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("the configured dockerfile %s is not a regular file", configured)
	}
	return configured, nil
}
