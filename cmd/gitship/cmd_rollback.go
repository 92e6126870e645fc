package main

import (
	"errors"

	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func rollbackCommand() *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "release an earlier release again, without a rebuild",
		UsageText: "rollback APP [vN]",
		Description: "Starts the image of an earlier release (default: the one live before the current\n" +
			"one) with that release's environment and settings, checks it and switches nginx to\n" +
			"it with no failed request, as a new release number (v9 = rollback to v6).",
		Action: withDeployer(1, 2, func(c *cli.Context, d *release.Deployer) error {
			_, err := d.Rollback(c.Context, c.Args().Get(0), c.Args().Get(1), c.App.Writer)
			if errors.Is(err, release.ErrDeployFailed) {
				return cli.Exit("", 1)
			}
			return err
		}),
	}
}
