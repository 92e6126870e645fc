package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gitship/gitship/config"
	"github.com/urfave/cli/v2"
)

func manCommand() *cli.Command {
	return &cli.Command{
		Name:      "man",
		Usage:     "print the gitship(1) manual page (roff)",
		UsageText: "gitship man",
		Description: "The page is made from the same commands, usage lines and examples as the help; the\n" +
			"package installs it as /usr/share/man/man1/gitship.1.gz.",
		Action: func(c *cli.Context) error {
			if err := args(c, 0, 0); err != nil {
				return err
			}
			_, err := fmt.Fprint(c.App.Writer, manPage(c.App))
			return err
		},
	}
}

// manPage is gitship(1) in roff (the man macros). Its text depends only
// on the commands and the version gitship was built as: no date, no path
// of this machine but the defaults.
func manPage(app *cli.App) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w(`.TH GITSHIP 1 "" "gitship %s" "gitship manual"`, roffEsc(version))
	w(".SH NAME")
	w(`gitship \- %s`, roffEsc(app.Usage))
	w(".SH SYNOPSIS")
	w(`.B gitship`)
	w(`[\fB\-\-config\fR \fIFILE\fR] \fICOMMAND\fR [\fISUBCOMMAND\fR] [\fIARGS\fR...]`)
	w(".SH DESCRIPTION")
	w("gitship makes one server behave like a small Heroku.")
	w(roffEsc("A git push to an app's repository on the server builds the pushed commit into an image " +
		"(Podman or BuildKit), starts it beside the live release, checks its health, points nginx at it " +
		"and retires the old release. The commands below manage the apps, their releases, settings, " +
		"domains, certificates, processes and data, and the ssh keys that may push."))
	w(".PP")
	w(roffEsc("Each command prints its own help with `gitship COMMAND --help` or `gitship help COMMAND [SUBCOMMAND]`."))
	w(".SH COMMANDS")
	var order []string
	byCat := map[string][]*cli.Command{}
	for _, c := range app.Commands {
		if c.Hidden {
			continue
		}
		if _, ok := byCat[c.Category]; !ok {
			order = append(order, c.Category)
		}
		byCat[c.Category] = append(byCat[c.Category], c)
	}
	for _, cat := range order {
		w(`.SS "%s"`, roffEsc(cat))
		for _, c := range byCat[cat] {
			manCommandEntry(&b, c, c.Name)
		}
	}
	w(".SH OPTIONS")
	w("These global options come before the command.")
	manFlags(&b, app.Flags)
	w(".SH FILES")
	w(".TP")
	w(`.I %s`, roffEsc(config.DefaultPath))
	w(roffEsc("The server config (TOML): the root, nginx, Podman, BuildKit, certbot, ssh, backup. " +
		"Without one gitship says so and uses the defaults; init refuses to run without one."))
	root := config.Default().Root
	w(".TP")
	w(`.I %s/repos/APP.git`, roffEsc(root))
	w(roffEsc("An app's bare repository (the root is the config's root, by default " + root + ")."))
	w(".TP")
	w(`.I %s/apps/APP/`, roffEsc(root))
	w(roffEsc("An app's state (app.json: settings, environment, releases), its data dir and snapshots."))
	w(".SH ENVIRONMENT")
	w(".TP")
	w(".B GITSHIP_CONFIG")
	w(roffEsc("The config file when --config is not given (empty: the default, " + config.DefaultPath + ")."))
	w(".SH EXIT STATUS")
	w(".TP")
	w(".B 0")
	w("Success.")
	w(".TP")
	w(".B 1")
	w(roffEsc("The command failed: a deploy that did not go live (the old release still serves), a check " +
		"that found a problem, an error. One line on stderr says what, and what to do next."))
	w(".TP")
	w(".B 2")
	w(roffEsc("A usage error: an unknown command or flag, wrong arguments. One line on stderr, " +
		"with the command whose --help to read."))
	w(".SH EXAMPLES")
	w("Create an app, push it, watch it and give it a certificate:")
	w(".PP")
	w(".RS")
	w(".nf")
	for _, l := range []string{
		"gitship init myapp \\-\\-domain myapp.example.com",
		"git remote add server git@HOST:myapp.git",
		"git push server main",
		"gitship status myapp",
		"gitship logs myapp \\-f",
		"gitship config set myapp DATABASE_URL=postgres://db/myapp",
		"gitship certs issue myapp",
		"gitship rollback myapp",
	} {
		w("%s", l)
	}
	w(".fi")
	w(".RE")
	w(".SH SEE ALSO")
	w(`.BR git (1),`)
	w(`.BR podman (1),`)
	w(`.BR nginx (8),`)
	w(`.BR certbot (1)`)
	return b.String()
}

// manCommandEntry writes cmd (path: its words after "gitship") and its
// subcommands.
func manCommandEntry(b *strings.Builder, cmd *cli.Command, path string) {
	if cmd.Hidden {
		return
	}
	if len(cmd.Subcommands) > 0 {
		fmt.Fprintf(b, ".TP\n.B gitship %s\n%s\n", roffEsc(path), roffEsc(cmd.Usage))
		if cmd.Description != "" {
			b.WriteString(".IP\n")
			manText(b, cmd.Description)
		}
		for _, sub := range cmd.Subcommands {
			manCommandEntry(b, sub, path+" "+sub.Name)
		}
		return
	}
	usage := strings.Split(strings.TrimSpace(cmd.UsageText), "\n")
	if cmd.UsageText == "" {
		usage = []string{"gitship " + path}
	}
	fmt.Fprintf(b, ".TP\n.B %s\n", roffEsc(strings.TrimSpace(usage[0])))
	for _, u := range usage[1:] {
		fmt.Fprintf(b, ".br\n.B %s\n", roffEsc(strings.TrimSpace(u)))
	}
	fmt.Fprintf(b, "%s\n", roffEsc(cmd.Usage))
	if cmd.Description != "" {
		b.WriteString(".IP\n")
		manText(b, cmd.Description)
	}
	if len(cmd.VisibleFlags()) > 0 {
		b.WriteString(".RS\n")
		manFlags(b, cmd.VisibleFlags())
		b.WriteString(".RE\n")
	}
	if ex := examples[path]; len(ex) > 0 {
		b.WriteString(".IP\nExample:\n.RS\n.nf\n")
		for _, l := range ex {
			fmt.Fprintf(b, "%s\n", roffEsc(l))
		}
		b.WriteString(".fi\n.RE\n")
	}
}

// manFlags writes the flags (--help left out) as a tagged list.
func manFlags(b *strings.Builder, flags []cli.Flag) {
	for _, f := range flags {
		df, ok := f.(cli.DocGenerationFlag)
		if !ok || f == cli.HelpFlag {
			continue
		}
		var names []string
		for _, n := range f.Names() {
			dash := "\\-\\-"
			if len(n) == 1 {
				dash = "\\-"
			}
			names = append(names, `\fB`+dash+roffEsc(n)+`\fR`)
		}
		placeholder, usage := unquoteUsage(df.GetUsage())
		tag := strings.Join(names, ", ")
		if df.TakesValue() {
			if placeholder == "" {
				placeholder = "VALUE"
			}
			tag += ` \fI` + roffEsc(placeholder) + `\fR`
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", tag, roffEsc(usage))
	}
}

// manText writes a help text: paragraphs apart; a paragraph whose lines
// are aligned (indented, or with runs of spaces) keeps its lines.
func manText(b *strings.Builder, text string) {
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			b.WriteString(".IP\n")
		}
		lines := strings.Split(para, "\n")
		aligned := false
		for _, l := range lines {
			if strings.HasPrefix(l, " ") || strings.Contains(strings.TrimSpace(l), "  ") {
				aligned = true
			}
		}
		if !aligned {
			fmt.Fprintf(b, "%s\n", roffEsc(strings.Join(lines, " ")))
			continue
		}
		b.WriteString(".nf\n")
		for _, l := range lines {
			fmt.Fprintf(b, "%s\n", roffEsc(l))
		}
		b.WriteString(".fi\n")
	}
}

var wordDash = regexp.MustCompile(`(^|[\s\[(|=-])-`)

// roffEsc makes s safe as roff text: backslashes, a leading dot or quote
// (a request), and a dash that starts a word (an option, a minus sign).
func roffEsc(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	for wordDash.MatchString(s) {
		s = wordDash.ReplaceAllString(s, `$1\-`)
	}
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// unquoteUsage splits a flag's usage into its placeholder (the first
// `QUOTED` word, as urfave/cli's help shows it) and the text without the
// quotes.
func unquoteUsage(usage string) (placeholder, text string) {
	before, rest, ok := strings.Cut(usage, "`")
	if !ok {
		return "", usage
	}
	name, after, ok := strings.Cut(rest, "`")
	if !ok {
		return "", usage
	}
	return name, before + name + after
}
