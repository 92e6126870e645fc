package main

import (
	"fmt"

	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func configCommand() *cli.Command {
	noRestart := &cli.BoolFlag{Name: "no-restart", Usage: "store the change for the next release instead of releasing it now"}
	return &cli.Command{
		Name:  "config",
		Usage: "the app's environment; a change is a release (same image, no build)",
		Subcommands: []*cli.Command{
			{
				Name:      "set",
				Usage:     "set environment variables",
				UsageText: "gitship config set APP KEY=VALUE... [--no-restart]",
				Flags:     []cli.Flag{noRestart},
				Action: withDeployer(2, -1, func(c *cli.Context, d *release.Deployer) error {
					return deployExit(d.SetEnv(c.Context, c.Args().First(), c.Args().Tail(), !c.Bool("no-restart"), c.App.Writer))
				}),
			},
			{
				Name:      "unset",
				Usage:     "remove environment variables",
				UsageText: "gitship config unset APP KEY... [--no-restart]",
				Flags:     []cli.Flag{noRestart},
				Action: withDeployer(2, -1, func(c *cli.Context, d *release.Deployer) error {
					return deployExit(d.UnsetEnv(c.Context, c.Args().First(), c.Args().Tail(), !c.Bool("no-restart"), c.App.Writer))
				}),
			},
			{
				Name:      "get",
				Usage:     "print one value",
				UsageText: "gitship config get APP KEY",
				Action: withDeployer(2, 2, func(c *cli.Context, d *release.Deployer) error {
					v, err := d.EnvValue(c.Args().Get(0), c.Args().Get(1))
					if err != nil {
						return err
					}
					_, err = fmt.Fprintln(c.App.Writer, v)
					return err
				}),
			},
			{
				Name:      "list",
				Usage:     "list the environment, values masked",
				UsageText: "gitship config list APP [--reveal] [--json]",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "reveal", Usage: "show the values"}, jsonFlag()},
				Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
					if c.Bool("json") {
						env, err := d.EnvMap(c.Args().First(), c.Bool("reveal"))
						if err != nil {
							return err
						}
						return release.WriteJSON(c.App.Writer, env)
					}
					lines, err := d.Env(c.Args().First(), c.Bool("reveal"))
					if err != nil {
						return err
					}
					for _, l := range lines {
						fmt.Fprintln(c.App.Writer, l)
					}
					return nil
				}),
			},
		},
	}
}
