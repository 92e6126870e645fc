package main

import (
	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "write a consistent copy of an app's data dir as a gzip'd tar",
		UsageText: "gitship backup APP [-o FILE]\ngitship backup --all",
		Description: "The app's containers are paused while the data dir is read (a local write: the app does not\n" +
			"wait for a slow reader). Without -o the archive goes to stdout and the progress to stderr;\n" +
			"with -o FILE it appears there whole, mode 0600, or not at all. --all (the nightly cron line)\n" +
			"backs up every app into [backup] dir/APP/APP-YYYYMMDDTHHMMSSZ.tar.gz, keeps the newest\n" +
			"[backup] keep of each, and exits 1 naming the apps whose backup failed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the archive to `FILE`"},
			&cli.BoolFlag{Name: "all", Usage: "back up every app into [backup] dir, keeping [backup] keep of each"},
		},
		Action: withDeployer(0, 1, func(c *cli.Context, d *release.Deployer) error {
			app := c.Args().First()
			p := release.NewProgress(c.App.ErrWriter)
			switch {
			case c.Bool("all") && (app != "" || c.String("output") != ""):
				return cli.Exit("backup: --all takes no APP and no -o", 2)
			case c.Bool("all"):
				return d.BackupAll(c.Context, p)
			case app == "":
				return cli.Exit("backup: which app? gitship backup APP [-o FILE], or --all", 2)
			}
			if out := c.String("output"); out != "" {
				return d.BackupToFile(c.Context, app, out, p)
			}
			return d.Backup(c.Context, app, c.App.Writer, p)
		}),
	}
}
