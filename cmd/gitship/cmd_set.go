package main

import (
	"fmt"
	"strings"

	"github.com/gitship/gitship/release"
	"github.com/gitship/gitship/state"
	"github.com/urfave/cli/v2"
)

func setCommand() *cli.Command {
	return &cli.Command{
		Name:      "set",
		Usage:     "change app settings; they apply to the next release",
		UsageText: "gitship set APP KEY=VALUE...",
		Description: "All pairs are checked before any is stored. Durations as in Go: 30s, 2m.\n\n" +
			"Settings:\n" + settingsHelp(true),
		Action: withDeployer(2, -1, func(c *cli.Context, d *release.Deployer) error {
			return report(c)(d.Set(c.Context, c.Args().First(), c.Args().Tail()))
		}),
	}
}

func unsetCommand() *cli.Command {
	return &cli.Command{
		Name:        "unset",
		Usage:       "put app settings back to their defaults",
		UsageText:   "gitship unset APP KEY...",
		Description: "Settings:\n" + settingsHelp(false),
		Action: withDeployer(2, -1, func(c *cli.Context, d *release.Deployer) error {
			return report(c)(d.Unset(c.Context, c.Args().First(), c.Args().Tail()))
		}),
	}
}

// report prints an app's settings after a change.
func report(c *cli.Context) func(*state.App, error) error {
	return func(a *state.App, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "%s: %s (applies to the next release)\n", a.Name, strings.Join(a.Settings.Describe(), " "))
		return nil
	}
}

// settingsHelp lists the settings of state's table, one per line: with
// their value form (KEY=VALUE, for set) or without it (for unset).
func settingsHelp(withValue bool) string {
	var b strings.Builder
	for _, sp := range state.Specs() {
		k := sp.Key
		if withValue {
			k += "=" + sp.Value
		}
		fmt.Fprintf(&b, "   %-26s %s\n", k, sp.Help)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
