package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"syscall"
)

// pathKind is what a configured path must be.
type pathKind int

const (
	dirMade  pathKind = iota // a directory gitship (or certbot) creates when missing
	fileRead                 // a file that must exist; gitship only reads it
	fileMade                 // a file gitship writes, created when missing
)

type pathSpec struct {
	key  string // the config key
	path string
	kind pathKind
	// strict: group or others may not write it (sshd's StrictModes
	// ignores an authorized_keys others can write).
	strict bool
}

// paths checks every path of the config: it exists as what it must be,
// or can be created; gitship can write what it writes; nothing is
// world-writable.
func (d *Doctor) paths() []Check {
	c := d.Config
	specs := []pathSpec{
		{key: "root", path: c.Root},
		{key: "run_dir", path: c.RunDir},
		{key: "nginx.conf_dir", path: c.Nginx.ConfDir},
		{key: "nginx.conf", path: c.Nginx.Conf, kind: fileRead},
		{key: "certbot.webroot", path: c.Certbot.Webroot},
		{key: "certbot.config_dir", path: c.Certbot.ConfigDir},
		{key: "certbot.work_dir", path: c.Certbot.WorkDir},
		{key: "certbot.logs_dir", path: c.Certbot.LogsDir},
		{key: "ssh.authorized_keys", path: c.SSH.AuthorizedKeys, kind: fileMade, strict: true},
		{key: "backup.dir", path: c.Backup.Dir},
	}
	out := make([]Check, 0, len(specs))
	for _, s := range specs {
		out = append(out, d.path(s))
	}
	return out
}

func (d *Doctor) path(s pathSpec) Check {
	name := "path." + s.key
	if s.path == "" {
		return ok(name, "not set")
	}
	if !filepath.IsAbs(s.path) {
		return fail(name, fmt.Sprintf("%s is not an absolute path", s.path), "set "+s.key+" to an absolute path in the config")
	}
	fi, err := d.Fs.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return d.absent(name, s)
	}
	if err != nil {
		return fail(name, err.Error(), "make "+s.path+" readable by the user gitship runs as")
	}
	wantDir := s.kind == dirMade
	if fi.IsDir() != wantDir {
		what := "a directory"
		if !wantDir {
			what = "a file"
		}
		return fail(name, fmt.Sprintf("%s is not %s", s.path, what), "move it away or set "+s.key+" to another path")
	}
	mode := fi.Mode()
	if mode.Perm()&0o002 != 0 && mode&fs.ModeSticky == 0 {
		return fail(name, fmt.Sprintf("%s is world-writable (%s)", s.path, perm(mode)), "chmod o-w "+s.path)
	}
	if s.strict && mode.Perm()&0o022 != 0 {
		return fail(name, fmt.Sprintf("%s is writable by group or others (%s): sshd ignores it", s.path, perm(mode)), "chmod go-w "+s.path)
	}
	uid, gid, known := owner(fi)
	if s.kind != fileRead && !canWrite(mode, uid, gid, known, d.Me) {
		return fail(name, fmt.Sprintf("%s (owner %d:%d, %s) is not writable by uid %d", s.path, uid, gid, perm(mode), d.Me.UID),
			fmt.Sprintf("chown %d %s, or run gitship as its owner", d.Me.UID, s.path))
	}
	detail := fmt.Sprintf("%s (%s)", s.path, perm(mode))
	if known {
		detail = fmt.Sprintf("%s (owner %d:%d, %s)", s.path, uid, gid, perm(mode))
	}
	return ok(name, detail)
}

// absent: a path that must exist fails; another passes when its nearest
// existing parent lets gitship create it.
func (d *Doctor) absent(name string, s pathSpec) Check {
	if s.kind == fileRead {
		return fail(name, s.path+" does not exist", "write it, or set "+s.key+" to the file in use")
	}
	parent := filepath.Dir(s.path)
	for {
		fi, err := d.Fs.Stat(parent)
		if err == nil {
			if !fi.IsDir() {
				return fail(name, fmt.Sprintf("%s is missing and %s is not a directory", s.path, parent), "set "+s.key+" to another path")
			}
			uid, gid, known := owner(fi)
			if !canWrite(fi.Mode(), uid, gid, known, d.Me) {
				return fail(name, fmt.Sprintf("%s is missing and %s is not writable by uid %d", s.path, parent, d.Me.UID),
					fmt.Sprintf("mkdir -p %s and chown it to uid %d", s.path, d.Me.UID))
			}
			return ok(name, fmt.Sprintf("%s is missing; it is created when first needed", s.path))
		}
		if !errors.Is(err, fs.ErrNotExist) || parent == filepath.Dir(parent) {
			return fail(name, err.Error(), "make "+parent+" readable by the user gitship runs as")
		}
		parent = filepath.Dir(parent)
	}
}

// owner returns a file's owner and group when the filesystem says.
func owner(fi fs.FileInfo) (uid, gid int, known bool) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid), true
	}
	return 0, 0, false
}

// canWrite says whether me may write a file of that mode and owner (root
// may write anything). Without a known owner, the owner's bits decide.
func canWrite(mode fs.FileMode, uid, gid int, known bool, me Identity) bool {
	return allowed(mode, uid, gid, known, me, 0o2)
}

// allowed says whether who has the permission bit (0o4 read, 0o2 write,
// 0o1 search/execute) on a file of that mode and owner, as the kernel
// decides: root has them all (for search, any x bit), then the owner's
// bits, the group's, the others'.
func allowed(mode fs.FileMode, uid, gid int, known bool, who Identity, bit fs.FileMode) bool {
	p := mode.Perm()
	switch {
	case who.UID == 0:
		return bit != 0o1 || p&0o111 != 0
	case !known:
		return p&(bit<<6) != 0
	case uid == who.UID:
		return p&(bit<<6) != 0
	case slices.Contains(who.GIDs, gid):
		return p&(bit<<3) != 0
	}
	return p&bit != 0
}

// perm is a mode as chmod takes it: 0755, 2770 (setgid), 1777 (sticky).
func perm(m fs.FileMode) string {
	p := uint32(m.Perm())
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return fmt.Sprintf("%04o", p)
}
