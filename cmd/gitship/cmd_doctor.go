package main

import (
	"context"
	"os"
	"os/exec"
	"time"

	"github.com/gitship/gitship/build"
	"github.com/gitship/gitship/certbot"
	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/doctor"
	"github.com/gitship/gitship/kube"
	"github.com/gitship/gitship/nginx"
	"github.com/gitship/gitship/release"
	"github.com/spf13/afero"
	"github.com/urfave/cli/v2"
)

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check the host: config, paths, Podman, BuildKit, nginx, certificates, cron, disk, the live releases, the clock",
		UsageText: "gitship doctor [--json]",
		Description: "Prints one line per check: ok, warn or FAIL, what was checked and, when not ok, the fix.\n" +
			"Exits 1 when a check fails (warnings do not). Changes nothing. The checks and their names\n" +
			"are in the README (\"gitship doctor\").",
		Flags: []cli.Flag{jsonFlag()},
		Action: func(c *cli.Context) error {
			if err := args(c, 0, 0); err != nil {
				return err
			}
			path, explicit := configPath(c)
			fs := afero.NewOsFs()
			cfg, first := doctor.LoadConfig(fs, path, explicit)
			rep := &doctor.Report{OK: false, Checks: []doctor.Check{first}}
			if cfg != nil {
				rep = newDoctor(cfg).Run(c.Context, first)
			}
			var err error
			if c.Bool("json") {
				err = release.WriteJSON(c.App.Writer, rep)
			} else {
				err = rep.Write(c.App.Writer)
			}
			if err != nil {
				return err
			}
			if !rep.OK {
				return exitWith(1, nil)
			}
			return nil
		},
	}
}

// newDoctor wires the real services of cfg.
func newDoctor(cfg *config.Config) *doctor.Doctor {
	fs := afero.NewOsFs()
	self, _ := selfPath() // "" : the cron file's binary is not checked
	built, _ := time.Parse(time.RFC3339, date)
	return &doctor.Doctor{
		Config: cfg,
		Fs:     fs,
		Podman: &container.Client{Socket: cfg.Podman.Socket, Root: cfg.Root},
		Nginx: &nginx.Manager{
			Fs: fs, ConfDir: cfg.Nginx.ConfDir, Binary: cfg.Nginx.Binary,
			Conf: cfg.Nginx.Conf, Prefix: cfg.Nginx.Prefix, PidFile: cfg.Nginx.PidFile,
		},
		Certs:     &certbot.Client{ConfigDir: cfg.Certbot.ConfigDir},
		BuildKit:  build.Available,
		LookPath:  exec.LookPath,
		Statfs:    doctor.Statfs,
		Procs:     func() ([]string, error) { return doctor.ProcNames("/proc") },
		Clock:     doctor.KernelClock,
		NginxUser: doctor.LookupUser,
		Readlink:  os.Readlink,
		Dial:      doctor.Dial,
		Me:        doctor.Me(),
		Self:      self,
		Now:       time.Now,
		BuildDate: built,
		Kube: func(ctx context.Context) (string, error) {
			c, err := kube.New(release.KubeConfig(cfg.Kube))
			if err != nil {
				return "", err
			}
			return c.ServerVersion(ctx)
		},
		Registry: kube.PingRegistry,
	}
}
