package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func hookCommand() *cli.Command {
	return &cli.Command{
		Name:   "hook",
		Usage:  "git hooks; only git should call these",
		Hidden: true,
		Subcommands: []*cli.Command{{
			Name:        "post-receive",
			Usage:       "deploy the pushed deploy branch; only git should call this",
			UsageText:   "gitship hook post-receive < REF-UPDATES",
			Description: "This should only be called by git, from hooks/post-receive of an app's repository.",
			Action:      postReceive,
		}},
	}
}

func postReceive(c *cli.Context) error {
	outlivePusher()
	updates, err := hook.ParseRefUpdates(c.App.Reader)
	if err != nil {
		return fmt.Errorf("post-receive: %w", err)
	}
	raw, err := hook.PushOptions(os.Getenv)
	if err != nil {
		return fmt.Errorf("post-receive: %w", err)
	}
	opts, err := release.ParsePushOptions(raw)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	app, err := hookApp(cfg.ReposDir())
	if err != nil {
		return err
	}
	d, err := deployer(cfg)
	if err != nil {
		return err
	}
	return deployExit(d.Push(c.Context, app, updates, opts, c.App.Writer))
}

// outlivePusher makes the pusher going away end the push output only: the
// deploy, its record and its kept log go on to the end. Ctrl-C in the
// pusher's terminal sends SIGINT to the whole process group of a local
// push, this hook included; a hang-up sends SIGHUP; and once git is gone
// a write to stdout or stderr fails with EPIPE, which raises SIGPIPE,
// fatal to a Go program writing to fd 1 or 2 unless it is caught. The
// three are caught and dropped (caught, not ignored: the programs gitship
// starts get the default action back). SIGTERM still stops the deploy,
// cleanly.
func outlivePusher() {
	sigs := []os.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE}
	signal.Ignore(sigs...) // takes SIGINT from the context of main
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		for range ch {
		}
	}()
}

// hookApp names the app whose repository git runs the hook in: git sets
// the working directory (and GIT_DIR) to the bare repository.
func hookApp(reposDir string) (string, error) {
	dir := os.Getenv("GIT_DIR")
	if dir == "" || dir == "." {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("post-receive: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("post-receive: %w", err)
	}
	base := filepath.Base(dir)
	if !strings.HasSuffix(base, ".git") || !sameDir(filepath.Dir(dir), reposDir) {
		return "", fmt.Errorf("post-receive: %s is not an app repository under %s", dir, reposDir)
	}
	return strings.TrimSuffix(base, ".git"), nil
}

func sameDir(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}
