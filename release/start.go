package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gitship/gitship/container"
)

// start runs the release's container beside the live one, on its own
// socket dir, with its data dir shared.
func (r *run) start(ctx context.Context) error {
	d, a, rec := r.d, r.app, r.rec
	appRun := filepath.Join(d.Config.RunDir, a.Name)
	if err := d.Fs.MkdirAll(appRun, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", appRun, err)
	}
	sock := d.socketDir(a.Name, rec.Version)
	if err := d.mkdirShared(sock); err != nil {
		return err
	}
	dataGID, err := r.prepareData(ctx)
	if err != nil {
		return err
	}
	rec.Container = ContainerName(a.Name, rec.Version, d.Instance)
	rec.Socket = filepath.Join(sock, filepath.Base(container.SocketPath))
	if err := d.Store().Save(rec); err != nil {
		return err
	}
	// A container of this name can only be a leftover of a deploy that
	// was killed before it recorded anything; it never served. One that
	// is not this instance's is refused by Remove and stays.
	if err := d.Runtime.Remove(ctx, rec.Container); err != nil {
		return fmt.Errorf("a container named %s is in the way: %w", rec.Container, err)
	}
	mem, cpus, err := rec.Settings.Limits()
	if err != nil {
		return err
	}
	done := r.p.Step("")
	r.started = true
	spec := d.releaseSpec(rec, dataGID, mem, cpus)
	spec.Name, spec.SocketDir = rec.Container, sock
	spec.Groups = append([]string{strconv.Itoa(d.NginxGID)}, spec.Groups...)
	if err := d.Runtime.Start(ctx, spec); err != nil {
		return err
	}
	done(fmt.Sprintf("Started %s", rec.Container))
	return nil
}

// env is the release's environment: the app's own, then gitship's, which
// always wins (GITSHIP_* keys are reserved).
func (r *run) env() map[string]string { return releaseEnv(r.rec) }

// ContainerName is the container of release v of app in the instance
// named instance (config.Config.Instance): two instances on one host never
// pick the same name. An empty instance gives the name without a suffix.
func ContainerName(app string, v int, instance string) string {
	if instance == "" {
		return fmt.Sprintf("gitship-%s-v%d", app, v)
	}
	return fmt.Sprintf("gitship-%s-v%d-%s", app, v, instance)
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
