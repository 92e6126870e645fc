package main

import (
	"fmt"

	"github.com/gitship/gitship/release"
	"github.com/spf13/afero"
	"github.com/urfave/cli/v2"
)

func cronCommand() *cli.Command {
	return &cli.Command{
		Name:  "cron",
		Usage: "the cron file that renews certificates and prunes",
		Subcommands: []*cli.Command{{
			Name:      "install",
			Usage:     "write the cron file (certs renew twice a day, prune daily); idempotent",
			UsageText: "cron install [--print]",
			Flags:     []cli.Flag{&cli.BoolFlag{Name: "print", Usage: "print the file instead of writing it"}},
			Action: withDeployer(0, 0, func(c *cli.Context, d *release.Deployer) error {
				bin, err := selfPath()
				if err != nil {
					return err
				}
				content := release.CronFile(bin, d.Config.Path)
				if c.Bool("print") {
					_, err := fmt.Fprint(c.App.Writer, content)
					return err
				}
				changed, err := release.InstallCron(afero.NewOsFs(), d.Config.CronFile, content)
				if err != nil {
					return err
				}
				if changed {
					fmt.Fprintf(c.App.Writer, "wrote %s\n", d.Config.CronFile)
				} else {
					fmt.Fprintf(c.App.Writer, "%s is up to date\n", d.Config.CronFile)
				}
				return nil
			}),
		}},
	}
}
