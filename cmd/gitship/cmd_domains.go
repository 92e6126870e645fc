package main

import (
	"fmt"

	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func domainsCommand() *cli.Command {
	return &cli.Command{
		Name:  "domains",
		Usage: "the domains an app is served at",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "serve the app at one more domain (a new release, no build)",
				UsageText: "gitship domains add APP DOMAIN",
				Action: withDeployer(2, 2, func(c *cli.Context, d *release.Deployer) error {
					return deployExit(d.AddDomain(c.Context, c.Args().Get(0), c.Args().Get(1), c.App.Writer))
				}),
			},
			{
				Name:      "remove",
				Usage:     "stop serving the app at a domain (a new release, no build)",
				UsageText: "gitship domains remove APP DOMAIN",
				Action: withDeployer(2, 2, func(c *cli.Context, d *release.Deployer) error {
					return deployExit(d.RemoveDomain(c.Context, c.Args().Get(0), c.Args().Get(1), c.App.Writer))
				}),
			},
			{
				Name:      "list",
				Usage:     "list the domains the app is served at",
				UsageText: "gitship domains list APP [--json]",
				Flags:     []cli.Flag{jsonFlag()},
				Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
					ds, err := d.Domains(c.Args().First())
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return release.WriteJSON(c.App.Writer, ds)
					}
					for _, dom := range ds {
						fmt.Fprintln(c.App.Writer, dom)
					}
					return nil
				}),
			},
		},
	}
}

func certsCommand() *cli.Command {
	return &cli.Command{
		Name:  "certs",
		Usage: "TLS certificates through certbot",
		Subcommands: []*cli.Command{
			{
				Name:      "issue",
				Usage:     "obtain a certificate for every domain of the app and serve it over HTTPS",
				UsageText: "gitship certs issue APP",
				Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
					return d.IssueCert(c.Context, c.Args().First(), c.App.Writer)
				}),
			},
			{
				Name:      "renew",
				Usage:     "renew what is due and report every certificate's expiry (what cron runs)",
				UsageText: "gitship certs renew",
				Description: "Exits 1 when a served certificate expires within 14 days and was not renewed,\n" +
					"so cron mail or monitoring sees it.",
				Action: withDeployer(0, 0, func(c *cli.Context, d *release.Deployer) error {
					return d.RenewCerts(c.Context, c.App.Writer)
				}),
			},
		},
	}
}
