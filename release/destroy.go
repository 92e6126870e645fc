package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/gitship/gitship/container"
	"github.com/spf13/afero"
)

// Destroy removes app: its containers, its images (gitship's names of
// them only), its nginx file, its repository, its state and socket dirs.
// Its data dir is kept unless purgeData.
func (d *Deployer) Destroy(ctx context.Context, app string, purgeData bool, out io.Writer) error {
	p := &Progress{W: out, Now: d.Now}
	s, _, err := d.beginApp(ctx, app, "destroy", p, nil)
	if err != nil {
		return err
	}
	defer s.end()
	d.endWatch(ctx, app, p, false) // it would stop what is removed here anyway
	states, err := d.Runtime.List(ctx, map[string]string{container.LabelApp: app, container.LabelRoot: d.Config.Root})
	if err != nil {
		return err
	}
	for _, st := range states {
		if err := d.Runtime.Stop(ctx, st.Name, d.StopTimeout); err != nil {
			return err
		}
		if err := d.Runtime.Remove(ctx, st.Name); err != nil {
			return err
		}
		p.Say("Removed container %s", st.Name)
	}
	unlock, err := d.lockNginx(ctx)
	if err != nil {
		return err
	}
	err = d.Proxy.Remove(ctx, app)
	unlock()
	if err != nil {
		return fmt.Errorf("take %s out of nginx: %w", app, err)
	}
	p.Say("Removed %s from nginx", app)
	if err := d.removeImages(ctx, app, p); err != nil {
		return err
	}
	for _, dir := range []string{d.repoPath(app), filepath.Join(d.Config.RunDir, app)} {
		if err := d.Fs.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove %s: %w", dir, err)
		}
	}
	if err := d.removeContext(app); err != nil {
		return err
	}
	if err := d.removeState(app, purgeData); err != nil {
		return err
	}
	if purgeData {
		p.Say("Destroyed %s and its data", app)
	} else {
		p.Say("Destroyed %s; its data is kept in %s (remove it with --purge-data)", app, d.dataDir(app))
	}
	return nil
}

// removeState removes apps/APP but for the data dir (and the lock file
// the caller still holds), or all of it with purgeData.
func (d *Deployer) removeState(app string, purgeData bool) error {
	dir := d.appDir(app)
	entries, err := afero.ReadDir(d.Fs, dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, e := range entries {
		if (e.Name() == "data" && !purgeData) || e.Name() == "deploy.lock" {
			continue
		}
		if err := d.Fs.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("remove %s: %w", e.Name(), err)
		}
	}
	if purgeData {
		return d.Fs.RemoveAll(dir)
	}
	return nil
}

// removeImages removes gitship's names of app's images in this instance.
func (d *Deployer) removeImages(ctx context.Context, app string, p *Progress) error {
	if d.Images == nil {
		return nil
	}
	// One label filter only: Podman 4.3's image list does not AND two.
	imgs, err := d.Images.Images(ctx, map[string]string{container.LabelRoot: d.Config.Root})
	if err != nil {
		return err
	}
	unlock, err := d.lockImagesExclusive(ctx, p)
	if err != nil {
		return err
	}
	defer unlock()
	prefix := imagePrefix(app)
	n := 0
	for _, im := range imgs {
		if im.Labels[container.LabelApp] != app {
			continue
		}
		for _, name := range im.Names {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			if _, err := d.Images.RemoveImage(ctx, name); err != nil {
				return err
			}
			n++
		}
	}
	if n > 0 {
		p.Say("Removed %d image(s) of %s", n, app)
	}
	return nil
}
