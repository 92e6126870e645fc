package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// usageError marks a wrong invocation: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run is main without the exit, so deferred work runs and tests call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, reorder(app, args))
	if err == nil {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "flag provided but not defined") {
		fmt.Fprintf(stderr, "gitship: %s\n", err)
		return 2
	}
	var ee cli.ExitCoder
	if errors.As(err, &ee) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stderr, "gitship: %s\n", msg)
		}
		return ee.ExitCode()
	}
	fmt.Fprintf(stderr, "gitship: %s\n", err)
	return 1
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:            "gitship",
		Usage:           "git push to deploy containers behind nginx on one server",
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err.Error()}
		},
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "config",
				Usage:   "server config `FILE`",
				EnvVars: []string{"GITSHIP_CONFIG"},
			},
		},
		Commands: []*cli.Command{
			initCommand(), hookCommand(), deployCommand(), rollbackCommand(),
			releasesCommand(), appsCommand(), statusCommand(), setCommand(), unsetCommand(),
			configCommand(), logsCommand(), destroyCommand(), bootCommand(), domainsCommand(), certsCommand(), cronCommand(), pruneCommand(), nginxCommand(), keysCommand(), sshCommand(),
		},
	}
}

// args checks the number of positional arguments.
func args(c *cli.Context, min, max int) error {
	n := c.NArg()
	if n < min || (max >= 0 && n > max) {
		return usagef("usage: gitship %s", c.Command.UsageText)
	}
	return nil
}
