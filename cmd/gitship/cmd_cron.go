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
		Usage: "the cron file (certificates, prune, the apps' scheduled jobs) and the scheduled jobs",
		Subcommands: []*cli.Command{{
			Name:      "install",
			Usage:     "write the cron file (certs renew twice a day, prune daily, the live releases' jobs); idempotent",
			UsageText: "gitship cron install [--print]",
			Description: "Besides gitship's own lines, every scheduled job of an app's live release (app.json) gets a line\n" +
				"running `gitship cron run APP ID`. A release that goes live rewrites the file once it exists.",
			Flags: []cli.Flag{&cli.BoolFlag{Name: "print", Usage: "print the file instead of writing it"}},
			Action: withDeployer(0, 0, func(c *cli.Context, d *release.Deployer) error {
				bin, err := selfPath()
				if err != nil {
					return err
				}
				jobs, err := d.CronJobs()
				if err != nil {
					return err
				}
				content := release.CronFile(bin, d.Config.Path, jobs)
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
		}, {
			Name:      "list",
			Usage:     "the scheduled jobs of the app's live release and their last runs",
			UsageText: "gitship cron list APP [--json]",
			Flags:     []cli.Flag{jsonFlag()},
			Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
				app := c.Args().First()
				if !c.Bool("json") {
					return d.WriteJobs(c.App.Writer, app)
				}
				jobs, err := d.Jobs(app)
				if err != nil {
					return err
				}
				if jobs == nil {
					jobs = []release.JobStatus{}
				}
				return release.WriteJSON(c.App.Writer, jobs)
			}),
		}, {
			Name:      "run",
			Usage:     "run a scheduled job once now, in a fresh container of the live release",
			UsageText: "gitship cron run APP ID",
			Description: "What the cron file runs. A run of the same job still going is not doubled: this says so and\n" +
				"exits 0. The output is kept (`gitship logs APP --cron ID`); gitship exits with the job's status.",
			Action: withDeployer(2, 2, func(c *cli.Context, d *release.Deployer) error {
				code, err := d.RunJob(c.Context, c.Args().Get(0), c.Args().Get(1), c.App.Writer, c.App.ErrWriter)
				return exitWith(code, err)
			}),
		}},
	}
}
