package main

import (
	"errors"

	"github.com/gitship/gitship/release"
	"github.com/gitship/gitship/state"
	"github.com/urfave/cli/v2"
)

// deployExit maps a deploy's error to the exit: a failure already told
// the pusher everything (status 1, nothing more to print); a push that a
// newer one superseded is not a failure.
func deployExit(err error) error {
	switch {
	case errors.Is(err, release.ErrDeployFailed):
		return cli.Exit("", 1)
	case errors.Is(err, release.ErrSuperseded):
		return nil
	}
	return err
}

func deployCommand() *cli.Command {
	return &cli.Command{
		Name:      "deploy",
		Usage:     "build and release a revision without a push",
		UsageText: "gitship deploy APP [REV]",
		Description: "Runs the push pipeline for REV (default: the app's deploy branch). Use it to\n" +
			"redeploy after fixing something on the server: re-pushing the same commit is\n" +
			"\"Everything up-to-date\" to git and runs no hook.",
		Action: withDeployer(1, 2, func(c *cli.Context, d *release.Deployer) error {
			app := c.Args().Get(0)
			a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
			if err != nil {
				return err
			}
			rev := c.Args().Get(1)
			if rev == "" {
				rev = "refs/heads/" + a.Branch
			}
			_, err = d.Deploy(c.Context, app, rev, state.KindDeploy, c.App.Writer)
			return deployExit(err)
		}),
	}
}
