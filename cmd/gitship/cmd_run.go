package main

import (
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gitship/gitship/release"
	"github.com/urfave/cli/v2"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a command once in a new container of the app's live release",
		UsageText: "gitship run APP [--release vN] -- CMD [ARGS...]",
		Description: "The container has the release's image, environment, /data and limits, no socket and no port;\n" +
			"it is removed after. Its output streams here, stdin is passed when it is not a terminal, Ctrl-C\n" +
			"interrupts it, and gitship exits with the command's status. With a shell in the image the\n" +
			"command runs through /bin/sh -c (one argument: as a command line; several: each quoted);\n" +
			"without one (FROM scratch) it is executed as given.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "release", Usage: "run in release `vN` instead of the live one (its image must still exist)"},
		},
		Action: withDeployer(2, -1, func(c *cli.Context, d *release.Deployer) error {
			app := c.Args().First()
			args := c.Args().Slice()[1:]
			if len(args) > 0 && args[0] == "--" {
				args = args[1:]
			}
			if len(args) == 0 {
				return usagef("no command: gitship run %s -- CMD [ARGS...]", app)
			}
			v := 0
			if s := c.String("release"); s != "" {
				n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
				if err != nil || !strings.HasPrefix(s, "v") || n <= 0 {
					return usagef("invalid release %q: use vN, e.g. v3", s)
				}
				v = n
			}
			code, err := d.Run(c.Context, app, release.RunOptions{
				Release: v, Args: args, Stdin: runStdin(c.App.Reader), Stdout: c.App.Writer, Stderr: c.App.ErrWriter,
			})
			return exitWith(code, err)
		}),
	}
}

// exitWith is the exit of a command that ran something once: its exit
// status, or the error (with the status when there is one).
func exitWith(code int, err error) error {
	switch {
	case err != nil && code > 0:
		return cli.Exit(err.Error(), code)
	case err != nil:
		return err
	case code != 0:
		return cli.Exit("", code)
	}
	return nil
}

// runStdin is what a one-off command reads: r, unless it is a terminal
// (there is no terminal in the container to give it) or absent.
func runStdin(r io.Reader) io.Reader {
	f, ok := r.(*os.File)
	if !ok {
		return r
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice != 0 {
		return nil
	}
	return f
}
