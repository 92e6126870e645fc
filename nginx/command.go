package nginx

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"
)

// RejectedError is returned when nginx -t rejects the configuration.
type RejectedError struct {
	File string // per-app file being changed, e.g. "myapp.conf"; "" from Check
	Line string // nginx's first error line
	Err  error  // the error from running nginx -t (usually an exit status)
}

// Error is one line: "nginx -t rejected myapp.conf: nginx: [emerg] ...".
func (e *RejectedError) Error() string {
	what := e.File
	if what == "" {
		what = "the configuration"
	}
	return fmt.Sprintf("nginx -t rejected %s: %s", what, e.Line)
}

// Unwrap returns the error from running nginx -t.
func (e *RejectedError) Unwrap() error { return e.Err }

// test runs nginx -t. file names the per-app file for the error message.
func (m *Manager) test(ctx context.Context, file string) error {
	_, err := m.testOutput(ctx, file)
	return err
}

// testOutput runs nginx -t and returns its output (warnings) too.
func (m *Manager) testOutput(ctx context.Context, file string) ([]byte, error) {
	out, err := m.run(ctx, m.testArgv())
	if err == nil {
		return out, nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return out, fmt.Errorf("nginx -t: %w", ctxErr)
	}
	line := firstErrorLine(out)
	if line == "" {
		return out, fmt.Errorf("run nginx -t: %w", err)
	}
	return out, &RejectedError{File: file, Line: line, Err: err}
}

// ConflictError is a host name that two server blocks claim: nginx -t
// passes with a warning, and nginx serves the name with the first block
// only (the wrong app, perhaps).
type ConflictError struct {
	Line string // nginx's warning
}

// Error is one line with nginx's warning.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("nginx check: two server blocks claim one host name, only the first is served: %s", e.Line)
}

// conflictLine returns nginx's first "conflicting server name" warning.
func conflictLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "conflicting server name") {
			return tidyLogLine(strings.TrimSpace(l))
		}
	}
	return ""
}

// reload runs the Reload argv, or the default one, and returns once
// nginx's master was told: its old workers may take new connections for
// another 100 ms (Settle waits for that).
func (m *Manager) reload(ctx context.Context) error {
	old, watchErr := m.workers(ctx)
	if m.BeforeReload != nil {
		m.BeforeReload()
	}
	out, err := m.run(ctx, m.reloadArgv())
	if err == nil {
		m.mu.Lock()
		m.lastOld = old
		m.unwatched = watchErr
		m.mu.Unlock()
		return nil
	}
	if msg := oneLine(out); msg != "" {
		return fmt.Errorf("reload nginx: %w: %s", err, msg)
	}
	return fmt.Errorf("reload nginx: %w", err)
}

func (m *Manager) run(ctx context.Context, argv []string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	if m.Run != nil {
		return m.Run(ctx, argv)
	}
	return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
}

// testArgv is Binary [-p Prefix] -t -q [-c Conf].
func (m *Manager) testArgv() []string {
	argv := m.baseArgv()
	argv = append(argv, "-t", "-q")
	return append(argv, m.confArgs()...)
}

// reloadArgv is a copy of Reload, or Binary [-p Prefix] [-c Conf] -s reload.
func (m *Manager) reloadArgv() []string {
	if len(m.Reload) > 0 {
		return slices.Clone(m.Reload)
	}
	argv := append(m.baseArgv(), m.confArgs()...)
	return append(argv, "-s", "reload")
}

func (m *Manager) baseArgv() []string {
	bin := m.Binary
	if bin == "" {
		bin = "nginx"
	}
	argv := []string{bin}
	if m.Prefix != "" {
		argv = append(argv, "-p", m.Prefix)
	}
	return argv
}

func (m *Manager) confArgs() []string {
	if m.Conf == "" {
		return nil
	}
	return []string{"-c", m.Conf}
}

// firstErrorLine picks nginx's first error-level line from its output,
// falling back to the first non-empty line: -t may also print warnings and
// a closing "test failed" line, neither of which says what is wrong.
func firstErrorLine(out []byte) string {
	var first string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		for _, level := range []string{"[emerg]", "[alert]", "[crit]", "[error]"} {
			if strings.Contains(l, level) {
				return tidyLogLine(l)
			}
		}
		if first == "" {
			first = tidyLogLine(l)
		}
	}
	return first
}

// tidyLogLine turns an error-log formatted line, which nginx prints when
// its error log is stderr (Debian builds), into the shorter form it uses
// otherwise: "2024/01/02 03:04:05 [emerg] 12#12: msg" becomes
// "nginx: [emerg] msg", so messages carry no timestamp or pid.
func tidyLogLine(l string) string {
	re := regexp.MustCompile(`^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} (\[[a-z]+\]) \d+#\d+: (?:\*\d+ )?`)
	m := re.FindStringSubmatchIndex(l)
	if m == nil {
		return l
	}
	return "nginx: " + l[m[2]:m[3]] + " " + l[m[1]:]
}

// oneLine joins the non-empty lines of out with "; ".
func oneLine(out []byte) string {
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

// ReloadConfig makes nginx read its configuration (and certificates)
// again.
// ReloadToDrain tells nginx to read its files again and returns at once,
// not waiting for Settle: OldWorkers then lists its workers from before,
// whose exit DrainWorkers waits for.
func (m *Manager) ReloadToDrain(ctx context.Context) error { return m.reload(ctx) }

func (m *Manager) ReloadConfig(ctx context.Context) error {
	if err := m.reload(ctx); err != nil {
		return err
	}
	return m.Settle(ctx)
}

// Settle returns once none of the workers that ran before the last reload
// takes new connections (at most 10 s): from then on every new connection
// gets the new config. nginx's master tells the old workers to stop
// accepting 100 ms after it started the new ones; until then a connection
// may still reach the old config (a 404 for an app served for the first
// time, the release switched from).
func (m *Manager) Settle(ctx context.Context) error {
	return m.waitOld(ctx, m.OldWorkers(), 10*time.Second)
}
