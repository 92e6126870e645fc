package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/gitship/gitship/container"
	"github.com/spf13/afero"
)

// Destroy removes app: its containers, its nginx file, its repository,
// its state and socket dirs. Its data dir is kept unless purgeData. Its
// images stay for `gitship prune` (they carry the app's label).
func (d *Deployer) Destroy(ctx context.Context, app string, purgeData bool, out io.Writer) error {
	p := &Progress{W: out, Now: d.Now}
	if _, err := LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return err
	}
	s, err := d.begin(ctx, app, "destroy", p, nil)
	if err != nil {
		return err
	}
	defer s.end()
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
	for _, dir := range []string{d.repoPath(app), filepath.Join(d.Config.RunDir, app)} {
		if err := d.Fs.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove %s: %w", dir, err)
		}
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
