package main

import (
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// examples are the EXAMPLES of each command's help (and of gitship(1)),
// by the command's words after "gitship"; "" is gitship's own help. A
// line starting with "#" says what the next one does.
var examples = map[string][]string{
	"": {
		"gitship init myapp --domain myapp.example.com",
		"git push server main          # from your clone: deploys",
		"gitship status myapp",
		"gitship help domains add",
	},

	"init": {
		"gitship init myapp --domain myapp.example.com --domain www.example.com",
	},
	"apps": {"gitship apps", "gitship apps --json"},
	"doctor": {
		"gitship doctor",
		"# only what is not ok",
		"gitship doctor --json | jq '.checks[] | select(.status != \"ok\")'",
	},
	"status":  {"gitship status myapp", "gitship status myapp --json"},
	"destroy": {"gitship destroy myapp --confirm myapp", "gitship destroy myapp --confirm myapp --purge-data"},

	"deploy": {
		"# release the deploy branch again after fixing something on the server",
		"gitship deploy myapp",
		"gitship deploy myapp 3f2c1a9",
	},
	"export": {
		"# the live release of an app with target=kube, for kubectl apply",
		"gitship export myapp --kube > myapp.yaml",
		"gitship export myapp v6 --kube",
	},
	"rollback": {
		"# back to the release live before this one",
		"gitship rollback myapp",
		"gitship rollback myapp v6 --with-data",
	},
	"releases": {"gitship releases myapp", "gitship releases myapp --json"},
	"prune":    {"gitship prune --dry-run", "gitship prune --keep 2"},

	"set":   {"gitship set myapp health_path=/healthz health_timeout=20s"},
	"unset": {"gitship unset myapp drain build_arg.NODE_ENV"},
	"config": {
		"gitship config set myapp DATABASE_URL=postgres://db/myapp",
		"gitship config list myapp",
	},
	"config set": {
		"gitship config set myapp DATABASE_URL=postgres://db/myapp SECRET_KEY=s3cr3t",
		"# store it for the next release instead",
		"gitship config set myapp LOG_LEVEL=debug --no-restart",
	},
	"config unset": {"gitship config unset myapp LOG_LEVEL"},
	"config get":   {"gitship config get myapp DATABASE_URL"},
	"config list":  {"gitship config list myapp", "gitship config list myapp --reveal --json"},

	"domains":        {"gitship domains add myapp www.example.com", "gitship domains list myapp"},
	"domains add":    {"gitship domains add myapp www.example.com"},
	"domains remove": {"gitship domains remove myapp old.example.com"},
	"domains list":   {"gitship domains list myapp", "gitship domains list myapp --json"},
	"certs":          {"gitship certs issue myapp"},
	"certs issue":    {"gitship certs issue myapp"},
	"certs renew":    {"gitship certs renew"},
	"nginx":          {"gitship nginx check"},
	"nginx render":   {"gitship nginx render myapp"},
	"nginx check":    {"gitship nginx check"},

	"scale": {"gitship scale myapp", "gitship scale myapp worker=2", "gitship scale myapp web=2 worker=0"},
	"ps":    {"gitship ps myapp", "gitship ps myapp --json"},
	"logs": {
		"gitship logs myapp -f",
		"gitship logs myapp -n 20 --release v3",
		"# the push output (build included) of release v3",
		"gitship logs myapp --build v3",
		"gitship logs myapp --cron nightly",
	},
	"run": {
		"gitship run myapp -- flask init-db",
		"gitship run myapp --release v3 -- ls -l /data",
	},
	"cron":         {"gitship cron install", "gitship cron list myapp"},
	"cron install": {"gitship cron install", "gitship cron install --print"},
	"cron list":    {"gitship cron list myapp", "gitship cron list myapp --json"},
	"cron run":     {"gitship cron run myapp nightly"},

	"snapshots": {"gitship snapshots myapp", "gitship snapshots myapp --json"},
	"backup": {
		"gitship backup myapp -o myapp.tar.gz",
		"ssh git@HOST gitship backup myapp > myapp.tar.gz",
		"gitship backup --all",
	},
	"restore": {
		"gitship restore myapp s-3",
		"gitship restore myapp --file myapp.tar.gz",
		"ssh git@HOST gitship restore myapp --file - < myapp.tar.gz",
	},

	"keys":        {"gitship keys add alice --app myapp < alice.pub", "gitship keys list"},
	"keys add":    {"gitship keys add alice --app myapp < alice.pub", "gitship keys add root --admin < ~/.ssh/id_ed25519.pub"},
	"keys list":   {"gitship keys list", "gitship keys list --json"},
	"keys remove": {"gitship keys remove alice"},
	"ssh": {
		"# in authorized_keys (gitship keys add writes it):",
		`command="/usr/bin/gitship ssh --key alice",restrict ssh-ed25519 AAAA... alice`,
	},

	"boot":  {"gitship boot"},
	"watch": {"# what a push that made myapp v7 live starts, detached (see apps/myapp/watch.log)", "gitship watch myapp v7"},
	"hook":  {"# hooks/post-receive of an app's repository (gitship init writes it)", "gitship hook post-receive"},
	"hook post-receive": {
		"# hooks/post-receive of an app's repository (gitship init writes it)",
		"gitship hook post-receive",
	},
	"help":       {"gitship help", "gitship help domains add"},
	"version":    {"gitship version", "gitship --version"},
	"completion": {"source <(gitship completion bash)", "gitship completion fish > ~/.config/fish/completions/gitship.fish"},
	"man":        {"gitship man | man -l -", "gitship man > /usr/local/share/man/man1/gitship.1"},
	"__complete": {"# what `gitship status <TAB>` asks", "gitship __complete status ''"},
}

// setHelpTemplates gives every command (parent: its words after
// "gitship") a help that ends with its EXAMPLES.
func setHelpTemplates(app *cli.App) {
	app.CustomAppHelpTemplate = cli.AppHelpTemplate + examplesSection(examples[""])
	var walk func(cmds []*cli.Command, parent string)
	walk = func(cmds []*cli.Command, parent string) {
		for _, c := range cmds {
			path := strings.TrimSpace(parent + " " + c.Name)
			base := cli.CommandHelpTemplate
			if len(c.Subcommands) > 0 {
				base = cli.SubcommandHelpTemplate
				if c.UsageText == "" {
					c.UsageText = "gitship " + path + " COMMAND [ARGS...]"
				}
			}
			c.CustomHelpTemplate = base + examplesSection(examples[path])
			if !c.HideHelp {
				// what urfave/cli adds when the command runs, here now so
				// that `gitship help CMD` shows it as `CMD --help` does
				c.Flags = append(c.Flags, cli.HelpFlag)
			}
			walk(c.Subcommands, path)
		}
	}
	walk(app.Commands, "")
}

// examplesSection is the EXAMPLES part of a help template: the lines as
// template string constants, so nothing in them is read as a template.
func examplesSection(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nEXAMPLES:\n")
	for _, l := range lines {
		b.WriteString("   {{" + strconv.Quote(l) + "}}\n")
	}
	return b.String()
}
