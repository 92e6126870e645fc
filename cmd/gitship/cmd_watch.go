package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gitship/gitship/access"
	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/release"
	"github.com/spf13/afero"
	"github.com/urfave/cli/v2"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "finish a switch in the background; only gitship should call this",
		UsageText: "gitship watch APP vN",
		Description: "Started detached by the release that made vN live, so that the push returns at once:\n" +
			"stops the old release's workers, retires the old releases once nginx drained them, keeps\n" +
			"the previous release warm for its `warm` setting and then retires it. A newer release of\n" +
			"the app ends it. Its output goes to apps/APP/watch.log.",
		Hidden: true,
		Action: withDeployer(2, 2, func(c *cli.Context, d *release.Deployer) error {
			v, err := strconv.Atoi(strings.TrimPrefix(c.Args().Get(1), "v"))
			if err != nil || !strings.HasPrefix(c.Args().Get(1), "v") {
				return usagef("invalid release %q: use vN", c.Args().Get(1))
			}
			// no terminal, no pusher: a hang-up or a closed pipe must
			// not end it; SIGTERM (a newer release) does
			outlivePusher()
			return d.Watch(c.Context, c.Args().First(), v, c.App.Writer)
		}),
	}
}

// spawner starts `gitship watch APP vN` detached: its own session (no
// terminal, no process group of the pusher's), stdin /dev/null, stdout
// and stderr appended to the app's watch log, so neither git nor the ssh
// session waits for it, and the same config file.
func spawner(cfg *config.Config) func(app string, v int) (int, error) {
	return func(app string, v int) (int, error) {
		self, err := selfPath()
		if err != nil {
			return 0, err
		}
		log := filepath.Join(cfg.AppsDir(), app, "watch.log")
		f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return 0, fmt.Errorf("open the watch log: %w", err)
		}
		defer f.Close()
		cmd := exec.Command(self, "watch", app, "v"+strconv.Itoa(v))
		cmd.Env = append(os.Environ(), "GITSHIP_CONFIG="+cfg.Path)
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			return 0, fmt.Errorf("start the watch of %s v%d: %w", app, v, err)
		}
		pid := cmd.Process.Pid
		go cmd.Wait() //nolint:errcheck // reaps it should this process outlive it
		return pid, nil
	}
}

// auditor writes what gitship does on its own (an automatic rollback) to
// the audit log that `gitship ssh` keeps, as key "gitship".
func auditor(cfg *config.Config) func(command, result string) error {
	path := cfg.AuditLog()
	return func(command, result string) error {
		return access.Audit(afero.NewOsFs(), path, "gitship", command, result, time.Now())
	}
}
