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
		UsageText: "gitship rollback APP [vN] [--keep-env] [--with-data]",
		Description: "Starts the image of an earlier release (default: the one live before the current\n" +
			"one) with that release's environment and settings, checks it and switches nginx to\n" +
			"it with no failed request, as a new release number (v9 = rollback to v6). The output\n" +
			"names the environment keys and settings it adds, removes or changes (never values);\n" +
			"--keep-env keeps today's environment instead of the release's. --with-data also puts\n" +
			"back the data as it was before the release that followed vN ran its release command\n" +
			"(its snapshot); the data it replaces is kept as a snapshot, so `gitship restore` undoes it.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "keep-env", Usage: "keep today's environment; take only the release's image and settings"},
			&cli.BoolFlag{Name: "with-data", Usage: "also restore the snapshot taken before the release that followed vN"},
		},
		Action: withDeployer(1, 2, func(c *cli.Context, d *release.Deployer) error {
			_, err := d.Rollback(c.Context, c.Args().Get(0), c.Args().Get(1), release.RollbackOptions{KeepEnv: c.Bool("keep-env"), WithData: c.Bool("with-data")}, c.App.Writer)
			if errors.Is(err, release.ErrDeployFailed) {
				return cli.Exit("", 1)
			}
			return err
		}),
	}
}
