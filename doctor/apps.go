package doctor

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// liveApp is an app with a live release.
type liveApp struct {
	name    string
	domains []string // the domains it serves
	rec     *state.Record
}

// liveReleases reads every app's state; the check is non-nil when some
// state cannot be read.
func (d *Doctor) liveReleases() ([]liveApp, *Check) {
	names, err := state.ListApps(d.Fs, d.Config.AppsDir())
	if err != nil {
		c := fail("apps", err.Error(), "make "+d.Config.AppsDir()+" readable by the user gitship runs as")
		return nil, &c
	}
	store := &state.Store{Fs: d.Fs, AppsDir: d.Config.AppsDir()}
	var out []liveApp
	var bad []string
	for _, n := range names {
		a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), n)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		rec, err := store.Live(n)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		if rec != nil {
			out = append(out, liveApp{name: n, domains: a.ServedDomains(d.Config.Domain), rec: rec})
		}
	}
	if len(bad) > 0 {
		c := fail("apps", strings.Join(bad, "; "), "restore the file named from a backup, or `gitship destroy` the app")
		return out, &c
	}
	c := ok("apps", fmt.Sprintf("%s, %d with a live release", plural(len(names), "app"), len(out)))
	return out, &c
}

// procs are the containers of a release; a record from before the process
// model names its one container alone.
func procs(rec *state.Record) []state.Proc {
	if len(rec.Procs) > 0 {
		return rec.Procs
	}
	return []state.Proc{{Type: "web", Index: 1, Name: rec.Container, Socket: rec.Socket}}
}

// apps checks, for each live release, that its containers run (this
// instance's, by the gitship.root label) and that nginx can reach its web
// processes. Without an answering Podman only the latter is checked.
func (d *Doctor) apps(ctx context.Context, apps []liveApp, podmanUp bool) []Check {
	var out []Check
	for _, a := range apps {
		if podmanUp {
			out = append(out, d.containers(ctx, a))
		}
		out = append(out, d.listen(ctx, a))
		if c, has := d.link(a); has {
			out = append(out, c)
		}
	}
	return out
}

// link checks that nginx reaches a release on sockets: its upstreams name
// them through run_dir/APP/live, which must name the socket dir of the
// live release's web #1 (a release on $PORT has no link: false).
func (d *Doctor) link(a liveApp) (Check, bool) {
	web := procs(a.rec)
	if a.rec.Listen == state.ListenPort || len(web) == 0 || web[0].Type != "web" || web[0].Socket == "" {
		return Check{}, false
	}
	name := "app.link:" + a.name
	link := d.Config.LiveLink(a.name)
	want := filepath.Dir(web[0].Socket)
	fix := fmt.Sprintf("`gitship boot` points it at %s again", a.rec.Name())
	got, err := d.Readlink(link)
	if err != nil {
		return fail(name, fmt.Sprintf("%s: %v: nginx cannot reach %s", link, err, a.rec.Name()), fix), true
	}
	if !filepath.IsAbs(got) {
		got = filepath.Join(filepath.Dir(link), got)
	}
	if filepath.Clean(got) != filepath.Clean(want) {
		return fail(name, fmt.Sprintf("%s names %s, not %s (the socket dir of %s): nginx serves another release, or none",
			link, got, want, a.rec.Name()), fix), true
	}
	return ok(name, fmt.Sprintf("%s: %s names %s", a.rec.Name(), link, want)), true
}

func (d *Doctor) containers(ctx context.Context, a liveApp) Check {
	name := "app.containers:" + a.name
	ctx, cancel := d.service(ctx)
	defer cancel()
	list, err := d.Podman.List(ctx, map[string]string{container.LabelRoot: d.Config.Root, container.LabelApp: a.name})
	if err != nil {
		return fail(name, err.Error(), "start the Podman API service, then run doctor again")
	}
	states := map[string]container.State{}
	for _, s := range list {
		states[s.Name] = s
	}
	var running, bad []string
	for _, p := range procs(a.rec) {
		s, found := states[p.Name]
		switch {
		case !found:
			bad = append(bad, p.Name+" is gone")
		case !s.Running:
			bad = append(bad, fmt.Sprintf("%s is %s", p.Name, s.Status))
		default:
			running = append(running, p.Name)
		}
	}
	rel := a.rec.Name()
	if len(bad) > 0 {
		return fail(name, fmt.Sprintf("%s: %s", rel, strings.Join(bad, ", ")),
			fmt.Sprintf("`gitship boot` starts the live releases again; `gitship logs %s` says why it stopped", a.name))
	}
	return ok(name, fmt.Sprintf("%s: %s running", rel, strings.Join(running, ", ")))
}

// listen checks what nginx connects to for each web process: a loopback
// port that accepts connections, or a socket nginx's user may connect to
// that is not world-writable and answers.
func (d *Doctor) listen(ctx context.Context, a liveApp) Check {
	name := "app.listen:" + a.name
	var seen []string
	for _, p := range procs(a.rec) {
		if p.Type != "web" {
			continue
		}
		// a socket app's $PORT is published too: the release says which
		// one answered its health check, and nginx uses that one
		if a.rec.Listen == state.ListenPort && p.Port != 0 {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port))
			if err := d.dial(ctx, "tcp", addr); err != nil {
				return fail(name, fmt.Sprintf("%s of %s: %v", addr, p.Name, err),
					fmt.Sprintf("`gitship boot` starts it again; `gitship logs %s` says why it stopped", a.name))
			}
			seen = append(seen, addr)
			continue
		}
		if p.Socket == "" {
			continue
		}
		if c, bad := d.socket(name, a.name, p.Socket); bad {
			return c
		}
		if err := d.dial(ctx, "unix", p.Socket); err != nil {
			return fail(name, fmt.Sprintf("%s: %v", p.Socket, err),
				fmt.Sprintf("`gitship boot` starts it again; `gitship logs %s` says why it does not listen", a.name))
		}
		seen = append(seen, p.Socket)
	}
	if len(seen) == 0 {
		return ok(name, a.rec.Name()+": no web process")
	}
	return ok(name, a.rec.Name()+": "+strings.Join(seen, ", ")+" accepts connections")
}

func (d *Doctor) dial(ctx context.Context, network, addr string) error {
	ctx, cancel := d.service(ctx)
	defer cancel()
	return d.Dial(ctx, network, addr)
}

// socket checks the permissions of a web socket and its directory.
func (d *Doctor) socket(name, app, path string) (Check, bool) {
	fix := fmt.Sprintf("`gitship deploy %s` starts a release with the socket dir 2770 group %s (see the README, container contract)", app, d.Config.Nginx.User)
	uid, gids, err := d.NginxUser(d.Config.Nginx.User)
	if err != nil {
		return fail(name, fmt.Sprintf("nginx user %q: %v", d.Config.Nginx.User, err), "set [nginx] user to nginx's worker user"), true
	}
	ngx := Identity{UID: uid, GIDs: gids}
	dir := filepath.Dir(path)
	var modes [2]fs.FileInfo
	for i, p := range []string{dir, path} {
		fi, err := d.Fs.Stat(p)
		if err != nil {
			return fail(name, err.Error(), fmt.Sprintf("`gitship boot` starts it again; `gitship logs %s` says why it has no socket", app)), true
		}
		modes[i] = fi
	}
	if msg := socketPerms(modes[0], modes[1], ngx, d.Config.Nginx.User); msg != "" {
		return fail(name, path+": "+msg, fix), true
	}
	return Check{}, false
}

// socketPerms says what is wrong ("" if nothing) with a socket and its
// directory: nothing world-writable, and nginx's worker user may enter
// the directory and write (connect to) the socket.
func socketPerms(dir, sock fs.FileInfo, ngx Identity, user string) string {
	for _, fi := range []fs.FileInfo{dir, sock} {
		if fi.Mode().Perm()&0o002 != 0 {
			return fmt.Sprintf("%s is world-writable (%s)", fi.Name(), perm(fi.Mode()))
		}
	}
	duid, dgid, dknown := owner(dir)
	if !allowed(dir.Mode(), duid, dgid, dknown, ngx, 0o1) {
		return fmt.Sprintf("nginx's user %s cannot enter its directory (%s, owner %d:%d)", user, perm(dir.Mode()), duid, dgid)
	}
	suid, sgid, sknown := owner(sock)
	if !allowed(sock.Mode(), suid, sgid, sknown, ngx, 0o2) {
		return fmt.Sprintf("nginx's user %s cannot connect (%s, owner %d:%d)", user, perm(sock.Mode()), suid, sgid)
	}
	return ""
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
