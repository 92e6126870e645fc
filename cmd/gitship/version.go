package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Set at build time by scripts/build:
//
//	-ldflags "-X main.version=V -X main.commit=SHA -X main.date=DATE"
var (
	version = "dev"
	commit  = "dev"
	date    = "dev"
)

// versionLine is what `gitship --version` and `gitship version` print.
func versionLine() string {
	return fmt.Sprintf("gitship %s (commit %s, built %s)", version, commit, date)
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the version, commit and build date",
		UsageText: "gitship version",
		Action: func(c *cli.Context) error {
			if err := args(c, 0, 0); err != nil {
				return err
			}
			_, err := fmt.Fprintln(c.App.Writer, versionLine())
			return err
		},
	}
}
