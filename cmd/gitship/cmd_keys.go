package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/gitship/gitship/access"
	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/release"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
	"github.com/urfave/cli/v2"
)

func keysFor(cfg *config.Config) (*access.Keys, error) {
	bin, err := selfPath()
	if err != nil {
		return nil, err
	}
	fs := afero.NewOsFs()
	return &access.Keys{Fs: fs, Path: cfg.SSH.AuthorizedKeys, Bin: bin, Config: cfg.Path,
		CheckApp: func(app string) error {
			_, err := state.LoadApp(fs, cfg.AppsDir(), app)
			return err
		}}, nil
}

func keysCommand() *cli.Command {
	withKeys := func(min, max int, fn func(*cli.Context, *access.Keys) error) cli.ActionFunc {
		return withConfig(min, max, func(c *cli.Context, cfg *config.Config) error {
			k, err := keysFor(cfg)
			if err != nil {
				return err
			}
			return fn(c, k)
		})
	}
	return &cli.Command{
		Name:  "keys",
		Usage: "the ssh keys that may push and run gitship commands",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "allow a public key (read from stdin) on some apps, or on all with --admin",
				UsageText: "gitship keys add NAME [--app APP]... [--admin] < key.pub",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "app", Usage: "an `APP` the key may push to and manage (repeatable)"},
					&cli.BoolFlag{Name: "admin", Usage: "every app, and init, destroy, keys"},
				},
				Action: withKeys(1, 1, func(c *cli.Context, k *access.Keys) error {
					pub, err := io.ReadAll(io.LimitReader(c.App.Reader, 64<<10))
					if err != nil {
						return fmt.Errorf("read the public key from stdin: %w", err)
					}
					if err := k.Add(c.Args().First(), c.StringSlice("app"), c.Bool("admin"), pub); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "added key %s to %s\n", c.Args().First(), k.Path)
					return nil
				}),
			},
			{
				Name:      "list",
				Usage:     "list the keys gitship manages",
				UsageText: "gitship keys list [--json]",
				Flags:     []cli.Flag{jsonFlag()},
				Action: withKeys(0, 0, func(c *cli.Context, k *access.Keys) error {
					keys, err := k.List()
					if err != nil {
						return err
					}
					if c.Bool("json") {
						out := make([]access.Key, 0, len(keys))
						for _, key := range keys {
							if key.Apps == nil {
								key.Apps = []string{}
							}
							out = append(out, key)
						}
						return release.WriteJSON(c.App.Writer, out)
					}
					for _, key := range keys {
						rights := "apps: " + strings.Join(key.Apps, ", ")
						if key.Admin {
							rights = "admin"
						}
						fmt.Fprintf(c.App.Writer, "%s\t%s\t%s\n", key.Name, key.Type, rights)
					}
					return nil
				}),
			},
			{
				Name:      "remove",
				Usage:     "remove a key",
				UsageText: "gitship keys remove NAME",
				Action: withKeys(1, 1, func(c *cli.Context, k *access.Keys) error {
					if err := k.Remove(c.Args().First()); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "removed key %s\n", c.Args().First())
					return nil
				}),
			},
		},
	}
}
