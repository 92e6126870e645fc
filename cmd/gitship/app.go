package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

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
		Name:           "gitship",
		Usage:          "git push to deploy containers behind nginx on one server",
		Reader:         stdin,
		Writer:         stdout,
		ErrWriter:      stderr,
		HideVersion:    true, // our own --version: cli's VersionFlag is a global
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError("gitship"),
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "config",
				Usage:   "server config `FILE`",
				Value:   config.DefaultPath,
				EnvVars: []string{"GITSHIP_CONFIG"},
			},
			&cli.BoolFlag{Name: "version", Usage: "print the version, commit and build date"},
			// cli adds --help only when it adds its own help command
			cli.HelpFlag,
		},
		Action: func(c *cli.Context) error {
			if c.Bool("version") && !c.Args().Present() {
				_, err := fmt.Fprintln(c.App.Writer, versionLine())
				return err
			}
			return helpAction(c)
		},
		Commands: []*cli.Command{
			initCommand(), hookCommand(), deployCommand(), rollbackCommand(),
			releasesCommand(), appsCommand(), statusCommand(), setCommand(), unsetCommand(),
			configCommand(), scaleCommand(), psCommand(), logsCommand(), destroyCommand(), bootCommand(), domainsCommand(), certsCommand(), cronCommand(), runCommand(), pruneCommand(), nginxCommand(), keysCommand(), sshCommand(),
			snapshotsCommand(), backupCommand(), restoreCommand(), exportCommand(),
			doctorCommand(), helpCommand(), versionCommand(), completionCommand(), completeCommand(), manCommand(), watchCommand(),
		},
	}
	for _, cmd := range app.Commands {
		cmd.Category = categories[cmd.Name]
	}
	setUsageErrors(app.Commands, "gitship")
	setHelpTemplates(app)
	return app
}

// categories groups the commands in `gitship --help`.
var categories = map[string]string{
	"init": "apps", "apps": "apps", "status": "apps", "destroy": "apps",
	"deploy": "releases", "rollback": "releases", "releases": "releases", "prune": "releases", "export": "releases",
	"set": "config", "unset": "config", "config": "config",
	"domains": "domains and TLS", "certs": "domains and TLS", "nginx": "domains and TLS",
	"scale": "processes", "ps": "processes", "logs": "processes", "run": "processes", "cron": "processes",
	"snapshots": "data", "backup": "data", "restore": "data",
	"keys": "access", "ssh": "access",
	"boot": "maintenance", "hook": "maintenance", "watch": "maintenance", "help": "maintenance", "version": "maintenance",
	"doctor": "maintenance", "completion": "maintenance", "man": "maintenance",
}

// setUsageErrors gives every command (urfave/cli does not pass the app's
// OnUsageError down) a one-line usage error instead of its whole help.
func setUsageErrors(cmds []*cli.Command, parent string) {
	for _, cmd := range cmds {
		name := parent + " " + cmd.Name
		cmd.OnUsageError = onUsageError(name)
		if cmd.Action == nil && len(cmd.Subcommands) > 0 {
			cmd.Action = helpAction // `gitship domains nope`: a usage error
		}
		cmd.HideHelpCommand = true // `gitship help domains add` instead
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
		// UsageText names the whole command ("gitship init APP"); its
		// forms, one a line, are joined into the one line of the error
		forms := strings.Split(strings.TrimSpace(c.Command.UsageText), "\n")
		for i, f := range forms {
			if f = strings.TrimSpace(f); !strings.HasPrefix(f, "gitship ") {
				f = "gitship " + f // TestEveryHelpHasUsageAndExample asks for it
			}
			forms[i] = f
		}
		return usagef("usage: %s; see `%s --help`", strings.Join(forms, " | "), c.Command.HelpName)
	}
	return nil
}

func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the commands, or one command's help",
		UsageText: "gitship help [COMMAND [SUBCOMMAND]]",
		Action: func(c *cli.Context) error {
			cmds, name := c.App.Commands, "gitship"
			var cmd *cli.Command
			for _, a := range c.Args().Slice() {
				next := find(cmds, a)
				if next == nil {
					return unknownCommand(name, a, cmds)
				}
				cmd, cmds, name = next, next.Subcommands, name+" "+a
			}
			if cmd == nil {
				return cli.ShowAppHelp(c)
			}
			if len(cmd.Subcommands) == 0 {
				if cmd.HelpName == "" {
					cmd.HelpName = name
				}
				cli.HelpPrinter(c.App.Writer, cmd.CustomHelpTemplate, cmd)
				return nil
			}
			// `CMD --help` itself: urfave/cli sets up what the help
			// shows (a command's subcommands) only when it runs it
			return c.App.RunContext(c.Context, append(strings.Fields(name), "--help"))
		},
	}
}

// helpAction is the action of gitship and of a command with
// subcommands: with no argument their help, with one a usage error (a
// known subcommand would have run).
func helpAction(c *cli.Context) error {
	name, cmds := c.Command.HelpName, c.Command.Subcommands
	if c.Args().Present() {
		return unknownCommand(name, c.Args().First(), cmds)
	}
	if name == "gitship" {
		return cli.ShowAppHelp(c)
	}
	return cli.ShowSubcommandHelp(c)
}

// unknownCommand is the usage error for `PARENT WORD` when WORD is no
// command of PARENT, with the nearest command's name when one is close.
func unknownCommand(parent, word string, cmds []*cli.Command) error {
	what := strings.TrimPrefix(parent+" "+word, "gitship ")
	best, bestD := "", 3 // suggest within two edits
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		if d := levenshtein(word, c.Name); d < bestD {
			best, bestD = c.Name, d
		}
	}
	if best != "" {
		sugg := strings.TrimPrefix(parent+" "+best, "gitship ")
		return usagef("unknown command %q: did you mean %q? (see `%s --help`)", what, sugg, parent)
	}
	return usagef("unknown command %q (see `%s --help`)", what, parent)
}

// levenshtein is the edit distance between a and b.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
