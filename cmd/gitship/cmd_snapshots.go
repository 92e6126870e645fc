package main

import (
	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func snapshotsCommand() *cli.Command {
	return &cli.Command{
		Name:      "snapshots",
		Usage:     "list an app's data snapshots, newest first",
		UsageText: "gitship snapshots APP [--json]",
		Description: "A snapshot is a copy of the app's data dir (/data) taken while its containers are paused,\n" +
			"kept under ROOT/apps/APP/snapshots/ID/; `gitship set APP snapshots=N` is how many are kept (default 3).",
		Flags: []cli.Flag{jsonFlag()},
		Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
			return d.WriteSnapshots(c.App.Writer, c.Args().First(), c.Bool("json"))
		}),
	}
}
