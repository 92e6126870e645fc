package release

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/afero"

	"github.com/gitship/gitship/state"
)

// liveLink is app's live link, run_dir/APP/live (config.Config.LiveLink):
// a symlink to the socket dir of the release nginx serves (run_dir/APP/vN).
// nginx's upstreams name the sockets through it (run_dir/APP/live/web.sock,
// live/web-2/web.sock), so the server block of a release that answers on
// its sockets is the same file for every release of the same shape, and a
// switch between two of them is one rename of the link: each connection
// nginx's workers open after it, old workers and new, reaches the release
// it names. No reload, so none of nginx's 100 ms before its old workers
// stop taking connections. A release that answers on $PORT has its own
// ports in the file and is switched by a reload, as before.
func (d *Deployer) liveLink(app string) string { return d.Config.LiveLink(app) }

// linked says whether nginx reaches rec through the app's live link: a
// release whose web processes answer on their sockets.
func linked(rec *state.Record) bool {
	if rec == nil || rec.Listen == state.ListenPort {
		return false
	}
	web := webProcsOf(rec)
	return len(web) > 0 && web[0].Socket != ""
}

// upstreams are what nginx proxies rec's requests to: each web
// container's socket through the app's live link, or its published port
// when the release answered on $PORT.
func (d *Deployer) upstreams(rec *state.Record) []string {
	if !linked(rec) {
		return recordUpstreams(rec)
	}
	base := filepath.Dir(webProcsOf(rec)[0].Socket)
	var out []string
	for _, p := range webProcsOf(rec) {
		rel, err := filepath.Rel(base, p.Socket)
		if err != nil {
			rel = filepath.Base(p.Socket)
		}
		out = append(out, "unix:"+filepath.Join(d.liveLink(rec.App), rel))
	}
	return out
}

// recordUpstreams are rec's own sockets or ports, as its processes
// recorded them.
func recordUpstreams(rec *state.Record) []string {
	var out []string
	for _, p := range webProcsOf(rec) {
		if rec.Listen == state.ListenPort && p.Port != 0 {
			out = append(out, net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)))
		} else {
			out = append(out, "unix:"+p.Socket)
		}
	}
	return out
}

// linkTarget is what app's live link names for rec: the socket dir of
// its web #1, relative to the link (the warm release's dir, for a
// rollback that took its containers over).
func (d *Deployer) linkTarget(rec *state.Record) (string, error) {
	dir := filepath.Dir(webProcsOf(rec)[0].Socket)
	rel, err := filepath.Rel(filepath.Dir(d.liveLink(rec.App)), dir)
	if err != nil {
		return "", fmt.Errorf("socket dir %s of %s: %w", dir, rec.Name(), err)
	}
	return rel, nil
}

// pointLink points app's live link at rec's socket dir: a new link
// renamed over the old one, so there is no moment without one. changed
// says whether it named another dir (or none) before. A release that does
// not answer on sockets leaves the link as it is.
func (d *Deployer) pointLink(rec *state.Record) (changed bool, err error) {
	if !linked(rec) {
		return false, nil
	}
	target, err := d.linkTarget(rec)
	if err != nil {
		return false, err
	}
	link := d.liveLink(rec.App)
	ln, ok := d.Fs.(afero.Symlinker)
	if !ok {
		return false, fmt.Errorf("point %s at %s: the filesystem has no symlinks", link, target)
	}
	if now, err := ln.ReadlinkIfPossible(link); err == nil && now == target {
		return false, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read %s: %w", link, err)
	}
	tmp := link + ".new-" + strconv.Itoa(os.Getpid())
	if err := d.Fs.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("point %s at %s: %w", link, target, err)
	}
	if err := ln.SymlinkIfPossible(target, tmp); err != nil {
		return false, fmt.Errorf("point %s at %s: %w", link, target, err)
	}
	if err := d.Fs.Rename(tmp, link); err != nil {
		_ = d.Fs.Remove(tmp)
		return false, fmt.Errorf("point %s at %s: %w", link, target, err)
	}
	return true, nil
}

// installLinked installs conf as app's server block and points the live
// link at rec in between (nginx.Manager.InstallSwitch): changed says nginx
// was reloaded, relinked that the link named another dir before.
// atSwitch, when set, runs right before the rename.
func (d *Deployer) installLinked(ctx context.Context, rec *state.Record, conf []byte, atSwitch func()) (changed, relinked bool, err error) {
	changed, err = d.Proxy.InstallSwitch(ctx, rec.App, conf, func() error {
		if atSwitch != nil {
			atSwitch()
		}
		var lerr error
		relinked, lerr = d.pointLink(rec)
		return lerr
	})
	return changed, relinked, err
}

// reloadToDrain reloads nginx under the nginx lock after a switch that did
// not (the live link) and returns its workers from before: what the
// releases switched from still serve is in them, and their exit is what
// a retirement waits for (DrainWorkers).
func (d *Deployer) reloadToDrain(ctx context.Context) ([]int, error) {
	unlock, err := d.lockNginx(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := d.Proxy.ReloadToDrain(context.WithoutCancel(ctx)); err != nil {
		return nil, err
	}
	return d.Proxy.OldWorkers(), nil
}
