package hook

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gitship/gitship/internal/usererr"
)

// ErrNeedsShell means a command uses shell syntax ($VAR, a pipe, a
// redirection...) but the image has no /bin/sh to run it.
var ErrNeedsShell = errors.New("needs a shell")

// Shell is what a command runs through when the image has one.
const Shell = "/bin/sh"

// assignment is a leading NAME=value word, which sh would take as an
// environment assignment rather than the program to run.
var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// Argv turns a Procfile or cron command into the argv its container runs.
// With a shell it is ["/bin/sh", "-c", command], so $VARS expand and pipes
// work, as on Heroku. Without one (an image FROM scratch) the command is
// split into words as sh would split it (single quotes, double quotes,
// backslashes; a word starting with # begins a comment) and run directly;
// a command that would need the shell to mean what it says ($, `, |, &,
// ;, <, >, (, ), a newline, a leading ~ or NAME=value) is refused rather
// than run with those characters as literal arguments. No globbing is done:
// * and ? stay as they are.
func Argv(command string, hasShell bool) ([]string, error) {
	return argv(command, hasShell, "")
}

// argv is Argv with label ("Procfile web: ") in front of its errors.
func argv(command string, hasShell bool, label string) ([]string, error) {
	if strings.TrimSpace(command) == "" {
		return nil, usererr.New(label+"empty command", "")
	}
	if hasShell {
		return []string{Shell, "-c", command}, nil
	}
	words, meta, err := splitWords(command)
	if err != nil {
		return nil, usererr.New(fmt.Sprintf("%s%q: %v", label, command, err), "")
	}
	if meta != "" {
		return nil, &usererr.Error{
			Msg:  fmt.Sprintf("%s%q needs a shell (%s), but the image has no %s", label, command, meta, Shell),
			Hint: "use plain words only, or add a shell to the image",
			Err:  ErrNeedsShell,
		}
	}
	if len(words) == 0 {
		return nil, usererr.New(fmt.Sprintf("%s%q: no command, only a comment", label, command), "")
	}
	return words, nil
}

// splitWords splits s into words following sh's quoting rules. meta is
// the first piece of shell syntax found outside single quotes (words is
// then incomplete); err is a quote left open or a trailing backslash.
func splitWords(s string) (words []string, meta string, err error) {
	var (
		w      strings.Builder
		inWord bool
		start  int // where the current word starts in s
	)
	flush := func() {
		if inWord {
			words = append(words, w.String())
		}
		w.Reset()
		inWord = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !inWord {
			start = i
		}
		switch {
		case c == ' ' || c == '\t':
			if inWord && len(words) == 0 && assignment.MatchString(s[start:i]) {
				return nil, "NAME=value", nil
			}
			flush()
		case c == '#' && !inWord:
			i = len(s) // a comment to the end
		case c == '~' && !inWord:
			return nil, "~", nil
		case c == '\n':
			return nil, "newline", nil
		case strings.IndexByte("$`|&;<>()", c) >= 0:
			return nil, string(c), nil
		case c == '\\':
			if i+1 == len(s) {
				return nil, "", errors.New("ends with a backslash")
			}
			i++
			if s[i] == '\n' { // backslash-newline joins lines
				continue
			}
			w.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, "", errors.New("unterminated single quote")
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				c := s[i]
				if c == '"' {
					closed = true
					break
				}
				if c == '$' || c == '`' {
					return nil, string(c), nil
				}
				// Inside double quotes a backslash escapes only
				// $ ` " \ and newline; elsewhere it is itself.
				if c == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
					if s[i] != '\n' {
						w.WriteByte(s[i])
					}
					continue
				}
				w.WriteByte(c)
			}
			if !closed {
				return nil, "", errors.New("unterminated double quote")
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord && len(words) == 0 && assignment.MatchString(s[start:]) {
		return nil, "NAME=value", nil
	}
	flush()
	return words, "", nil
}
