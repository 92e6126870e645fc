package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gitship/gitship/config"
	"github.com/urfave/cli/v2"
)

// usageError marks a wrong invocation: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run is main without the exit, so deferred work runs and tests call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runApp(ctx, newApp(stdin, stdout, stderr), args, stderr)
}

// runApp runs app (newApp's) with args and returns the exit status.
func runApp(ctx context.Context, app *cli.App, args []string, stderr io.Writer) int {
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
	app := &cli.App{
		Name:            "gitship",
		Usage:           "git push to deploy containers behind nginx on one server",
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError:    onUsageError("gitship"),
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "config",
				Usage:   "server config `FILE`",
				Value:   config.DefaultPath,
				EnvVars: []string{"GITSHIP_CONFIG"},
			},
		},
		Commands: []*cli.Command{
			initCommand(), hookCommand(), deployCommand(), rollbackCommand(),
			releasesCommand(), appsCommand(), statusCommand(), setCommand(), unsetCommand(),
			configCommand(), logsCommand(), destroyCommand(), bootCommand(), domainsCommand(), certsCommand(), cronCommand(), pruneCommand(), nginxCommand(), keysCommand(), sshCommand(),
		},
	}
	setUsageErrors(app.Commands, "gitship")
	return app
}

// setUsageErrors gives every command (urfave/cli does not pass the app's
// OnUsageError down) a one-line usage error instead of its whole help.
func setUsageErrors(cmds []*cli.Command, parent string) {
	for _, cmd := range cmds {
		name := parent + " " + cmd.Name
		cmd.OnUsageError = onUsageError(name)
		setUsageErrors(cmd.Subcommands, name)
	}
}

// onUsageError makes a bad flag of the command name one line that points
// at its help: exit status 2.
func onUsageError(name string) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		return usagef("%s; see `%s --help`", err, name)
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
