package main

import (
	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func releasesCommand() *cli.Command {
	return &cli.Command{
		Name:      "releases",
		Usage:     "list an app's releases, newest first, failed ones included",
		UsageText: "releases APP",
		Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
			return d.WriteReleases(c.App.Writer, c.Args().First())
		}),
	}
}

func appsCommand() *cli.Command {
	return &cli.Command{
		Name:      "apps",
		Usage:     "list apps with their live release",
		UsageText: "apps",
		Action: withDeployer(0, 0, func(c *cli.Context, d *release.Deployer) error {
			return d.WriteApps(c.Context, c.App.Writer)
		}),
	}
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show what runs for an app",
		UsageText: "status APP",
		Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
			// Status notices what an interrupted deploy left and cleans
			// it up (never while a deploy of the app runs).
			if err := d.Tidy(c.Context, c.Args().First(), release.NewProgress(c.App.Writer)); err != nil {
				return err
			}
			return d.WriteStatus(c.Context, c.App.Writer, c.Args().First())
		}),
	}
}
