package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func psCommand() *cli.Command {
	return &cli.Command{
		Name:      "ps",
		Usage:     "list the containers of an app's live release",
		UsageText: "gitship ps APP [--json]",
		Description: "One line per container, web first: process type, number, state, since when it runs\n" +
			"and how often its restart policy restarted it. The web containers of the release switched\n" +
			"from last follow while they stay warm (setting warm): state \"warm (vN, until HH:MM:SS)\".\n" +
			"For an app with target=kube, one line per pod of the live release, read from the API:\n" +
			"process type, number, phase, ready containers, node, age, restarts and pod name.",
		Flags: []cli.Flag{jsonFlag()},
		Action: withDeployer(1, 1, func(c *cli.Context, d *release.Deployer) error {
			live, ps, err := d.Ps(c.Context, c.Args().First())
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return release.WriteJSON(c.App.Writer, ps)
			}
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			if release.IsKube(live) {
				fmt.Fprintf(w, "# %s %s on Kubernetes (namespace %s)\nTYPE\tNUMBER\tSTATE\tREADY\tNODE\tAGE\tRESTARTS\tPOD\n", live.App, live.Name(), live.App)
				now := d.Now()
				for _, p := range ps {
					node, age := p.Node, "-"
					if node == "" {
						node = "-" // not scheduled yet
					}
					if !p.Since.IsZero() {
						age = now.Sub(p.Since).Truncate(time.Second).String()
					}
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%d\t%s\n", p.Type, p.Number, p.State, p.Ready, node, age, p.Restarts, p.Name)
				}
				return w.Flush()
			}
			fmt.Fprintf(w, "# %s %s\nTYPE\tNUMBER\tSTATE\tSINCE\tRESTARTS\tCONTAINER\n", live.App, live.Name())
			for _, p := range ps {
				since := "-"
				if !p.Since.IsZero() {
					since = p.Since.UTC().Format(time.RFC3339)
				}
				state := p.State
				if !p.WarmUntil.IsZero() {
					state += " (" + p.Release + ", until " + p.WarmUntil.Local().Format("15:04:05") + ")"
				}
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%d\t%s\n", p.Type, p.Number, state, since, p.Restarts, p.Name)
			}
			return w.Flush()
		}),
	}
}
