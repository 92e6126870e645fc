package main

import (
	"github.com/gitship/gitship/build"
	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func pruneCommand() *cli.Command {
	return &cli.Command{
		Name:      "prune",
		Usage:     "bring BuildKit's build cache within its budget",
		UsageText: "prune [--dry-run]",
		Description: "Removes the least recently used BuildKit cache entries until the cache fits in\n" +
			"[buildkit] cache_budget, and nothing when it fits already (a warm cache stays warm).\n" +
			"Without a buildkitd answering at [buildkit] address there is nothing to prune.",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "dry-run", Usage: "say what would be pruned"}},
		Action: withDeployer(0, 0, func(c *cli.Context, d *release.Deployer) error {
			bk := &build.BuildKit{Address: d.Config.Buildkit.Address, Podman: d.Config.Podman.Socket}
			if err := build.Available(c.Context, bk.Address); err != nil {
				release.NewProgress(c.App.Writer).Say("Build cache: %v; nothing to prune", err)
				return nil
			}
			return d.PruneBuildCache(c.Context, bk, d.Config.Buildkit.CacheBudgetBytes, c.Bool("dry-run"), c.App.Writer)
		}),
	}
}
