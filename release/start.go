package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
)

// WebPort is the TCP port every web container gets as $PORT (Dokku's
// 5000), published on a loopback host port that Podman picks.
const WebPort = 5000

// start runs the release's web containers beside the live ones, each on
// its own socket dir, with the data dir shared. Web #1 keeps the
// container name and socket dir a release always had (ContainerName,
// socketDir); web #i > 1 gets its own (webName, webSocketDir).
func (r *run) start(ctx context.Context) error {
	d, a, rec := r.d, r.app, r.rec
	appRun := filepath.Join(d.Config.RunDir, a.Name)
	if err := d.Fs.MkdirAll(appRun, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", appRun, err)
	}
	n := max(1, rec.Settings.Count(hook.TypeWeb))
	procs := make([]state.Proc, n)
	for i := range procs {
		procs[i] = state.Proc{Type: hook.TypeWeb, Index: i + 1, Name: d.webName(a.Name, rec.Version, i+1)}
		sock := d.webSocketDir(a.Name, rec.Version, i+1)
		if err := d.mkdirShared(sock); err != nil {
			return err
		}
		procs[i].Socket = filepath.Join(sock, filepath.Base(container.SocketPath))
	}
	dataGID, err := r.prepareData(ctx)
	if err != nil {
		return err
	}
	rec.Procs, rec.Listen = procs, ""
	rec.Container, rec.Socket = procs[0].Name, procs[0].Socket
	if err := d.Store().Save(rec); err != nil {
		return err
	}
	// A container of one of these names can only be a leftover of a
	// deploy that was killed before it recorded anything; it never
	// served. One that is not this instance's is refused by Remove and
	// stays.
	for _, p := range procs {
		if err := d.Runtime.Remove(ctx, p.Name); err != nil {
			return fmt.Errorf("a container named %s is in the way: %w", p.Name, err)
		}
	}
	mem, cpus, err := rec.Settings.Limits()
	if err != nil {
		return err
	}
	cmd, err := r.webCommand(ctx)
	if err != nil {
		return err
	}
	port := 0
	if publishable(d.Config.Podman.Network) {
		port = WebPort
	}
	done := r.p.Step("")
	r.started = true
	for i := range rec.Procs {
		p := &rec.Procs[i]
		spec := d.releaseSpec(rec, dataGID, mem, cpus)
		spec.Name, spec.SocketDir = p.Name, filepath.Dir(p.Socket)
		spec.Groups = append([]string{strconv.Itoa(d.NginxGID)}, spec.Groups...)
		if port != 0 {
			spec.Env["PORT"] = strconv.Itoa(port)
		}
		spec.Port, spec.Command, spec.Process = port, cmd, hook.TypeWeb
		if err := d.Runtime.Start(ctx, spec); err != nil {
			return err
		}
		if port != 0 {
			if p.Port, err = d.Runtime.HostPort(ctx, p.Name, port); err != nil {
				return err
			}
		}
	}
	if err := d.Store().Save(rec); err != nil {
		return err
	}
	done(fmt.Sprintf("Started %s", procNames(rec.Procs)))
	return nil
}

// publishable says whether a container port can be published on the
// network: not with the host's network, not with none.
func publishable(network string) bool { return network != "host" && network != "none" }

// webCommand is what the web containers run: the Procfile's web command,
// through the image's /bin/sh -c when it has one, else split into words;
// nil (the image's CMD) without a Procfile or a web line in it.
func (r *run) webCommand(ctx context.Context) ([]string, error) {
	cmd, ok := r.rec.Processes[hook.TypeWeb]
	if !ok {
		return nil, nil
	}
	sh, err := r.hasShell(ctx)
	if err != nil {
		return nil, err
	}
	return hook.Process{Type: hook.TypeWeb, Command: cmd}.Argv(sh)
}

// hasShell says whether the release's image has /bin/sh, asked once per
// run (an image ID never changes).
func (r *run) hasShell(ctx context.Context) (bool, error) {
	if r.shell == nil {
		ok, err := r.d.Runtime.HasShell(ctx, r.rec.StartImage())
		if err != nil {
			return false, err
		}
		r.shell = &ok
	}
	return *r.shell, nil
}

// procsOf is every container of rec: its Procs, or for a record from
// before the process model its lone Container.
func procsOf(rec *state.Record) []state.Proc {
	if rec.Container == "" || slices.ContainsFunc(rec.Procs, func(p state.Proc) bool { return p.Name == rec.Container }) {
		return rec.Procs
	}
	// A record from before the process model names its web container in
	// Container only (and may have had workers added since, by boot).
	return append([]state.Proc{{Type: hook.TypeWeb, Index: 1, Name: rec.Container, Socket: rec.Socket}}, rec.Procs...)
}

// webProcsOf is rec's web containers (procsOf's of type web).
func webProcsOf(rec *state.Record) []state.Proc {
	var out []state.Proc
	for _, p := range procsOf(rec) {
		if p.Type == hook.TypeWeb {
			out = append(out, p)
		}
	}
	return out
}

// procNames lists the containers' names, comma-separated.
func procNames(ps []state.Proc) string {
	n := make([]string, len(ps))
	for i, p := range ps {
		n[i] = p.Name
	}
	return strings.Join(n, ", ")
}

// webName is the container of web process i of release v: ContainerName
// for the first, gitship-APP-vN-web-I[-INST] for the others.
func (d *Deployer) webName(app string, v, i int) string {
	if i <= 1 {
		return ContainerName(app, v, d.Instance)
	}
	name := fmt.Sprintf("gitship-%s-v%d-web-%d", app, v, i)
	if d.Instance != "" {
		name += "-" + d.Instance
	}
	return name
}

// webSocketDir is the socket dir of web process i of release v: the
// release's socket dir for the first, a dir web-I inside it for the
// others (so removing the release's dir removes them all).
func (d *Deployer) webSocketDir(app string, v, i int) string {
	if i <= 1 {
		return d.socketDir(app, v)
	}
	return filepath.Join(d.socketDir(app, v), fmt.Sprintf("web-%d", i))
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
