package main

import (
	"fmt"

	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "create an app: bare repository, hook, state and data dirs",
		UsageText: "gitship init APP [--domain DOMAIN]...",
		Description: "Creates the bare repository APP.git with its post-receive hook, the app's state\n" +
			"and data dirs, and prints the git remote to add. Running it again is harmless;\n" +
			"--domain replaces the app's domains. Without a domain the app is served at\n" +
			"APP.<domain from the config>. It refuses to run without a config file.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "domain", Usage: "a `DOMAIN` the app is served at (repeatable)"},
		},
		Action: needConfigFile(1, 1, withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
			bin, err := selfPath()
			if err != nil {
				return err
			}
			name := c.Args().First()
			res, err := d.Init(c.Context, name, c.StringSlice("domain"), bin, d.Config.Path)
			if err != nil {
				return err
			}
			w := c.App.Writer
			if res.Created {
				fmt.Fprintf(w, "Created app %s: %s\n", name, res.Repo)
			} else {
				fmt.Fprintf(w, "App %s exists: %s (hook refreshed)\n", name, res.Repo)
			}
			fmt.Fprintf(w, "On your machine, in the app's repository:\n")
			fmt.Fprintf(w, "  git remote add server %s\n", res.Remote)
			fmt.Fprintf(w, "  git push server main\n")
			return nil
		})),
	}
}
