package main

import (
	"errors"
	"os"

	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "put a snapshot's or a backup's data back under an app's live release",
		UsageText: "gitship restore APP SNAPSHOT\ngitship restore APP --file FILE|-",
		Description: "Copies the snapshot (or unpacks the backup, refusing a truncated or foreign archive\n" +
			"before any data is touched) beside the data dir, swaps it in while the app is paused,\n" +
			"then releases the live image again on it as a new release: checked, switched, the old\n" +
			"containers retired. The data it replaced is kept as a snapshot, so a restore can be undone.",
		Flags: []cli.Flag{&cli.StringFlag{Name: "file", Usage: "restore the backup in `FILE` (- for stdin)"}},
		Action: withDeployer(1, 2, func(c *cli.Context, d *release.Deployer) error {
			app, from := c.Args().Get(0), release.RestoreFrom{Snapshot: c.Args().Get(1)}
			switch file := c.String("file"); {
			case file != "" && from.Snapshot != "":
				return cli.Exit("restore: give a snapshot or --file, not both", 2)
			case file == "-":
				from.Backup, from.What = c.App.Reader, "stdin"
			case file != "":
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				from.Backup, from.What = f, file
			case from.Snapshot == "":
				return cli.Exit("restore: which snapshot? gitship restore "+app+" s-N (see `gitship snapshots "+app+"`), or --file FILE", 2)
			}
			_, err := d.Restore(c.Context, app, from, c.App.Writer)
			if errors.Is(err, release.ErrDeployFailed) {
				return cli.Exit("", 1)
			}
			return err
		}),
	}
}
