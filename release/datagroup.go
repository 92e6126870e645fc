package release

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"syscall"

	"github.com/gitship/gitship/state"
)

// The data dir belongs to a group of the app's own: every release of the
// app gets it as a supplementary group, nginx's worker user and other apps
// do not (the socket dir stays in nginx's group). The group needs no
// /etc/group entry: it is a number from a range no distribution allocates
// (Debian's adduser stops at 59999, subordinate ids for rootless
// containers start at 100000 and grow by 65536 per user), recorded in
// app.json so it never changes.
const (
	// AppGIDBase is the first gid of app data groups.
	AppGIDBase = 1_600_000_000
	// AppGIDCount is how many gids the range holds.
	AppGIDCount = 1_000_000
)

// appGID returns app's data group, allocating and recording it on first
// use: a hash of the name, so an app keeps its gid even if its record of
// it is lost, moved on past the gids of the instance's other apps.
func (d *Deployer) appGID(app string) (int, error) {
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return 0, err
	}
	if a.GID != 0 {
		return a.GID, nil
	}
	names, err := state.ListApps(d.Fs, d.Config.AppsDir())
	if err != nil {
		return 0, err
	}
	used := map[int]bool{}
	for _, n := range names {
		if n == app {
			continue
		}
		o, err := state.LoadApp(d.Fs, d.Config.AppsDir(), n)
		if err != nil {
			return 0, fmt.Errorf("allocate a group for %s: %w", app, err)
		}
		if o.GID != 0 {
			used[o.GID] = true
		}
	}
	off := hashGID(app) - AppGIDBase
	for used[AppGIDBase+off] {
		off = (off + 1) % AppGIDCount
	}
	a.GID = AppGIDBase + off
	if err := state.SaveApp(d.Fs, d.Config.AppsDir(), a); err != nil {
		return 0, err
	}
	return a.GID, nil
}

// hashGID is app's gid unless another app holds it.
func hashGID(app string) int {
	h := fnv.New32a()
	h.Write([]byte(app))
	return AppGIDBase + int(h.Sum32()%AppGIDCount)
}

// mkdirData creates app's data dir as its group's, mode 2770 (setgid:
// what the app writes inherits the group). It reports whether the dir was
// another group's before: an app from before data groups, migrated now.
func (d *Deployer) mkdirData(app string, gid int) (migrated bool, err error) {
	dir := d.dataDir(app)
	if fi, err := os.Stat(dir); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Gid) != gid {
			migrated = true
		}
	}
	return migrated, d.mkdirGroup(dir, gid)
}

// prepareData readies the data dir for the release about to start and
// returns the data group its container gets. As Kubernetes' fsGroup does
// for volumes, what earlier releases wrote is made group-owned and
// group-writable, so a release running as another user can write it
// (SQLite creates its files 0644, whatever the umask). The walk costs a
// stat per file, so it runs only when the image's user differs from the
// one of the last release that started on this data dir (or that is not
// known), and for a data dir still in nginx's group.
func (r *run) prepareData(ctx context.Context) (int, error) {
	d, app := r.d, r.app.Name
	gid, err := d.appGID(app)
	if err != nil {
		return 0, err
	}
	r.app.GID = gid
	migrated, err := d.mkdirData(app, gid)
	if err != nil {
		return 0, err
	}
	img := r.rec.ImageID
	if img == "" {
		img = r.rec.Image
	}
	user, err := d.Runtime.ImageUser(ctx, img)
	if err != nil {
		return 0, err
	}
	if user == "" {
		user = "root"
	}
	last, err := r.lastUser()
	if err != nil {
		return 0, err
	}
	r.rec.ImageUser = user
	if !migrated && last == user {
		return gid, nil
	}
	done := r.p.Step("")
	n, err := GroupShare(d.dataDir(app), gid)
	if err != nil {
		return 0, err
	}
	done(fmt.Sprintf("Made the data dir group-writable for user %s (%d changed)", user, n))
	r.reshare = true
	return gid, nil
}

// reshareData repeats GroupShare after the old releases stopped: they
// ran as another user until then and may have created files meanwhile.
func (r *run) reshareData() {
	if !r.reshare {
		return
	}
	if _, err := GroupShare(r.d.dataDir(r.app.Name), r.app.GID); err != nil {
		r.p.Fail("%v", err)
	}
}

// lastUser is the image user of the newest earlier release that started
// ("" when none is known).
func (r *run) lastUser() (string, error) {
	list, err := r.d.Store().List(r.app.Name)
	if err != nil {
		return "", err
	}
	last := ""
	for _, o := range list {
		if o.Version < r.rec.Version && o.ImageUser != "" {
			last = o.ImageUser
		}
	}
	return last, nil
}

// GroupShare makes everything under dir (dir included) group-owned by gid
// and group-readable and -writable, directories also group-searchable and
// setgid, and returns how many entries it changed. Symbolic links are
// neither changed nor followed: the walk stays inside dir (os.Root) even
// if the app swaps a directory for a link while it runs.
func GroupShare(dir string, gid int) (int, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, fmt.Errorf("open data dir: %w", err)
	}
	defer root.Close()
	changed := 0
	err = fs.WalkDir(root.FS(), ".", func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed by the running release meanwhile
			}
			return err
		}
		if e.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := root.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || fi.Mode()&fs.ModeSymlink != 0 {
			return nil
		}
		want := fi.Mode() | 0o060
		if fi.IsDir() {
			want |= fs.ModeSetgid | 0o010
		}
		if int(st.Gid) == gid && fi.Mode() == want {
			return nil
		}
		if int(st.Gid) != gid {
			if err := root.Lchown(path, -1, gid); err != nil {
				return fmt.Errorf("chown %s: %w", path, err)
			}
		}
		// chown clears setgid on a file; set the mode after it.
		if err := root.Chmod(path, want&(fs.ModePerm|fs.ModeSetgid|fs.ModeSetuid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
		changed++
		return nil
	})
	if err != nil {
		return changed, fmt.Errorf("share data dir %s with the app's group: %w", dir, err)
	}
	return changed, nil
}
