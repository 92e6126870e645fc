package main

import (
	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func releasesCommand() *cli.Command {
	return &cli.Command{
		Name:      "releases",
		Usage:     "list an app's releases, newest first, failed ones included",
		UsageText: "gitship releases APP [--json]",
		Flags:     []cli.Flag{jsonFlag()},
		Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
			if c.Bool("json") {
				list, err := d.Releases(c.Args().First())
				if err != nil {
					return err
				}
				return release.WriteJSON(c.App.Writer, list)
			}
			return d.WriteReleases(c.App.Writer, c.Args().First())
		}),
	}
}

func appsCommand() *cli.Command {
	return &cli.Command{
		Name:      "apps",
		Usage:     "list apps with their live release",
		UsageText: "gitship apps [--json]",
		Flags:     []cli.Flag{jsonFlag()},
		Action: withDeployer(0, 0, func(c *cli.Context, d *release.Deployer) error {
			if c.Bool("json") {
				list, gone := d.Apps(c.Context)
				if list == nil {
					return gone
				}
				if err := release.WriteJSON(c.App.Writer, list); err != nil {
					return err
				}
				return gone
			}
			return d.WriteApps(c.Context, c.App.Writer)
		}),
	}
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show what runs for an app",
		UsageText: "gitship status APP [--json]",
		Flags:     []cli.Flag{jsonFlag()},
		Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
			// Status notices what an interrupted deploy left and cleans
			// it up (never while a deploy of the app runs).
			// With --json what it says goes to stderr, stdout stays one document.
			tidyOut := c.App.Writer
			if c.Bool("json") {
				tidyOut = c.App.ErrWriter
			}
			if err := d.Tidy(c.Context, c.Args().First(), release.NewProgress(tidyOut)); err != nil {
				return err
			}
			if c.Bool("json") {
				st, gone := d.Status(c.Context, c.Args().First())
				if st == nil {
					return gone
				}
				if err := release.WriteJSON(c.App.Writer, st); err != nil {
					return err
				}
				return gone
			}
			return d.WriteStatus(c.Context, c.App.Writer, c.Args().First())
		}),
	}
}
