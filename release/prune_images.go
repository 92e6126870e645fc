package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// ImagePruner lists and removes images in the container runtime. Remove
// is by name and never forced: forcing would also remove the containers
// using the image and names that are not gitship's.
type ImagePruner interface {
	Images(ctx context.Context, labels map[string]string) ([]container.Image, error)
	RemoveImage(ctx context.Context, name string) (deleted bool, err error)
	// PruneDangling removes (dryRun: counts) the images with labels that
	// have no name and no child (build leftovers), except those keep
	// says to keep.
	PruneDangling(ctx context.Context, labels map[string]string, keep func(container.Image) bool, dryRun bool) (n int, size int64, err error)
}

// keepSet is what prune must leave alone of one app: image ID, image
// name (records from before image IDs were recorded) or container name
// -> why.
type keepSet struct {
	ids        map[string]string
	images     map[string]string
	containers map[string]string
}

// planKeep decides what of one app survives a prune: the live release's
// image and container, and the images of the keep newest other releases
// a rollback could go to. Rollbacks reuse an older release's image, so
// images count once, by their newest use. Releases of a deploy in flight
// (or one that died halfway, for recovery to look at) keep theirs too.
func planKeep(list []*state.Record, keep int) keepSet {
	ks := keepSet{ids: map[string]string{}, images: map[string]string{}, containers: map[string]string{}}
	var live *state.Record
	for _, r := range list {
		switch r.Status {
		case state.StatusLive:
			live = r
		case state.StatusBuilding, state.StatusStarting:
			ks.keep(r, "in-flight "+r.Name())
		case state.StatusWarm:
			ks.keep(r, "warm "+r.Name())
		}
	}
	if live != nil {
		ks.keep(live, "live "+live.Name())
	}
	n := 0
	for i := len(list) - 1; i >= 0 && n < keep; i-- {
		r := list[i]
		if r == live || r.LiveSince.IsZero() || r.StartImage() == "" {
			continue
		}
		// the warm release is a rollback target like any other: its
		// image (kept above with its containers) counts as one of the keep
		if ks.keepImage(r, "rollback target "+r.Name()) || r.Status == state.StatusWarm {
			n++
		}
	}
	return ks
}

func (ks keepSet) keep(r *state.Record, why string) {
	ks.keepImage(r, why)
	for _, c := range procsOf(r) { // web and workers
		ks.containers[c.Name] = why
	}
}

// keepImage keeps the image r starts by the ID it recorded, so an image
// that lost its name stays, and by its name, which may have moved to
// another image before releases started images by ID. It says whether r
// adds an image to keep.
func (ks keepSet) keepImage(r *state.Record, why string) bool {
	added := false
	if id := state.ImageID(r.ImageID); id != "" {
		if _, ok := ks.ids[id]; !ok {
			ks.ids[id], added = why, true
		}
	}
	if r.Image != "" {
		if _, ok := ks.images[r.Image]; !ok {
			ks.images[r.Image] = why
			added = added || r.ImageID == ""
		}
	}
	return added
}

// PruneImages removes what gitship owns in this instance (label
// gitship.root = the instance root) and no release needs: stopped
// containers no live release runs, then every image but the live one and
// the keep newest rollback targets of each app. Other software on the
// host uses Podman too, so nothing without that label is ever touched,
// and only gitship's own names of an image are removed. With dryRun it
// only says what it would remove.
func (d *Deployer) PruneImages(ctx context.Context, keep int, dryRun bool, out io.Writer) error {
	return d.pruneImages(ctx, keep, dryRun, &Progress{W: out, Now: d.Now}, "")
}

// pruneImages is PruneImages for a caller that already holds the deploy
// lock of app held (the disk guard of a deploy): flock(2) locks belong to
// the open file, so taking it again would wait for ourselves.
func (d *Deployer) pruneImages(ctx context.Context, keep int, dryRun bool, p *Progress, held string) error {
	own := map[string]string{container.LabelRoot: d.Config.Root}
	imgs, err := d.Images.Images(ctx, own)
	if err != nil {
		return fmt.Errorf("prune images: %w", err)
	}
	ctrs, err := d.Runtime.List(ctx, own)
	if err != nil {
		return fmt.Errorf("prune containers: %w", err)
	}
	// Apps without a named image or a container too: an image that lost
	// its name is kept for a release that starts it by ID.
	inited, err := state.ListApps(d.Fs, d.Config.AppsDir())
	if err != nil {
		return fmt.Errorf("prune images: %w", err)
	}
	apps := map[string]bool{}
	for _, a := range inited {
		apps[a] = true
	}
	for _, im := range imgs {
		apps[im.Labels[container.LabelApp]] = true
	}
	for _, c := range ctrs {
		apps[c.Labels[container.LabelApp]] = true
	}
	delete(apps, "")
	names := make([]string, 0, len(apps))
	for a := range apps {
		names = append(names, a)
	}
	sort.Strings(names)
	what := fmt.Sprint(keep)
	if keep < 0 {
		what = fmt.Sprintf("its keep setting's (default %d)", d.Config.Keep)
	}
	p.Say("Pruning gitship images and stopped containers of %s: keeping each app's live image and %s newest rollback images", d.Config.Root, what)
	t := pruneTotal{dryRun: dryRun, keepIDs: map[string]bool{}, keepApps: map[string]bool{}}
	var errs []error
	for _, app := range names {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		// Under a deploy, waiting for another app's deploy lock could wait
		// for a deploy that waits for ours: skip a busy app instead.
		job := pruneJob{app: app, keep: keep, locked: held == app, noWait: held != ""}
		if err := d.pruneApp(ctx, job, imgs, ctrs, p, &t); err != nil {
			p.Fail("%v", err)
			errs = append(errs, err)
		}
	}
	if err := d.pruneDangling(ctx, own, p, &t); err != nil {
		p.Fail("%v", err)
		errs = append(errs, err)
	}
	p.Say("%s", t.summary())
	return errors.Join(errs...)
}

type pruneTotal struct {
	dryRun           bool
	images, untagged int
	dangling         int
	containers       int
	freed            int64
	// keepIDs and keepApps are what the prune of build leftovers leaves
	// alone: the images releases start by ID (named or not), and every
	// image of an app whose releases were not read (busy, unreadable).
	keepIDs  map[string]bool
	keepApps map[string]bool
}

func (t pruneTotal) summary() string {
	verb := "Removed"
	if t.dryRun {
		verb = "Would remove"
	}
	s := fmt.Sprintf("%s %d images and %d containers, freeing %s", verb, t.images, t.containers, size(t.freed))
	if t.dangling > 0 {
		s = fmt.Sprintf("%s %d images, %d build leftovers and %d containers, freeing %s", verb, t.images, t.dangling, t.containers, size(t.freed))
	}
	if t.untagged > 0 {
		s += fmt.Sprintf(" (%d more images only lost gitship's name: other names keep them)", t.untagged)
	}
	if t.dryRun {
		s += " (dry run)"
	}
	return s
}

// pruneDangling removes the instance's build leftovers (images with its
// root label, no name, no child) under the exclusive image lock.
func (d *Deployer) pruneDangling(ctx context.Context, own map[string]string, p *Progress, t *pruneTotal) error {
	if !t.dryRun {
		unlock, err := d.lockImagesExclusive(ctx, p)
		if err != nil {
			return fmt.Errorf("prune build leftovers: %w", err)
		}
		defer unlock()
	}
	keep := func(im container.Image) bool {
		return t.keepIDs[state.ImageID(im.ID)] || t.keepApps[im.Labels[container.LabelApp]]
	}
	n, freed, err := d.Images.PruneDangling(ctx, own, keep, t.dryRun)
	t.dangling += n
	t.freed += freed
	if n > 0 {
		p.Info("%s %d build leftovers (unnamed images, %s)", removed(t.dryRun), n, size(freed))
	}
	return err
}

// pruneJob is one app to prune: keep < 0 means its keep setting; locked
// means the caller holds its deploy lock; noWait skips the app if another
// process holds it.
type pruneJob struct {
	app    string
	keep   int
	locked bool
	noWait bool
}

// pruneApp prunes one app under its deploy lock, so a deploy never sees
// its new image or container vanish between build and start.
func (d *Deployer) pruneApp(ctx context.Context, job pruneJob,
	imgs []container.Image, ctrs []container.State, p *Progress, t *pruneTotal) error {
	app, keep := job.app, job.keep
	// Until its releases say what they need, no build leftover of the app
	// goes either.
	t.keepApps[app] = true
	var list []*state.Record
	if state.ValidateName(app) == nil {
		a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
		switch {
		case errors.Is(err, state.ErrNoApp):
			// destroyed: none of its images is needed
		case err != nil:
			// Only a missing app is gone: one whose state cannot be read
			// may have releases that need every image.
			p.Fail("skipped %s, its images are kept: %v", app, err)
			return nil
		default:
			if keep < 0 && a.Keep != nil { // --keep wins over the app's
				keep = *a.Keep
			}
			if !job.locked {
				unlock, err := d.lockForPrune(ctx, job, p)
				if err != nil {
					return err
				}
				if unlock == nil {
					return nil
				}
				defer unlock()
			}
			if list, err = d.Store().List(app); err != nil {
				return fmt.Errorf("prune %s: %w", app, err)
			}
		}
	}
	if keep < 0 {
		keep = d.Config.Keep
	}
	ks := planKeep(list, keep)
	delete(t.keepApps, app)
	for id := range ks.ids {
		t.keepIDs[id] = true
	}
	// Containers first: an image a stopped container uses cannot go.
	for _, c := range ctrs {
		name := strings.TrimPrefix(c.Name, "/")
		if c.Labels[container.LabelApp] != app || c.Running || ks.containers[name] != "" {
			continue
		}
		if !t.dryRun {
			if err := d.Runtime.Remove(ctx, name); err != nil {
				return fmt.Errorf("prune %s: %w", app, err)
			}
		}
		t.containers++
		p.Info("%s container %s (%s)", removed(t.dryRun), name, c.Status)
	}
	return d.pruneAppImages(ctx, app, ks, imgs, list, p, t)
}

// lockForPrune takes job.app's deploy lock; with job.noWait a busy lock
// is skipped: nil, nil.
func (d *Deployer) lockForPrune(ctx context.Context, job pruneJob, p *Progress) (func(), error) {
	var unlock func()
	var err error
	if job.noWait {
		unlock, err = d.Locker.TryLock(d.lockPath(job.app))
		if errors.Is(err, ErrLocked) {
			p.Info("skipped %s: a deploy of it is in progress", job.app)
			return nil, nil
		}
	} else {
		unlock, err = d.Locker.Lock(ctx, d.lockPath(job.app), func() { p.Say("%s", d.waitingFor(job.app)) })
	}
	if err != nil {
		return nil, fmt.Errorf("prune %s: %w", job.app, err)
	}
	return unlock, nil
}

// pruneAppImages removes app's images that ks does not keep, under the
// exclusive image lock, taken before the first removal.
func (d *Deployer) pruneAppImages(ctx context.Context, app string, ks keepSet,
	imgs []container.Image, list []*state.Record, p *Progress, t *pruneTotal) error {
	var unlock func()
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	prefix := imagePrefix(app)
	for _, im := range imgs {
		if im.Labels[container.LabelApp] != app || ks.ids[state.ImageID(im.ID)] != "" {
			continue
		}
		var gone []string
		others := 0
		for _, n := range im.Names {
			switch {
			case !strings.HasPrefix(n, prefix):
				others++
			case ks.images[n] != "":
				others++
			default:
				gone = append(gone, n)
			}
		}
		if len(gone) == 0 {
			continue
		}
		deleted := others == 0 // what a dry run expects
		if !t.dryRun && unlock == nil {
			var err error
			if unlock, err = d.lockImagesExclusive(ctx, p); err != nil {
				return fmt.Errorf("prune %s: %w", app, err)
			}
		}
		for _, n := range gone {
			if !t.dryRun {
				ok, err := d.Images.RemoveImage(ctx, n)
				if err != nil {
					return fmt.Errorf("prune %s: %w", app, err)
				}
				deleted = ok
			}
		}
		if !t.dryRun {
			d.markPruned(list, im, gone, deleted, p)
		}
		if deleted {
			t.images++
			t.freed += im.Size
			p.Info("%s image %s (%s)", removed(t.dryRun), strings.Join(gone, ", "), size(im.Size))
		} else {
			t.untagged++
			p.Info("%s name %s (the image has other names, so it stays)", removed(t.dryRun), strings.Join(gone, ", "))
		}
	}
	return nil
}

func removed(dryRun bool) string {
	if dryRun {
		return "would remove"
	}
	return "removed"
}

// markPruned records which releases lost their image, so `gitship
// releases` says which can no longer be rolled back to: those that
// recorded im's ID if it was deleted, and those from before image IDs
// that named it by one of the names gone.
func (d *Deployer) markPruned(list []*state.Record, im container.Image, gone []string, deleted bool, p *Progress) {
	for _, r := range list {
		lost := slices.Contains(gone, r.Image)
		if r.ImageID != "" {
			lost = deleted && state.ImageID(r.ImageID) == state.ImageID(im.ID)
		}
		if r.Pruned || !lost {
			continue
		}
		r.Pruned = true
		if err := d.Store().Save(r); err != nil {
			p.Fail("could not record %s as pruned: %v", r.Name(), err)
		}
	}
}

func prunedMark(r *state.Record) string {
	if r.Pruned {
		return " (pruned)"
	}
	return ""
}
