package access

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// repos is the repositories' directory of a gitship whose root is
// /var/lib/gitship: what `gitship ssh` passes to Parse.
const repos = "/var/lib/gitship/repos"

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		cmd  string
		want Request
	}{
		{`git-receive-pack 'myapp.git'`, Request{Git: "git-receive-pack", App: "myapp"}},
		{`git-receive-pack 'myapp'`, Request{Git: "git-receive-pack", App: "myapp"}},
		{`git-receive-pack '/myapp.git'`, Request{Git: "git-receive-pack", App: "myapp"}},
		{`git-receive-pack '/myapp'`, Request{Git: "git-receive-pack", App: "myapp"}},
		{`git-receive-pack '/var/lib/gitship/repos/myapp.git'`, Request{Git: "git-receive-pack", App: "myapp"}},
		{`git-upload-pack '/var/lib/gitship/repos/myapp.git'`, Request{Git: "git-upload-pack", App: "myapp"}},
		{`git-upload-pack 'my-app2.git'`, Request{Git: "git-upload-pack", App: "my-app2"}},
		{`git-upload-pack "a.git"`, Request{Git: "git-upload-pack", App: "a"}},
		{"git-upload-pack\tmyapp.git", Request{Git: "git-upload-pack", App: "myapp"}},
		{`gitship rollback myapp v3`, Request{App: "myapp", Args: []string{"rollback", "myapp", "v3"}}},
		{`rollback myapp`, Request{App: "myapp", Args: []string{"rollback", "myapp"}}},
		{`gitship export myapp v3 --kube`, Request{App: "myapp", Args: []string{"export", "myapp", "v3", "--kube"}}},
		{`  gitship   deploy  myapp  `, Request{App: "myapp", Args: []string{"deploy", "myapp"}}},
		{`gitship deploy myapp feature/x`, Request{App: "myapp", Args: []string{"deploy", "myapp", "feature/x"}}},
		{`gitship releases myapp`, Request{App: "myapp", Args: []string{"releases", "myapp"}}},
		{`gitship status myapp`, Request{App: "myapp", Args: []string{"status", "myapp"}}},
		{`gitship apps`, Request{Args: []string{"apps"}}},
		{`apps`, Request{Args: []string{"apps"}}},
		{`gitship logs myapp -f --release v2`, Request{App: "myapp", Args: []string{"logs", "myapp", "-f", "--release", "v2"}}},
		{`gitship config set myapp 'GREETING=hello world' X=1`, Request{App: "myapp", Args: []string{"config", "set", "myapp", "GREETING=hello world", "X=1"}}},
		{`gitship config list myapp`, Request{App: "myapp", Args: []string{"config", "list", "myapp"}}},
		{`gitship set myapp health_path=/healthz`, Request{App: "myapp", Args: []string{"set", "myapp", "health_path=/healthz"}}},
		{`gitship unset myapp memory`, Request{App: "myapp", Args: []string{"unset", "myapp", "memory"}}},
		{`gitship domains add myapp example.com`, Request{App: "myapp", Args: []string{"domains", "add", "myapp", "example.com"}}},
		{`gitship certs issue myapp`, Request{App: "myapp", Args: []string{"certs", "issue", "myapp"}}},
		{`gitship init newapp --domain new.example.com`, Request{App: "newapp", Args: []string{"init", "newapp", "--domain", "new.example.com"}}},
		{`gitship destroy oldapp`, Request{App: "oldapp", Args: []string{"destroy", "oldapp"}}},
		{`gitship keys list`, Request{Args: []string{"keys", "list"}}},
		{`gitship backup myapp`, Request{App: "myapp", Args: []string{"backup", "myapp"}}},
		{`gitship config set myapp X=''`, Request{App: "myapp", Args: []string{"config", "set", "myapp", "X="}}},
		{`gitship config set myapp "A=it's"`, Request{App: "myapp", Args: []string{"config", "set", "myapp", "A=it's"}}},
		{`gitship run myapp -- /web exit 0`, Request{App: "myapp", Args: []string{"run", "myapp", "--", "/web", "exit", "0"}}},
		{`gitship run myapp --release v2 -- flask init-db`, Request{App: "myapp", Args: []string{"run", "myapp", "--release", "v2", "--", "flask", "init-db"}}},
		{`gitship run myapp -- cat --config /etc/x`, Request{App: "myapp", Args: []string{"run", "myapp", "--", "cat", "--config", "/etc/x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			got, err := Parse(tt.cmd, repos)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.cmd, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %#v, want %#v", tt.cmd, got, tt.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name, cmd, want string // want: part of the error message
	}{
		{"empty", "", "interactive login"},
		{"blank", " \t ", "interactive login"},
		{"shell", "sh", "unknown command"},
		{"bash -c", "bash -c id", "unknown command"},
		{"ls", "ls", "unknown command"},
		{"gitship alone", "gitship", "no gitship command"},
		{"hook not remote", "gitship hook post-receive", "unknown command"},
		{"ssh not remote", "gitship ssh --key x", "unknown command"},
		{"prune not remote", "gitship prune", "unknown command"},
		{"run: app first", "gitship run -- myapp /web", "usage: gitship run APP"},
		{"run: config before --", "gitship run myapp --config /x -- /web", "--config"},
		{"run: path before --", "gitship run myapp /web", "absolute path"},
		{"run: GITSHIP_ after --", "gitship run myapp -- env GITSHIP_X=1", "GITSHIP_"},
		{"run: shell after --", "gitship run myapp -- sh -c 'id;id'", `';'`},
		{"backup to a file", "gitship backup myapp -o b.tgz", "gitship backup takes no options over ssh"},
		{"backup output flag", "gitship backup myapp --output=b.tgz", "gitship backup takes no options over ssh"},
		{"backup flag first", "gitship backup -o b.tgz myapp", "usage: gitship backup APP"},
		{"backup of every app", "gitship backup --all", "usage: gitship backup APP"},
		{"semicolon", "gitship rollback app; rm -rf /", `';'`},
		{"and", "gitship apps && id", `'&'`},
		{"pipe", "gitship apps | sh", `'|'`},
		{"subshell", "gitship rollback $(id)", `'$'`},
		{"var", "gitship rollback $APP", `'$'`},
		{"backticks", "gitship rollback `id`", "'`'"},
		{"redirect", "gitship apps > /tmp/x", `'>'`},
		{"input", "gitship apps < /etc/passwd", `'<'`},
		{"parens", "gitship (apps)", `'('`},
		{"newline", "gitship apps\nid", `'\n'`},
		{"cr", "gitship apps\rid", "control character"},
		{"nul", "gitship apps\x00", "control character"},
		{"backslash", `gitship rollback ap\p`, `'\\'`},
		{"glob", "gitship rollback *", `'*'`},
		{"question", "gitship rollback ap?", `'?'`},
		{"tilde", "git-receive-pack '~/x.git'", `'~'`},
		{"brace", "gitship rollback {a,b}", `'{'`},
		{"traversal", "git-receive-pack '../x.git'", `".."`},
		{"inner traversal", "git-receive-pack 'other/../x.git'", `".."`},
		{"root traversal", "git-receive-pack '/var/lib/gitship/repos/../../x.git'", `".."`},
		{"etc passwd", "git-upload-pack '/etc/passwd'", "not a gitship repository"},
		{"other abs repo", "git-receive-pack '/tmp/x.git'", "not a gitship repository"},
		{"root without repos", "git-receive-pack '/var/lib/gitship/x.git'", "not a gitship repository"},
		{"nested under repos", "git-receive-pack '/var/lib/gitship/repos/a/b.git'", "not a gitship repository"},
		{"repos twice", "git-upload-pack '/var/lib/gitship/repos/repos/a.git'", "not a gitship repository"},
		{"repos without .git", "git-upload-pack '/var/lib/gitship/repos/a'", "not a gitship repository"},
		{"other root", "git-upload-pack '/srv/gitship/repos/a.git'", "not a gitship repository"},
		{"repos prefix of another dir", "git-upload-pack '/var/lib/gitship/repos2/a.git'", "not a gitship repository"},
		{"double slash", "git-upload-pack '//a.git'", "not a gitship repository"},
		{"relative subdir", "git-receive-pack 'a/b.git'", "not a gitship repository"},
		{"bad app", "git-receive-pack 'My_App.git'", "not a gitship repository"},
		{"app too long", "git-receive-pack '" + strings.Repeat("a", 31) + ".git'", "not a gitship repository"},
		{"empty repo", "git-receive-pack ''", "not a gitship repository"},
		{"git no repo", "git-receive-pack", "exactly one repository"},
		{"git two repos", "git-receive-pack a.git b.git", "exactly one repository"},
		{"upload-archive", "git-upload-archive 'a.git'", "unknown command"},
		{"unterminated", "gitship rollback 'app", "unterminated"},
		{"abs arg", "gitship deploy app /etc/passwd", "absolute path"},
		{"etc passwd bare", "/etc/passwd", "absolute path"},
		{"too long", "gitship deploy app " + strings.Repeat("x", MaxCommandBytes), "longer than"},
		{"too many args", "gitship deploy app" + strings.Repeat(" x", MaxArgs), "more than"},
		{"env prefix", "GITSHIP_CONFIG=x gitship apps", "GITSHIP_"},
		{"env arg", "gitship config set app gitship_root=x", "GITSHIP_"},
		{"config flag", "gitship --config x apps", "--config"},
		{"config flag later", "gitship rollback app --config x", "--config"},
		{"config flag eq", "gitship apps --config=x", "--config"},
		{"config single dash", "gitship apps -config x", "--config"},
		{"missing app", "gitship rollback", "usage"},
		{"flag before app", "gitship logs --release v3 app", "usage"},
		{"bad app name", "gitship rollback App", "usage"},
		{"missing sub", "gitship config myapp", "usage"},
		{"bad sub", "gitship domains purge myapp", "usage"},
		{"invalid utf8", "gitship rollback \xff", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.cmd, repos)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want refusal", tt.cmd, got)
			}
			if !errors.Is(err, ErrRefused) {
				t.Errorf("Parse(%q) error %v is not ErrRefused", tt.cmd, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error %q, want it to mention %q", tt.cmd, err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse(%q) error is more than one line: %q", tt.cmd, err)
			}
		})
	}
}

func TestParseNoRoot(t *testing.T) {
	if _, err := Parse("git-receive-pack '/var/lib/gitship/repos/a.git'", ""); err == nil {
		t.Error("full repo path accepted without a repos dir")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "git-receive-pack 'a.git'", "git-upload-pack '/a.git'",
		"git-receive-pack '/var/lib/gitship/repos/a.git'", "git-upload-pack '/var/lib/gitship/repos/repos/a.git'",
		"gitship rollback app v3",
		"config set app 'A=b c'", "gitship apps; id", "rollback $(id)", "'\"", "../x.git",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		req, err := Parse(cmd, repos)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Parse(%q) error %v is not ErrRefused", cmd, err)
			}
			return
		}
		for _, s := range append([]string{req.Git, req.App}, req.Args...) {
			if i := strings.IndexAny(s, refusedChars); i >= 0 {
				t.Fatalf("Parse(%q) accepted %q with %q", cmd, s, s[i])
			}
			if strings.Contains(s, "..") {
				t.Fatalf("Parse(%q) accepted %q with ..", cmd, s)
			}
		}
		switch {
		case req.Git != "":
			if req.Git != "git-receive-pack" && req.Git != "git-upload-pack" {
				t.Fatalf("Parse(%q): Git = %q", cmd, req.Git)
			}
			if !appName.MatchString(req.App) || req.Args != nil {
				t.Fatalf("Parse(%q) = %#v: git request without a valid app", cmd, req)
			}
			// the repository is named in one of the accepted forms
			words, _ := split(cmd)
			a := req.App
			switch words[len(words)-1] {
			case a, a + ".git", "/" + a, "/" + a + ".git", repos + "/" + a + ".git":
			default:
				t.Fatalf("Parse(%q) = %#v: repository %q is none of the accepted forms", cmd, req, words[len(words)-1])
			}
		case len(req.Args) == 0:
			t.Fatalf("Parse(%q) = %#v: neither git nor gitship", cmd, req)
		default:
			if _, ok := remote[req.Args[0]]; !ok {
				t.Fatalf("Parse(%q): command %q is not remote", cmd, req.Args[0])
			}
			if req.App != "" && !appName.MatchString(req.App) {
				t.Fatalf("Parse(%q): invalid app %q", cmd, req.App)
			}
			if req.App == "" && !noApp[req.Args[0]] {
				t.Fatalf("Parse(%q): %s without an app", cmd, req.Args[0])
			}
		}
	})
}
