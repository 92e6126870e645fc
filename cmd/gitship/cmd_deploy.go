package main

import (
	"errors"

	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func deployCommand() *cli.Command {
	return &cli.Command{
		Name:      "deploy",
		Usage:     "build and release a revision without a push",
		UsageText: "deploy APP [REV]",
		Description: "Runs the push pipeline for REV (default: the app's deploy branch). Use it to\n" +
			"redeploy after fixing something on the server: re-pushing the same commit is\n" +
			"\"Everything up-to-date\" to git and runs no hook.",
		Action: func(c *cli.Context) error {
			if err := args(c, 1, 2); err != nil {
				return err
			}
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			d, err := deployer(cfg)
			if err != nil {
				return err
			}
			app := c.Args().Get(0)
			a, err := release.LoadApp(d.Fs, cfg.AppsDir(), app)
			if err != nil {
				return err
			}
			rev := c.Args().Get(1)
			if rev == "" {
				rev = "refs/heads/" + a.Branch
			}
			_, err = d.Deploy(c.Context, app, rev, "deploy", c.App.Writer)
			if errors.Is(err, release.ErrDeployFailed) {
				return cli.Exit("", 1)
			}
			return err
		},
	}
}
