package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gitship/gitship/access"
	"github.com/gitship/gitship/config"
	"github.com/spf13/afero"
	"github.com/urfave/cli/v2"
)

func sshCommand() *cli.Command {
	return &cli.Command{
		Name:        "ssh",
		Usage:       "the forced command of gitship's authorized_keys lines; only sshd should call this",
		UsageText:   "gitship ssh --key NAME",
		Hidden:      true,
		Description: "Allows git-receive-pack/git-upload-pack of an app's repository and the remote gitship\ncommands the key may run; refuses everything else with one line, and logs every try.\nThe command is read from SSH_ORIGINAL_COMMAND.",
		Flags:       []cli.Flag{&cli.StringFlag{Name: "key", Required: true, Usage: "the key `NAME` (of gitship keys add) this line of authorized_keys is for"}},
		Action: withConfig(0, -1, func(c *cli.Context, cfg *config.Config) error {
			return serveSSH(c, cfg, c.String("key"), os.Getenv("SSH_ORIGINAL_COMMAND"))
		}),
	}
}

// serveSSH checks and runs one ssh command: access parses it (never a
// shell) and decides; this only wires the key, the app lookup and the run.
func serveSSH(c *cli.Context, cfg *config.Config, keyName, command string) error {
	fs := afero.NewOsFs()
	auditPath := cfg.AuditLog()
	audit := func(result string) {
		if err := access.Audit(fs, auditPath, keyName, command, result, time.Now()); err != nil {
			fmt.Fprintf(c.App.ErrWriter, "gitship: audit log: %v\n", err)
		}
	}
	refuse := func(err error) error {
		audit(err.Error())
		return cli.Exit(err.Error(), 1) // run prefixes "gitship: "
	}
	keys, err := keysFor(cfg)
	if err != nil {
		return refuse(err)
	}
	key, err := keys.Find(keyName)
	if err != nil {
		return refuse(err)
	}
	req, err := access.Parse(command, cfg.ReposDir())
	if err != nil {
		return refuse(err)
	}
	if err := access.Allow(key, req, keys.CheckApp); err != nil {
		return refuse(err)
	}
	if req.Git != "" {
		audit("ok")
		return execGit(req.Git, filepath.Join(cfg.ReposDir(), req.App+".git"))
	}
	argv := append([]string{"gitship", "--config", cfg.Path}, req.Args...)
	code := run(c.Context, argv, c.App.Reader, c.App.Writer, c.App.ErrWriter)
	if code != 0 {
		audit(fmt.Sprintf("failed: exit %d", code))
		return cli.Exit("", code)
	}
	audit("ok")
	return nil
}

// execGit replaces gitship with git's pack command on the repository, so
// git talks to the client over the ssh session's own stdin and stdout.
func execGit(cmd, repo string) error {
	git, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("git: %w", err)
	}
	sub := map[string]string{"git-receive-pack": "receive-pack", "git-upload-pack": "upload-pack"}[cmd]
	return syscall.Exec(git, []string{"git", sub, repo}, os.Environ())
}
