package main

import (
	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func destroyCommand() *cli.Command {
	return &cli.Command{
		Name:      "destroy",
		Usage:     "remove an app: containers, nginx file, repository, state (data kept)",
		UsageText: "gitship destroy APP --confirm APP [--purge-data]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "confirm", Usage: "the app's name again: `APP`"},
			&cli.BoolFlag{Name: "purge-data", Usage: "remove the data dir too"},
		},
		Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
			app := c.Args().First()
			if c.String("confirm") != app {
				return usagef("destroying %s needs --confirm %s", app, app)
			}
			return d.Destroy(c.Context, app, c.Bool("purge-data"), c.App.Writer)
		}),
	}
}

func bootCommand() *cli.Command {
	return &cli.Command{
		Name:      "boot",
		Usage:     "after a reboot: every app back at its live release",
		UsageText: "gitship boot",
		Description: "Starts again every live release whose container is not running or whose socket\n" +
			"is gone (run_dir is a tmpfs), checks it and points nginx at it. Harmless when all\n" +
			"runs: scripts/setup and `gitship cron install` run it at boot.",
		Action: withDeployer(0, 0, func(c *cli.Context, d *release.Deployer) error {
			return d.Boot(c.Context, c.App.Writer)
		}),
	}
}
