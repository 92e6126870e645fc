package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gitship/gitship/build"
	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
)

// run is one release in progress: a deploy or a rollback.
type run struct {
	d    *Deployer
	p    *Progress
	app  *state.App
	rec  *state.Record
	prev *state.Record
	// started is set once the new container exists, so fail removes it.
	started bool
	// routed is set once nginx's config names the new release.
	routed bool
	// unconfirmed is set when nginx did not confirm the switch.
	unconfirmed bool
	// reshare is set when the data dir was made group-writable for a new
	// user: once the old release is stopped, what it wrote since is too.
	reshare bool
}

// pipeline walks doc.go's states; a rollback starts at "starting".
func (r *run) pipeline(ctx context.Context, withBuild bool) error {
	if withBuild {
		if err := r.guardDisk(ctx); err != nil {
			return err
		}
		if err := r.buildShared(ctx); err != nil {
			return err
		}
	} else if err := r.starting(); err != nil {
		return err
	}
	if err := r.start(ctx); err != nil {
		return err
	}
	r.d.pause(ctx, "start")
	if err := r.health(ctx); err != nil {
		return err
	}
	if err := r.route(ctx); err != nil {
		return err
	}
	return r.finish(ctx)
}

// starting records that the release has its image and starts now: from
// here on a prune keeps that image.
func (r *run) starting() error {
	r.rec.Status = state.StatusStarting
	return r.d.Store().Save(r.rec)
}

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

// ContainerName is the container of release v of app in the instance
// named instance (config.Config.Instance): two instances on one host never
// pick the same name. An empty instance gives the name without a suffix.
func ContainerName(app string, v int, instance string) string {
	if instance == "" {
		return fmt.Sprintf("gitship-%s-v%d", app, v)
	}
	return fmt.Sprintf("gitship-%s-v%d-%s", app, v, instance)
}

func (r *run) fail(ctx context.Context, cause error) error {
	d := r.d
	// Cleanup runs even when ctx was cancelled (a signal): it must not
	// leave a container behind.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if r.started && !r.routed {
		// The container goes: keep its output for `gitship logs --release`.
		if err := d.keepOutput(cctx, r.app.Name, r.rec); err != nil {
			r.p.Fail("could not keep the output of %s: %v", r.rec.Container, err)
		}
		if err := d.Runtime.Remove(cctx, r.rec.Container); err != nil {
			r.p.Fail("could not remove %s: %v", r.rec.Container, err)
		}
		if err := d.Fs.RemoveAll(d.socketDir(r.app.Name, r.rec.Version)); err != nil {
			r.p.Fail("could not remove socket dir: %v", err)
		}
	}
	r.rec.Status = state.StatusFailed
	r.rec.Reason = oneLine(cause.Error())
	r.rec.Finished = d.Now()
	if err := d.Store().Save(r.rec); err != nil {
		r.p.Fail("could not record the failure: %v", err)
	}
	what := "Deploy"
	if r.rec.Kind == state.KindRollback {
		what = "Rollback"
	}
	r.p.Fail("%s of %s %s failed: %s", what, r.app.Name, r.rec.Name(), r.rec.Reason)
	if r.prev != nil {
		r.p.Fail("%s is still live (%s).", r.prev.Name(), hook.Short(r.prev.Commit))
	} else {
		r.p.Fail("No release of %s is live yet.", r.app.Name)
	}
	if r.rec.Kind != state.KindRollback {
		r.p.Fail("Fix it and push again, or run `gitship deploy %s` on the server.", r.app.Name)
	}
	return fmt.Errorf("%w: %s", ErrDeployFailed, r.rec.Reason)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// mkdirShared makes dir owned by the nginx group with mode 2770: the
// setgid bit makes the socket the app creates inherit the group, so nginx
// reaches it; nothing is world-writable.
func (d *Deployer) mkdirShared(dir string) error { return d.mkdirGroup(dir, d.NginxGID) }

// mkdirGroup makes dir owned by group gid with mode 2770 (setgid: what is
// created in it inherits the group).
func (d *Deployer) mkdirGroup(dir string, gid int) error {
	if err := d.Fs.MkdirAll(dir, 0o770); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := d.Fs.Chown(dir, os.Getuid(), gid); err != nil {
		return fmt.Errorf("chown %s: %w", dir, err)
	}
	if err := d.Fs.Chmod(dir, os.ModeSetgid|0o770); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	return nil
}

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
