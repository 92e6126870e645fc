package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
	"github.com/urfave/cli/v2"
)

// The completion scripts only collect the words typed so far and ask
// `gitship __complete WORD... CURRENT` for the candidates, one a line:
// gitship knows its commands, flags and apps, the shells need not.
// Their text is fixed (no path, no date): the package ships it.
var completionScripts = map[string]string{
	"bash": `# bash completion for gitship; from ` + "`gitship completion bash`" + `
_gitship() {
    local IFS=$'\n'
    COMPREPLY=($("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -F _gitship gitship
`,
	"zsh": `#compdef gitship
# zsh completion for gitship; from ` + "`gitship completion zsh`" + `
_gitship() {
    local -a candidates
    candidates=("${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    candidates=(${candidates:#})
    (( ${#candidates} )) && compadd -Q -- "${candidates[@]}"
}
if [ "$funcstack[1]" = "_gitship" ]; then
    _gitship "$@"
else
    compdef _gitship gitship
fi
`,
	"fish": `# fish completion for gitship; from ` + "`gitship completion fish`" + `
function __gitship_complete
    set -l words (commandline -opc)
    gitship __complete $words[2..-1] (commandline -ct) 2>/dev/null
end
complete -c gitship -f -a '(__gitship_complete)'
`,
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		UsageText: "gitship completion bash|zsh|fish",
		Description: "The script completes commands, subcommands, flags and app names (it asks gitship, which\n" +
			"reads the apps under the config's root; an unreadable config completes no app).",
		Action: func(c *cli.Context) error {
			if err := args(c, 1, 1); err != nil {
				return err
			}
			script, ok := completionScripts[c.Args().First()]
			if !ok {
				return usagef("unknown shell %q: bash, zsh or fish; see `gitship completion --help`", c.Args().First())
			}
			_, err := fmt.Fprint(c.App.Writer, script)
			return err
		},
	}
}

// completeCommand is what the completion scripts call: the words typed
// after "gitship", the last one the word being completed ("" for a new
// one); it prints the candidates, one a line, and never fails.
func completeCommand() *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Usage:           "list the completions of a command line (the completion scripts call it)",
		UsageText:       "gitship __complete WORD... CURRENT",
		Hidden:          true,
		SkipFlagParsing: true,
		HideHelp:        true,
		Action: func(c *cli.Context) error {
			words := c.Args().Slice()
			apps := func() []string { return completeApps(c.String("config"), c.IsSet("config"), words) }
			for _, w := range completions(c.App, words, apps) {
				fmt.Fprintln(c.App.Writer, w)
			}
			return nil
		},
	}
}

// completeApps lists the apps under the root of the config the words
// name with --config, else path (explicit: from GITSHIP_CONFIG or
// --config before __complete; else the default, whose absence means the
// defaults, as for every command). Any error lists nothing: completion
// stays silent.
func completeApps(path string, explicit bool, words []string) []string {
	if len(words) == 0 {
		return nil
	}
	for i, w := range words[:len(words)-1] {
		if v, ok := strings.CutPrefix(w, "--config="); ok {
			path, explicit = v, true
		} else if (w == "--config" || w == "-config") && i+1 < len(words)-1 {
			path, explicit = words[i+1], true
		}
	}
	if path == "" {
		path, explicit = config.DefaultPath, false
	}
	fs := afero.NewOsFs()
	cfg, err := config.Load(fs, path, explicit)
	if err != nil {
		return nil
	}
	names, err := state.ListApps(fs, cfg.AppsDir())
	if err != nil {
		return nil
	}
	return names
}

// completions are the candidates for the last of words (what follows
// "gitship" on the command line): a command or subcommand, a flag of the
// command (when it starts with "-"), or what the command's usage line
// names at that place: APP (apps() lists them) or choices (bash|zsh|fish).
func completions(app *cli.App, words []string, apps func() []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, prev := words[len(words)-1], words[:len(words)-1]
	cmds, flags := app.Commands, app.Flags
	var cmd *cli.Command
	path := "gitship"
	pos, isHelp, wantValue := 0, false, false
	for _, w := range prev {
		switch {
		case wantValue:
			wantValue = false
		case w == "--":
			return nil // what follows is the command run runs
		case strings.HasPrefix(w, "-") && len(w) > 1:
			wantValue = takesValue(flags, w)
		case pos == 0 && find(cmds, w) != nil:
			cmd = find(cmds, w)
			cmds, flags, path = cmd.Subcommands, cmd.Flags, path+" "+cmd.Name
			if cmd.Name == "help" && !isHelp {
				isHelp, cmds = true, app.Commands // help COMMAND [SUBCOMMAND]
			}
		default:
			pos++
		}
	}
	if wantValue {
		return nil // a flag's value: a file, a name
	}
	var all []string
	switch {
	case strings.HasPrefix(cur, "-"):
		for _, f := range flags {
			for _, n := range f.Names() {
				if len(n) > 1 {
					all = append(all, "--"+n)
				}
			}
		}
	case pos == 0 && (cmd == nil || isHelp || len(cmd.Subcommands) > 0):
		for _, c := range cmds {
			if !c.Hidden {
				all = append(all, c.Name)
			}
		}
	case cmd != nil:
		all = usageChoices(cmd.UsageText, path, pos, apps)
	}
	var out []string
	for _, w := range all {
		if strings.HasPrefix(w, cur) {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

// usageChoices are the candidates for the positional argument pos (0 the
// first) of the command at path ("gitship domains add"), from what the
// first line of its usage names there.
func usageChoices(usage, path string, pos int, apps func() []string) []string {
	line, _, _ := strings.Cut(usage, "\n")
	fields := strings.Fields(strings.TrimPrefix(line, path))
	var positional []string
	for _, f := range fields {
		if strings.HasPrefix(f, "-") || strings.HasPrefix(f, "[-") {
			break // flags and what follows them
		}
		positional = append(positional, strings.Trim(f, "[]."))
	}
	if pos >= len(positional) {
		return nil
	}
	switch p := positional[pos]; {
	case p == "APP":
		return apps()
	case strings.Contains(p, "|") && strings.ToLower(p) == p:
		return strings.Split(p, "|")
	}
	return nil
}
