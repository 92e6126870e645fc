package access

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/gitship/gitship/internal/usererr"
)

// ErrRefused marks every refusal by Parse and Allow; check it with errors.Is.
// The message after it is one line meant for the ssh client and the audit log.
var ErrRefused = errors.New("refused")

// Limits on SSH_ORIGINAL_COMMAND: nothing gitship accepts comes close.
const (
	MaxCommandBytes = 4096
	MaxArgs         = 32
)

// Request is what an ssh command asks for.
type Request struct {
	Git  string   // "git-receive-pack" or "git-upload-pack" ("" for a gitship command)
	App  string   // the app the command is about ("" for apps)
	Args []string // for gitship commands: the argv after "gitship" (e.g. ["rollback","myapp","v3"])
}

// IsAdminOnly reports whether the request is a gitship command only admin keys may run.
func (r Request) IsAdminOnly() bool {
	return r.Git == "" && len(r.Args) > 0 && adminOnly[r.Args[0]]
}

var (
	appName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,29}$`)

	// remote lists the gitship commands reachable over ssh. The value is the
	// set of subcommands that come before the app ("config set APP"), or nil
	// when the app is the first argument.
	remote = map[string][]string{
		"deploy": nil, "rollback": nil, "releases": nil, "status": nil, "logs": nil,
		"set": nil, "unset": nil, "init": nil, "destroy": nil, "scale": nil, "ps": nil,
		"run":     nil, // run APP [--release vN] -- CMD ARGS: the command runs in the app's container
		"backup":  nil, // to stdout only: see parseGitship
		"export":  nil, // export APP [vN] --kube: to stdout
		"config":  {"set", "get", "unset", "list"},
		"domains": {"add", "remove", "list"},
		"certs":   {"issue", "renew"},
		"apps":    nil, // no app: admin-only (it lists every app)
		"keys":    nil, // no app: admin-only
	}
	noApp     = map[string]bool{"apps": true, "keys": true}
	adminOnly = map[string]bool{"init": true, "destroy": true, "keys": true, "apps": true}
)

// refusedChars are refused anywhere in a command. Nothing is run by a shell,
// but none of them has a legitimate use, and refusing them keeps a mistake
// further down (a log line, a future shell-out) from becoming an injection.
const refusedChars = ";&|$`()<>\n\\*?~{"

// refusef is a refusal for the ssh client: a user error (the line it
// sees) that is ErrRefused.
func refusef(format string, a ...any) error {
	return &usererr.Error{Msg: ErrRefused.Error() + ": " + fmt.Sprintf(format, a...), Err: ErrRefused}
}

// refuseHint is a refusal that names what to do instead.
func refuseHint(msg, hint string) error {
	return &usererr.Error{Msg: ErrRefused.Error() + ": " + msg, Hint: hint, Err: ErrRefused}
}

// Parse parses SSH_ORIGINAL_COMMAND without any shell. It accepts git's
// `git-receive-pack 'APP.git'` and `git-upload-pack ...` with the path as
// 'APP.git', 'APP', '/APP.git', '/APP' or 'REPOS/APP.git', where repos is
// the absolute directory that holds the repositories (config's
// <root>/repos; the full form is refused when repos is empty), and
// `[gitship] CMD ARGS...` for the remote commands. It does not check that
// the app exists or that the key may use it: see Allow.
func Parse(cmd, repos string) (Request, error) {
	if err := checkRaw(cmd); err != nil {
		return Request{}, err
	}
	words, err := split(cmd)
	if err != nil {
		return Request{}, err
	}
	if len(words) == 0 {
		return Request{}, refuseHint("no interactive login", "push with git or run `ssh HOST gitship status APP`")
	}
	if len(words) > MaxArgs {
		return Request{}, refusef("more than %d arguments", MaxArgs)
	}
	switch words[0] {
	case "git-receive-pack", "git-upload-pack":
		return parseGit(words, repos)
	case "gitship":
		words = words[1:]
	}
	return parseGitship(words)
}

// checkRaw refuses what no accepted command contains, before any splitting.
func checkRaw(cmd string) error {
	if len(cmd) > MaxCommandBytes {
		return refusef("command longer than %d bytes", MaxCommandBytes)
	}
	if !utf8.ValidString(cmd) {
		return refusef("command is not valid UTF-8")
	}
	if i := strings.IndexAny(cmd, refusedChars); i >= 0 {
		return refusef("character %q not allowed", cmd[i])
	}
	for _, r := range cmd {
		if r != '\t' && (r < 0x20 || r == 0x7f) {
			return refusef("control character %q not allowed", r)
		}
	}
	if strings.Contains(cmd, "..") {
		return refusef(`".." not allowed`)
	}
	return nil
}

// split cuts cmd into words on spaces and tabs. Single and double quotes
// group characters literally (backslashes are refused before this runs, so
// there are no escapes); quoted and bare parts of one word are joined.
func split(cmd string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch c {
		case ' ', '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'', '"':
			end := strings.IndexByte(cmd[i+1:], c)
			if end < 0 {
				return nil, refusef("unterminated %c quote", c)
			}
			cur.WriteString(cmd[i+1 : i+1+end])
			i += end + 1
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func parseGit(words []string, repos string) (Request, error) {
	if len(words) != 2 {
		return Request{}, refusef("%s takes exactly one repository", words[0])
	}
	app, err := repoApp(words[1], repos)
	if err != nil {
		return Request{}, err
	}
	return Request{Git: words[0], App: app}, nil
}

// repoApp maps the path git sends to an app name: the forms of
// `git push HOST:APP.git`, `HOST:APP`, `ssh://HOST/APP.git` and the
// repository's own path, directly in repos: nothing nested, nothing
// elsewhere.
func repoApp(p, repos string) (string, error) {
	name := p
	if strings.HasPrefix(p, "/") {
		dir := ""
		if repos != "" && path.IsAbs(repos) {
			dir = path.Clean(repos) + "/"
		}
		switch {
		case dir != "" && strings.HasPrefix(p, dir) && strings.HasSuffix(p, ".git") &&
			!strings.Contains(strings.TrimPrefix(p, dir), "/"):
			name = strings.TrimPrefix(p, dir)
		case strings.Count(p, "/") == 1:
			name = p[1:]
		default:
			return "", refusef("path %q is not a gitship repository", p)
		}
	}
	name = strings.TrimSuffix(name, ".git")
	if !appName.MatchString(name) {
		return "", refusef("%q is not a gitship repository: app names are [a-z][a-z0-9-]{0,29}", p)
	}
	return name, nil
}

func parseGitship(args []string) (Request, error) {
	if len(args) == 0 {
		return Request{}, refuseHint("no gitship command", "try `gitship status APP`")
	}
	for i, a := range args {
		if args[0] == "run" && a == "--" {
			// What follows is the command run inside the app's own
			// container, where an absolute path is no one else's; the
			// characters refused everywhere stay refused.
			if err := checkCommand(args[i+1:]); err != nil {
				return Request{}, err
			}
			break
		}
		if err := checkArg(a); err != nil {
			return Request{}, err
		}
	}
	subs, ok := remote[args[0]]
	if !ok {
		return Request{}, refusef("unknown command %q: remote commands are deploy, rollback, releases, status, apps, logs, run, config, set, unset, domains, certs, backup, export", args[0])
	}
	req := Request{Args: args}
	if noApp[args[0]] {
		return req, nil
	}
	i := 1
	if subs != nil {
		if len(args) < 2 || !contains(subs, args[1]) {
			return Request{}, refusef("usage: gitship %s %s APP ...", args[0], strings.Join(subs, "|"))
		}
		i = 2
	}
	// The app must come right after the command: a flag before it could
	// take a value that Allow would mistake for the app.
	if len(args) <= i || !appName.MatchString(args[i]) {
		return Request{}, refusef("usage: gitship %s APP ...: app names are [a-z][a-z0-9-]{0,29}", strings.Join(args[:i], " "))
	}
	req.App = args[i]
	// -o FILE would write wherever the server's user may (a relative path
	// can climb out of its home): over ssh the archive comes back on stdout.
	if args[0] == "backup" && len(args) > i+1 {
		return Request{}, refuseHint("gitship backup takes no options over ssh", "`ssh git@HOST gitship backup APP > app.tar.gz`")
	}
	return req, nil
}

// checkArg refuses arguments that point gitship at another config or
// outside its root.
func checkArg(a string) error {
	switch {
	case a == "--config" || a == "-config" ||
		strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
		return refusef("--config is not allowed over ssh")
	case strings.HasPrefix(strings.ToUpper(a), "GITSHIP_"):
		return refusef("GITSHIP_* settings are not allowed over ssh")
	case strings.HasPrefix(a, "/"):
		return refusef("absolute path %q not allowed", a)
	}
	return nil
}

// checkCommand checks the command of `run APP -- CMD ARGS`: gitship
// does not read it, but GITSHIP_* settings stay refused there too.
func checkCommand(args []string) error {
	for _, a := range args {
		if strings.HasPrefix(strings.ToUpper(a), "GITSHIP_") {
			return refusef("GITSHIP_* settings are not allowed over ssh")
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
