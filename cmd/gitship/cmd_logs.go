package main

import (
	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "the app's output, or the push output of a release",
		UsageText: "gitship logs APP [-f] [-n N] [--release vN]\ngitship logs APP --build vN\ngitship logs APP --cron ID",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep streaming"},
			&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Value: 100, Usage: "the last `N` lines (-1: all)"},
			&cli.StringFlag{Name: "release", Usage: "release `vN`'s container instead of the live one's"},
			&cli.StringFlag{Name: "build", Usage: "the kept push output (build included) of release `vN`"},
			&cli.StringFlag{Name: "cron", Usage: "the kept output of the last run of scheduled job `ID`"},
		},
		Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
			app := c.Args().First()
			if id := c.String("cron"); id != "" {
				return d.JobLog(app, id, c.App.Writer)
			}
			if v := c.String("build"); v != "" {
				return d.BuildLog(app, v, c.App.Writer)
			}
			return d.Logs(c.Context, app, c.String("release"), c.Int("lines"), c.Bool("follow"), c.App.Writer)
		}),
	}
}
