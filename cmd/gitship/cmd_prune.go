package main

import (
	"github.com/gitship/gitship/build"
	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func pruneCommand() *cli.Command {
	return &cli.Command{
		Name:      "prune",
		Usage:     "remove images and containers no release needs and bring the build cache within its budget",
		UsageText: "gitship prune [--dry-run] [--keep N]",
		Description: "Removes gitship's images of this instance (label gitship.root) except, per app, the\n" +
			"live release's image and the `keep` newest images a rollback could go to (--keep, else\n" +
			"the app's keep setting, else the config's keep; 0 keeps the live image only), and\n" +
			"stopped gitship containers no live release runs. A release keeps its image by the ID it\n" +
			"recorded as well as by name. An app whose state cannot be read is skipped with a\n" +
			"warning: only a missing app's images are all removed. Images are removed by name and\n" +
			"never by force: other names on an image, and anything without the label, are never\n" +
			"touched.\n" +
			"Then removes the least recently used BuildKit cache entries until the cache fits in\n" +
			"[buildkit] cache_budget, and nothing when it fits already (a warm cache stays warm).\n" +
			"Without a buildkitd answering at [buildkit] address there is no cache to prune; with\n" +
			"builder = \"podman\" this step is skipped.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "say what would be pruned"},
			&cli.IntFlag{Name: "keep", Usage: "`N` rollback images to keep per app, whatever each app's keep says (default: the app's keep, else config keep)"},
		},
		Action: withDeployer(0, 0, func(c *cli.Context, d *release.Deployer) error {
			keep := -1 // each app's keep setting, else the config's
			if c.IsSet("keep") {
				if keep = c.Int("keep"); keep < 0 || keep > config.MaxKeep {
					return usagef("--keep must be 0 to %d, got %d", config.MaxKeep, keep)
				}
			}
			dry := c.Bool("dry-run")
			if err := d.PruneImages(c.Context, keep, dry, c.App.Writer); err != nil {
				return err
			}
			if d.Cache == nil {
				// no BuildKit (builder = "podman"): no build cache of ours to prune
				return nil
			}
			if err := build.Available(c.Context, d.Config.Buildkit.Address); err != nil {
				release.NewProgress(c.App.Writer).Say("Build cache: %v; nothing to prune", err)
				return nil
			}
			return d.PruneBuildCache(c.Context, d.Config.Buildkit.CacheBudgetBytes, dry, c.App.Writer)
		}),
	}
}
