package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/gitship/gitship/build"
	"github.com/gitship/gitship/certbot"
	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/kube"
	"github.com/gitship/gitship/nginx"
	"github.com/gitship/gitship/release"
	"github.com/spf13/afero"
	"github.com/urfave/cli/v2"
)

// configPath is the config file gitship reads: --config, GITSHIP_CONFIG
// (explicit) or the flag's default, /etc/gitship/config.toml. An empty
// GITSHIP_CONFIG is the default.
func configPath(c *cli.Context) (path string, explicit bool) {
	if path = c.String("config"); path == "" {
		return config.DefaultPath, false
	}
	return path, c.IsSet("config")
}

// loadConfig reads the config file. Without one at the default path it
// says, in one line on stderr, which file it looked for, and goes on with
// the defaults.
func loadConfig(c *cli.Context) (*config.Config, error) {
	path, explicit := configPath(c)
	cfg, err := config.Load(afero.NewOsFs(), path, explicit)
	if err != nil {
		return nil, err
	}
	if cfg.Path == "" {
		fmt.Fprintf(c.App.ErrWriter, "gitship: no config at %s (set --config or GITSHIP_CONFIG); using the defaults\n", path)
		cfg.Path = path
	}
	return cfg, nil
}

// needConfigFile runs next only when the config file exists: what init
// creates (a hook that names the config, repos and state under root)
// must not be made from the defaults by mistake.
func needConfigFile(min, max int, next cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := args(c, min, max); err != nil {
			return err
		}
		if path, explicit := configPath(c); !explicit {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return usererr.New("no config at "+path, "write one (see the README) or name it with --config or GITSHIP_CONFIG")
			}
		}
		return next(c)
	}
}

// deployer wires the real components for cfg, each built once: one
// Podman client runs containers, lists and removes images and streams
// logs; one BuildKit client builds and prunes the build cache.
func deployer(cfg *config.Config) (*release.Deployer, error) {
	gid, err := groupOf(cfg.Nginx.User)
	if err != nil {
		return nil, err
	}
	fs := afero.NewOsFs()
	pause := pauser(cfg.Root)
	ngx := &nginx.Manager{
		Fs: fs, ConfDir: cfg.Nginx.ConfDir, Binary: cfg.Nginx.Binary,
		Conf: cfg.Nginx.Conf, Prefix: cfg.Nginx.Prefix, Reload: cfg.Nginx.Reload,
		PidFile: cfg.Nginx.PidFile,
	}
	ctr := &container.Client{Socket: cfg.Podman.Socket, Root: cfg.Root}
	builder, cache := builderFor(cfg)
	d := &release.Deployer{
		Fs:        fs,
		Config:    cfg,
		Source:    release.GitSource{},
		Builder:   builder,
		Runtime:   ctr,
		Proxy:     ngx,
		Pause:     pause,
		Images:    ctr,
		LogStream: ctr,
		Certs: &certbot.Client{
			Binary: cfg.Certbot.Binary, Email: cfg.Certbot.Email, Server: cfg.Certbot.Server,
			Webroot: cfg.Certbot.Webroot, ConfigDir: cfg.Certbot.ConfigDir,
			WorkDir: cfg.Certbot.WorkDir, LogsDir: cfg.Certbot.LogsDir,
			Env: certbotEnv(),
		},
		Pusher:      ctr,
		Kube:        clusterOf(cfg),
		Locker:      release.FileLock{},
		Now:         time.Now,
		NginxGID:    gid,
		Instance:    cfg.Instance(),
		StopTimeout: 10,
		WorkerWatch: 3 * time.Second,
		Spawn:       spawner(cfg),
		Audit:       auditor(cfg),
	}
	if cache != nil {
		d.Cache = cache // a nil *BuildKit in the interface would not be nil
	}
	return d, nil
}

// groupOf returns the primary group of nginx's worker user.
func groupOf(name string) (int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, &usererr.Error{Msg: fmt.Sprintf("nginx user %q: %v", name, err), Hint: "set [nginx] user in the config", Err: err}
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return 0, fmt.Errorf("nginx user %q: group id %q is not numeric", name, u.Gid)
	}
	return gid, nil
}

// selfPath is the absolute path the hook calls gitship by. It keeps the
// name gitship was invoked as (no symlink resolution), so a symlinked
// install keeps working after an upgrade replaces the target.
func selfPath() (string, error) {
	p := os.Args[0]
	if filepath.Base(p) == p {
		lp, err := exec.LookPath(p)
		if err != nil {
			if p, err = os.Executable(); err != nil {
				return "", fmt.Errorf("find the gitship binary: %w", err)
			}
			return p, nil
		}
		p = lp
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("find the gitship binary: %w", err)
	}
	return abs, nil
}

// pauser returns, when GITSHIP_PAUSE_AT names a step (build, start,
// switch, drain), a func that stops there: it writes ROOT/paused-STEP with
// its pid and waits until that file is removed (or two minutes), for a
// test to kill it at that exact point or let it go on. Unset, it returns
// nil and nothing ever pauses.
func pauser(root string) func(ctx context.Context, step string) {
	at := os.Getenv("GITSHIP_PAUSE_AT")
	if at == "" {
		return nil
	}
	return func(ctx context.Context, step string) {
		if step != at {
			return
		}
		path := filepath.Join(root, "paused-"+step)
		if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "gitship: pause at %s: %v\n", step, err)
			return
		}
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			if _, err := os.Stat(path); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// withConfig is the Action of a command that takes min to max (-1: any)
// positional arguments and works on the loaded configuration.
func withConfig(min, max int, fn func(c *cli.Context, cfg *config.Config) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if err := args(c, min, max); err != nil {
			return err
		}
		cfg, err := loadConfig(c)
		if err != nil {
			return err
		}
		return fn(c, cfg)
	}
}

// withDeployer is withConfig for a command that works on the configured
// Deployer.
func withDeployer(min, max int, fn func(c *cli.Context, d *release.Deployer) error) cli.ActionFunc {
	return withConfig(min, max, func(c *cli.Context, cfg *config.Config) error {
		d, err := deployer(cfg)
		if err != nil {
			return err
		}
		return fn(c, d)
	})
}

// builderFor is the builder the config names: podman, buildkit (the image
// is loaded into Podman's store), or auto (BuildKit when buildkitd
// answers, Podman otherwise), and the BuildKit client whose cache prune
// keeps in budget (nil with podman: no build cache of gitship's).
func builderFor(cfg *config.Config) (release.Builder, *build.BuildKit) {
	pm := &build.Podman{Socket: cfg.Podman.Socket}
	bk := &build.BuildKit{Address: cfg.Buildkit.Address, Podman: cfg.Podman.Socket}
	switch cfg.Builder {
	case "buildkit":
		return bk, bk
	case "auto":
		return &build.Auto{BuildKit: bk, Podman: pm}, bk
	}
	return pm, nil
}

// certbotEnv passes REQUESTS_CA_BUNDLE on to certbot: how it trusts a
// private ACME server (the tests' Pebble).
func certbotEnv() []string {
	if v := os.Getenv("REQUESTS_CA_BUNDLE"); v != "" {
		return []string{"REQUESTS_CA_BUNDLE=" + v}
	}
	return nil
}

// clusterOf connects to the cluster of cfg's [kube] table the first time
// an app with target=kube needs it.
func clusterOf(cfg *config.Config) func() (release.Cluster, error) {
	var (
		once sync.Once
		c    *kube.Client
		err  error
	)
	return func() (release.Cluster, error) {
		once.Do(func() {
			c, err = kube.New(release.KubeConfig(cfg.Kube))
		})
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}
