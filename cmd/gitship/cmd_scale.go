package main

import (
	"fmt"

	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func scaleCommand() *cli.Command {
	return &cli.Command{
		Name:      "scale",
		Usage:     "show or set how many containers each process type runs",
		UsageText: "gitship scale APP [TYPE=N...]",
		Description: "Without pairs, prints the counts of the live release's process types (web, then the\n" +
			"Procfile's workers). With TYPE=N pairs (N from 0 to 20; worker=0 stops a type), releases\n" +
			"the change at once with the live image, as `gitship config set` does: no build.",
		Action: withDeployer(1, -1, func(c *cli.Context, d *release.Deployer) error {
			app := c.Args().First()
			if c.NArg() == 1 {
				counts, err := d.ScaleOf(app)
				if err != nil {
					return err
				}
				fmt.Fprintln(c.App.Writer, release.FormatScale(counts))
				return nil
			}
			return deployExit(d.Scale(c.Context, app, c.Args().Tail(), c.App.Writer))
		}),
	}
}
