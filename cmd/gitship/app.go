package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/urfave/cli/v2"
)

// usagef is a wrong invocation: exit status 2.
func usagef(format string, args ...any) error { return usererr.Usagef(format, args...) }

// run is main without the exit, so deferred work runs and tests call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runApp(ctx, newApp(stdin, stdout, stderr), args, stderr)
}

// runApp runs app (newApp's) with args and returns the exit status.
func runApp(ctx context.Context, app *cli.App, args []string, stderr io.Writer) int {
	code, line := exitStatus(app.RunContext(ctx, reorder(app, args)))
	if line != "" {
		fmt.Fprintf(stderr, "gitship: %s\n", line)
	}
	return code
}

// exitStatus maps what a command returned to the exit status and the one
// line for stderr ("" when there is nothing more to say). The status comes
// from the error's type, never from its text: a usage error
// (usererr.Error.IsUsage) is 2, a cli.Exit its own code (an empty message:
// the command has told everything already), any other failure 1, with
// its hint if it carries one (usererr.Error: "MSG: HINT").
func exitStatus(err error) (code int, line string) {
	if err == nil {
		return 0, ""
	}
	var ue *usererr.Error
	if errors.As(err, &ue) && ue.IsUsage {
		return 2, err.Error()
	}
	var ee cli.ExitCoder
	if errors.As(err, &ee) {
		return ee.ExitCode(), err.Error()
	}
	return 1, err.Error()
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
			configCommand(), scaleCommand(), psCommand(), logsCommand(), destroyCommand(), bootCommand(), domainsCommand(), certsCommand(), cronCommand(), runCommand(), pruneCommand(), nginxCommand(), keysCommand(), sshCommand(),
			snapshotsCommand(), backupCommand(), restoreCommand(),
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
		// the hint is joined with "; " here: "...: -rf: see" would read
		// as part of urfave/cli's "flag provided but not defined: -rf"
		return &usererr.Error{Msg: fmt.Sprintf("%s; see `%s --help`", err, name), IsUsage: true, Err: err}
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
