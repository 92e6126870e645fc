package main

import (
	"fmt"
	"strings"

	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func setCommand() *cli.Command {
	return &cli.Command{
		Name:      "set",
		Usage:     "change app settings; they apply to the next release",
		UsageText: "set APP KEY=VALUE...   (e.g. gitship set myapp health_path=/healthz health_timeout=20s)",
		Description: "Settings: branch (the deploy branch), health_path, health_timeout and drain\n" +
			"(durations as in Go: 30s, 2m). All pairs are checked before any is stored.",
		Action: func(c *cli.Context) error {
			if err := args(c, 2, -1); err != nil {
				return err
			}
			return changeSettings(c, func(d *release.Deployer, app string, rest []string) (*release.App, error) {
				return d.Set(app, rest)
			})
		},
	}
}

func unsetCommand() *cli.Command {
	return &cli.Command{
		Name:      "unset",
		Usage:     "put app settings back to their defaults",
		UsageText: "unset APP KEY...",
		Action: func(c *cli.Context) error {
			if err := args(c, 2, -1); err != nil {
				return err
			}
			return changeSettings(c, func(d *release.Deployer, app string, rest []string) (*release.App, error) {
				return d.Unset(app, rest)
			})
		},
	}
}

func changeSettings(c *cli.Context, change func(*release.Deployer, string, []string) (*release.App, error)) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	d, err := deployer(cfg)
	if err != nil {
		return err
	}
	a, err := change(d, c.Args().First(), c.Args().Tail())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s: %s (applies to the next release)\n", a.Name, strings.Join(a.Settings.Describe(), " "))
	return nil
}
