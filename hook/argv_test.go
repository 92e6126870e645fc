package hook

import (
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestArgvWithShell(t *testing.T) {
	for _, cmd := range []string{"gunicorn -b :$PORT app:app", "a && b | c > /dev/null", "FOO=1 ./x"} {
		got, err := Argv(cmd, true)
		if want := []string{"/bin/sh", "-c", cmd}; err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Argv(%q, shell) = %q, %v; want %q", cmd, got, err, want)
		}
	}
}

func TestArgvWithoutShell(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		meta string // the shell syntax named in the error
		err  string // a quoting error
	}{
		{in: "./server", want: []string{"./server"}},
		{in: "  /app/server   --port 5000\t-v ", want: []string{"/app/server", "--port", "5000", "-v"}},
		{in: "rake jobs:work", want: []string{"rake", "jobs:work"}},
		{in: `echo 'a b' "c d" e\ f`, want: []string{"echo", "a b", "c d", "e f"}},
		{in: `echo 'it''s' "x"y'z'`, want: []string{"echo", "its", "xyz"}},
		{in: `echo '' ""`, want: []string{"echo", "", ""}},
		{in: `echo '$HOME | x; y' "a\"b\\c\d"`, want: []string{"echo", "$HOME | x; y", `a"b\c\d`}},
		{in: `echo \$HOME \| \; \> \'`, want: []string{"echo", "$HOME", "|", ";", ">", "'"}},
		{in: `echo "\$x \` + "`" + `"`, want: []string{"echo", "$x `"}},
		{in: "a \\\nb", want: []string{"a", "b"}},
		{in: "./x # a comment; $HOME", want: []string{"./x"}},
		{in: "./x a#b '#c'", want: []string{"./x", "a#b", "#c"}},
		{in: "./x --bind=[::]:5000 *.py a~b", want: []string{"./x", "--bind=[::]:5000", "*.py", "a~b"}},
		{in: "./x FOO=bar", want: []string{"./x", "FOO=bar"}},
		{in: "'FOO=bar' ./x", want: []string{"FOO=bar", "./x"}},
		{in: "über 'naïve'", want: []string{"über", "naïve"}},

		{in: "gunicorn -b :$PORT app:app", meta: "$"},
		{in: "echo ${HOME}", meta: "$"},
		{in: `echo "$HOME"`, meta: "$"},
		{in: "echo `date`", meta: "`"},
		{in: `echo "` + "`date`" + `"`, meta: "`"},
		{in: "a | b", meta: "|"},
		{in: "a && b", meta: "&"},
		{in: "a &", meta: "&"},
		{in: "a; b", meta: ";"},
		{in: "a > log", meta: ">"},
		{in: "a < in", meta: "<"},
		{in: "(a)", meta: "("},
		{in: "a\nb", meta: "newline"},
		{in: "~/bin/x", meta: "~"},
		{in: "FOO=bar ./x", meta: "NAME=value"},
		{in: `FOO="a b" ./x`, meta: "NAME=value"},
		{in: "FOO=bar", meta: "NAME=value"},

		{in: `echo 'open`, err: "unterminated single quote"},
		{in: `echo "open`, err: "unterminated double quote"},
		{in: `echo "open\"`, err: "unterminated double quote"},
		{in: `echo x\`, err: "ends with a backslash"},
		{in: "   ", err: "empty command"},
		{in: "# only a comment", err: "no command, only a comment"},
	}
	for _, tt := range tests {
		got, err := Argv(tt.in, false)
		switch {
		case tt.meta != "":
			want := "(" + tt.meta + "), but the image has no /bin/sh: use plain words only, or add a shell to the image"
			if err == nil || !errors.Is(err, ErrNeedsShell) || !strings.Contains(err.Error(), want) {
				t.Errorf("Argv(%q) = %q, %v; want ErrNeedsShell %q", tt.in, got, err, want)
			}
		case tt.err != "":
			if err == nil || errors.Is(err, ErrNeedsShell) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Argv(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
		default:
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Argv(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if sh := shWords(t, tt.in); !reflect.DeepEqual(sh, tt.want) {
				t.Errorf("sh splits %q into %q, the test wants %q", tt.in, sh, tt.want)
			}
		}
	}
}

// shWords is how the real sh splits command (no globbing), to check the
// table against.
func shWords(t *testing.T, command string) []string {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", "set -f; set -- "+command+"\nprintf '%s\\0' \"$@\"").Output()
	if err != nil {
		t.Fatalf("sh on %q: %v", command, err)
	}
	words := strings.Split(string(out), "\x00")
	return words[:len(words)-1]
}

// The error names the process and is the one line the pusher sees.
func TestProcessArgvError(t *testing.T) {
	p := Process{Type: "web", Command: "python app.py --port $PORT", Line: 1}
	_, err := p.Argv(false)
	want := `Procfile web: "python app.py --port $PORT" needs a shell ($), but the image has no /bin/sh: use plain words only, or add a shell to the image`
	if err == nil || err.Error() != want {
		t.Fatalf("Argv error\n got %v\nwant %s", err, want)
	}
	if got, err := p.Argv(true); err != nil || got[2] != p.Command {
		t.Errorf("Argv(shell) = %q, %v", got, err)
	}
}
