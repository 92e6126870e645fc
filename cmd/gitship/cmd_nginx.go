package main

import (
	"fmt"

	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/nginx"
	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func nginxCommand() *cli.Command {
	return &cli.Command{
		Name:  "nginx",
		Usage: "show an app's server block or check nginx's config",
		Subcommands: []*cli.Command{
			{
				Name:      "render",
				Usage:     "print the server block of the app's live release",
				UsageText: "gitship nginx render APP",
				Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
					conf, err := d.RenderLive(c.Args().First())
					if err != nil {
						return err
					}
					_, err = c.App.Writer.Write(conf)
					return err
				}),
			},
			{
				Name:      "check",
				Usage:     "run nginx -t against the main config",
				UsageText: "gitship nginx check",
				Action: withConfig(0, -1, func(c *cli.Context, cfg *config.Config) error {
					m := &nginx.Manager{Binary: cfg.Nginx.Binary, Conf: cfg.Nginx.Conf, Prefix: cfg.Nginx.Prefix}
					if err := m.Check(c.Context); err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, "nginx config is valid")
					return nil
				}),
			},
		},
	}
}
