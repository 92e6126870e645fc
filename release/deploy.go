package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/gitship/gitship/build"
	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// Builder builds an exported commit into an image.
type Builder interface {
	Name() string
	Build(ctx context.Context, req build.Request, out io.Writer) (build.Image, error)
}

// Picker is a Builder that chooses among builders (build.Auto): the
// choice probes the network, so a deploy makes it as a step of its own,
// with its ctx, and records the name of the builder chosen.
type Picker interface {
	Pick(ctx context.Context) (name string)
}

// Runtime runs release containers.
type Runtime interface {
	Start(ctx context.Context, s container.Spec) error
	Inspect(ctx context.Context, name string) (container.State, error)
	Stop(ctx context.Context, name string, timeout uint) error
	Remove(ctx context.Context, name string) error
	Logs(ctx context.Context, name string, n int) ([]string, error)
	List(ctx context.Context, labels map[string]string) ([]container.State, error)
	ImageExists(ctx context.Context, image string) (bool, error)
	// ImageUser is the user image runs as ("" for root).
	ImageUser(ctx context.Context, image string) (string, error)
	// Run runs a one-off container in the foreground and removes it
	// after: its exit status (container.Client.Run).
	Run(ctx context.Context, s container.Spec, stdin io.Reader, stdout, stderr io.Writer) (int, error)
	// HostPort is the loopback host port a container's TCP port is
	// published on.
	HostPort(ctx context.Context, name string, containerPort int) (int, error)
	// HasShell says whether image has /bin/sh.
	HasShell(ctx context.Context, image string) (bool, error)
	// Listening lists the TCP sockets listening in a container.
	Listening(ctx context.Context, name string) ([]container.Listener, error)
	// Pause freezes a running container (container.ErrNotRunning for one
	// that is not); Unpause thaws it, and is no error for one that is not
	// paused or gone.
	Pause(ctx context.Context, name string) error
	Unpause(ctx context.Context, name string) error
	// Memory is what a running container uses of memory and its limit,
	// in bytes (what a warm release costs).
	Memory(ctx context.Context, name string) (usage, limit uint64, err error)
}

// Proxy installs an app's server block and reloads the web server.
type Proxy interface {
	Install(ctx context.Context, app string, content []byte) (changed bool, err error)
	// InstallSwitch is Install with sw called once the web server
	// accepted content, before it is reloaded: where a switch outside the
	// file (the live link) happens. Unchanged content only calls sw.
	InstallSwitch(ctx context.Context, app string, content []byte, sw func() error) (changed bool, err error)
	Remove(ctx context.Context, app string) error
	// Settle returns once the web server's workers from before the last
	// Install take no new connections: every new one gets the new config.
	Settle(ctx context.Context) error
	// Served returns once the web server answers for host with the tag
	// of app's file (nginx.Site.Tag): the reload has taken effect.
	Served(ctx context.Context, listen, host, app, tag string) error
	// Drain returns once the connections the web server held before its
	// last reload are finished, or after timeout (an error then).
	Drain(ctx context.Context, timeout time.Duration) error
	// OldWorkers are the web server's workers from before its last
	// reload, for another process to drain them (DrainWorkers).
	OldWorkers() []int
	// DrainWorkers returns once the workers old have exited, or at
	// deadline (an error then; a zero deadline asks once).
	DrainWorkers(ctx context.Context, old []int, deadline time.Time) error
	// Unwatched says why the last reload could not see the web server's
	// old workers (nil when it could): their drain is not confirmed.
	Unwatched() error
	// CleanTemp removes what an interrupted Install left behind.
	CleanTemp() ([]string, error)
	// Reload makes the web server read its files again (renewed
	// certificates behind unchanged paths).
	ReloadConfig(ctx context.Context) error
	// ReloadToDrain is ReloadConfig without waiting for the old workers
	// to stop taking connections: OldWorkers then lists them, to drain.
	ReloadToDrain(ctx context.Context) error
}

// Source resolves and exports commits of an app's repository.
type Source interface {
	Resolve(repo, rev string) (string, error)
	// Export writes the tree of sha into the empty dir, reusing the
	// unchanged files of prev (nil: none).
	Export(ctx context.Context, repo, sha, dir string, prev *hook.Previous) (hook.Exported, error)
}

// GitSource is the Source backed by the hook package (go-git).
type GitSource struct{}

// Resolve resolves rev in repo.
func (GitSource) Resolve(repo, rev string) (string, error) { return hook.Resolve(repo, rev) }

// Export writes the tree of sha into dir.
func (GitSource) Export(ctx context.Context, repo, sha, dir string, prev *hook.Previous) (hook.Exported, error) {
	return hook.ExportFrom(ctx, repo, sha, dir, prev)
}

// Deployer runs the pipeline of doc.go for one server configuration.
type Deployer struct {
	Fs      afero.Fs
	Config  *config.Config
	Source  Source
	Builder Builder
	Runtime Runtime
	Proxy   Proxy
	Locker  Locker
	Now     func() time.Time
	// Instance ends the name of every container this instance creates
	// (config.Config.Instance), so that another instance on the same
	// Podman never picks the same name.
	Instance string
	// NginxGID is the group of nginx's worker user: socket dirs belong to
	// it and release containers get it as a supplementary group (besides
	// their app's data group).
	NginxGID int
	// StopTimeout is how long a retired release gets between SIGTERM and
	// SIGKILL.
	StopTimeout uint
	// Pause, when set, is called at named steps (build, start, drain); the
	// tests use it to kill a deploy at each of them.
	Pause func(ctx context.Context, step string)
	// Certs obtains TLS certificates; nil: no TLS.
	Certs Certs
	// Images lists and removes images: prune, destroy, and the disk guard
	// when it finds too little space (nil: it only refuses).
	Images ImagePruner
	// LogStream streams a container's output (`gitship logs`).
	LogStream LogStreamer
	// Cache is the build cache prune keeps within its budget (nil: no
	// BuildKit, so no cache of gitship's).
	Cache CachePruner
	// FreeDisk measures free bytes under a path (nil: statfs).
	FreeDisk func(path string) (int64, error)
	// Alive says whether a process exists (nil: signal 0).
	Alive func(pid int) bool

	// healthEvery is how often a wait (a health check, a copy of the
	// data dir, a drain) says so (0: progressEvery's 5 s; tests make it
	// short).
	healthEvery time.Duration
	// WorkerWatch is how long a new release's workers must keep running
	// before the switch (0: they are checked once).
	WorkerWatch time.Duration

	// Spawn starts the detached process that finishes a switch after the
	// push returned (`gitship watch APP vN`, Deployer.Watch: the drain,
	// the warm window, the retirement, the watch) and returns its pid.
	// nil: the old release is drained and retired before the command
	// returns, and none stays warm.
	Spawn func(app string, v int) (pid int, err error)
	// NewCheck, when set, gives the check a watch of release live asks
	// every WatchTick, and for how long after the switch: a check that
	// says bad switches nginx back to the warm release (watch.go). nil,
	// or a nil Check: nothing is watched; the process only drains,
	// keeps the old release warm and retires it.
	NewCheck func(ctx context.Context, live *state.Record) (Check, time.Duration)
	// Kube connects to the cluster of the [kube] table, for apps with
	// target=kube (nil: none can be released). Pusher sends their images
	// to its registry.
	Kube   func() (Cluster, error)
	Pusher Pusher
	// Audit writes one line to the audit log (what was done, its result);
	// nil: none.
	Audit func(command, result string) error
	// Sleep waits d or until ctx ends (nil: a timer); the tests advance a
	// fake clock instead.
	Sleep func(ctx context.Context, d time.Duration) error
	// Signal sends sig to a process (nil: kill(2)): how a release ends
	// the watch of the previous one.
	Signal func(pid int, sig syscall.Signal) error
	// WatchTick is how often the watch process looks (0: watchTick).
	WatchTick time.Duration

	storeOnce sync.Once
	store     *state.Store
}

// Store returns the release store of d's configuration: one for d's
// life, so that a record is decoded once per process (state.Store).
func (d *Deployer) Store() *state.Store {
	d.storeOnce.Do(func() { d.store = &state.Store{Fs: d.Fs, AppsDir: d.Config.AppsDir()} })
	return d.store
}

// Paths of an app's state.
func (d *Deployer) repoPath(app string) string {
	return filepath.Join(d.Config.ReposDir(), app+".git")
}
func (d *Deployer) appDir(app string) string  { return filepath.Join(d.Config.AppsDir(), app) }
func (d *Deployer) dataDir(app string) string { return filepath.Join(d.appDir(app), "data") }
func (d *Deployer) socketDir(app string, v int) string {
	return filepath.Join(d.Config.RunDir, app, fmt.Sprintf("v%d", v))
}

func (d *Deployer) pause(ctx context.Context, step string) {
	if d.Pause != nil {
		d.Pause(ctx, step)
	}
}

// ErrDeployFailed marks a deploy that failed after it was reported to the
// pusher; the caller only has to set the exit status.
var ErrDeployFailed = errors.New("deploy failed")

// Deploy builds rev of app and releases it. kind says what started it
// (push, deploy). Everything is reported to out as it happens. When newer
// pushes of the app are waiting too, only the newest is deployed: the
// others return ErrSuperseded.
func (d *Deployer) Deploy(ctx context.Context, app, rev, kind string, out io.Writer) (*state.Record, error) {
	return d.deploy(ctx, app, rev, kind, PushOptions{}, out)
}

// deploy is Deploy with the options of a push (push.go).
func (d *Deployer) deploy(ctx context.Context, app, rev, kind string, opts PushOptions, out io.Writer) (*state.Record, error) {
	p := &Progress{W: out, Now: d.Now}
	var sha string
	// Settings may change while this deploy waits: beginApp loads the app
	// again under the lock.
	s, a, err := d.beginApp(ctx, app, kind, p, func() (*Ticket, error) {
		var err error
		if sha, err = d.Source.Resolve(d.repoPath(app), rev); err != nil {
			return nil, fmt.Errorf("deploy %s: %w", app, err)
		}
		return &Ticket{Commit: sha, Kind: kind}, nil
	})
	if err != nil {
		return nil, err
	}
	defer s.end()
	p.hide(a.Env)
	r := &state.Record{App: app, Kind: kind, Commit: sha, Created: d.Now(), Builder: d.pickBuilder(ctx),
		Settings: a.Settings, Env: a.Env, HealthTimeout: state.Duration(opts.HealthTimeout)}
	if opts.HasWatch {
		w := state.Duration(opts.Watch)
		r.Watch = &w
	}
	run, err := d.newRun(p, a, r, s)
	if err != nil {
		return nil, err
	}
	p.Say("Deploying %s %s (%s) as %s", app, hook.Short(sha), kind, r.Name())
	if opts.HealthTimeout > 0 {
		p.Say("Health timeout %s for %s only (push option gitship.health_timeout)", opts.HealthTimeout, r.Name())
	}
	if opts.HasWatch {
		p.Say("Watch %s for %s only (push option gitship.watch)", watchText(opts.Watch), r.Name())
	}
	if err := run.pipeline(ctx, true); err != nil {
		return r, run.fail(ctx, err)
	}
	return r, nil
}

// pickBuilder makes the builder's choice, if it has one to make, and
// names the builder that builds.
func (d *Deployer) pickBuilder(ctx context.Context) string {
	if pk, ok := d.Builder.(Picker); ok {
		return pk.Pick(ctx)
	}
	return d.Builder.Name()
}

// removeBuildDirs removes build contexts an interrupted deploy left.
func (d *Deployer) removeBuildDirs(app string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(d.Config.Root, "tmp", "build-"+app+".*"))
	if err != nil {
		return nil, err
	}
	for _, m := range matches {
		if err := os.RemoveAll(m); err != nil {
			return nil, fmt.Errorf("remove %s: %w", m, err)
		}
	}
	return matches, nil
}
