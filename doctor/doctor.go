// Package doctor checks, one line per check, what a careful operator
// checks on a gitship host: the config and its paths, the Podman API,
// BuildKit, nginx, certbot and the certificates, the cron file and
// daemon, free disk, each app's live release, the clock. It reads the
// leaves (config, container, nginx, certbot, state, build) and changes
// nothing.
package doctor

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gitship/gitship/certbot"
	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/container"
	"github.com/spf13/afero"
)

// Status is the outcome of one check.
type Status string

// A failed check makes doctor exit 1; a warning does not.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one line of the report. Name is stable (documented in the
// README); a check about one thing of many ends in ":THING", e.g.
// "cert:www.example.com".
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	// Fix is what to do, one line ("" when ok).
	Fix string `json:"fix"`
}

// Report is every check, in order, and whether none failed.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

func (r *Report) add(cs ...Check) {
	for _, c := range cs {
		if c.Status == Fail {
			r.OK = false
		}
		r.Checks = append(r.Checks, c)
	}
}

// Write prints one line per check: its status (ok, warn, FAIL), its
// name, what was found and, when not ok, the fix.
func (r *Report) Write(w io.Writer) error {
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.Name))
	}
	var b strings.Builder
	for _, c := range r.Checks {
		st := string(c.Status)
		if c.Status == Fail {
			st = "FAIL"
		}
		fmt.Fprintf(&b, "%-4s  %-*s  %s", st, width, c.Name, c.Detail)
		if c.Status != OK && c.Fix != "" {
			fmt.Fprintf(&b, "; fix: %s", c.Fix)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Podman is the part of container.Client doctor uses.
type Podman interface {
	Info(ctx context.Context) (container.Info, error)
	List(ctx context.Context, labels map[string]string) ([]container.State, error)
}

// Nginx is the part of nginx.Manager doctor uses.
type Nginx interface {
	Check(ctx context.Context) error
	Master(ctx context.Context) (pid int, pidFile string, err error)
	ConfDirInclude() (string, error)
}

// Certs is the part of certbot.Client doctor uses.
type Certs interface {
	Lookup(name string) (certbot.Cert, bool, error)
}

// Doctor runs the checks against one instance. Every field but Config
// has a real implementation wired by cmd/gitship; the tests put fakes.
type Doctor struct {
	Config *config.Config
	// Fs holds the state, the config's paths and the cron file.
	Fs     afero.Fs
	Podman Podman
	Nginx  Nginx
	Certs  Certs
	// BuildKit says whether buildkitd answers at address (build.Available).
	BuildKit func(ctx context.Context, address string) error
	// LookPath finds a binary (exec.LookPath).
	LookPath func(file string) (string, error)
	// Statfs measures the filesystem holding a path.
	Statfs func(path string) (Disk, error)
	// Procs lists the command names of the running processes (/proc/*/comm).
	Procs func() ([]string, error)
	// Clock says whether the kernel's clock is synchronized (adjtimex);
	// known=false when it cannot tell.
	Clock func() (synced, known bool)
	// NginxUser returns nginx's worker user's uid and groups.
	NginxUser func(name string) (uid int, gids []int, err error)
	// Dial connects to a socket ("unix", path or "tcp", addr) and closes it.
	Dial func(ctx context.Context, network, addr string) error
	// Readlink reads a symlink (os.Readlink): an app's live link.
	Readlink func(path string) (string, error)
	// Kube asks the API server of the [kube] table for its version;
	// Registry checks that its registry answers (kube.PingRegistry).
	Kube     func(ctx context.Context) (string, error)
	Registry func(ctx context.Context, registry string, insecure bool) error
	// Me is the identity gitship runs as, for "can gitship write here".
	Me Identity
	// Self is the gitship binary the cron file should run.
	Self string
	// Now is the clock; BuildDate is when this binary's commit was made
	// (zero: unknown, e.g. a dev build).
	Now       func() time.Time
	BuildDate time.Time
	// Timeout bounds each check that asks a service (default 10s).
	Timeout time.Duration
}

// Identity is a user and its groups.
type Identity struct {
	UID  int
	GIDs []int
}

// LoadConfig is the first check: the config file loads, and which file
// it is. cfg is nil when it does not load (nothing else can be checked).
func LoadConfig(fsys afero.Fs, path string, explicit bool) (*config.Config, Check) {
	cfg, err := config.Load(fsys, path, explicit)
	if err != nil {
		return nil, Check{Name: "config", Status: Fail, Detail: err.Error(),
			Fix: "correct the file (see the README's configuration section), or name another with --config or GITSHIP_CONFIG"}
	}
	if cfg.Path == "" {
		return cfg, Check{Name: "config", Status: Warn, Detail: "no config at " + path + ": the defaults apply",
			Fix: "write " + path + " (see the README), or name one with --config or GITSHIP_CONFIG"}
	}
	return cfg, Check{Name: "config", Status: OK, Detail: "loaded " + cfg.Path}
}

// Run runs every check after first (LoadConfig's) and returns the report.
func (d *Doctor) Run(ctx context.Context, first Check) *Report {
	r := &Report{OK: true}
	r.add(first)
	r.add(d.paths()...)
	info, podman := d.podman(ctx)
	r.add(podman)
	r.add(d.buildkit(ctx))
	r.add(d.nginx(ctx)...)
	r.add(d.certbot())
	r.add(d.kube(ctx))
	apps, appsCheck := d.liveReleases()
	r.add(d.certs(apps)...)
	r.add(d.cronFile(), d.cronDaemon())
	storage := info.GraphRoot
	if storage == "" {
		storage = d.Config.Podman.Storage
	}
	r.add(d.disk("disk.storage", storage), d.disk("disk.root", d.Config.Root))
	if appsCheck != nil {
		r.add(*appsCheck)
	}
	r.add(d.apps(ctx, apps, podman.Status == OK)...)
	r.add(d.clock())
	return r
}

// service returns a context for one request to a service.
func (d *Doctor) service(ctx context.Context) (context.Context, context.CancelFunc) {
	t := d.Timeout
	if t == 0 {
		t = 10 * time.Second
	}
	return context.WithTimeout(ctx, t)
}

func ok(name, detail string) Check { return Check{Name: name, Status: OK, Detail: detail} }

func warn(name, detail, fix string) Check {
	return Check{Name: name, Status: Warn, Detail: detail, Fix: fix}
}

func fail(name, detail, fix string) Check {
	return Check{Name: name, Status: Fail, Detail: detail, Fix: fix}
}
