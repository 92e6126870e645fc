// Package certbot obtains and renews TLS certificates by running the
// certbot CLI with the webroot (HTTP-01) challenge that nginx serves, and
// reads the certificates certbot keeps.
//
// certbot prints many lines for one failure and, on Debian 12 (certbot
// 2.1 on Python 3.11), hides every ACME problem document behind
// "AttributeError: can't set attribute" (certbot/certbot#9539). The
// errors here are one line with the reason: the failed challenge, or the
// ACME problem dug out of certbot's debug log.
package certbot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Client runs the certbot CLI for one server configuration.
type Client struct {
	Binary  string // certbot ("" → "certbot" on PATH)
	Email   string // account email ("" → --register-unsafely-without-email)
	Server  string // ACME directory URL ("" → certbot's default, Let's Encrypt)
	Webroot string // where nginx serves /.well-known/acme-challenge/ from (created if missing, 0755)

	// ConfigDir, WorkDir and LogsDir are certbot's directories ("" →
	// certbot's defaults: /etc/letsencrypt, /var/lib/letsencrypt,
	// /var/log/letsencrypt).
	ConfigDir, WorkDir, LogsDir string

	Env []string // extra environment (e.g. REQUESTS_CA_BUNDLE=... for a test ACME server)
}

// Cert is a certificate certbot keeps for a name.
type Cert struct {
	Name      string    // the cert name (gitship uses the app name)
	Domains   []string  // its DNS names (from the certificate)
	Fullchain string    // ConfigDir/live/NAME/fullchain.pem
	Key       string    // ConfigDir/live/NAME/privkey.pem
	NotAfter  time.Time // when it expires
	Serial    string    // serial number in hex: a renewal changes it
}

// RenewError says which certificates `certbot renew` failed to renew and
// why; certbot keeps going after one fails, and so does Renew.
type RenewError struct {
	Failed map[string]string // cert name → certbot's reason, one line
}

// Error lists the failures on one line, sorted by cert name.
func (e *RenewError) Error() string {
	names := make([]string, 0, len(e.Failed))
	for n := range e.Failed {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ": " + e.Failed[n]
	}
	return "renew certificates: " + strings.Join(parts, "; ")
}

// cancelGrace is how long certbot gets after SIGTERM (a cancelled ctx) to
// clean up its challenge files and locks before it is killed.
const cancelGrace = 10 * time.Second

// Issue obtains (or expands/replaces) the certificate NAME for domains
// with the webroot challenge. An existing certificate for exactly these
// domains that is not due is kept (--keep-until-expiring). A failure is
// one line holding certbot's reason.
func (c *Client) Issue(ctx context.Context, name string, domains []string) (Cert, error) {
	if err := checkName(name); err != nil {
		return Cert{}, fmt.Errorf("issue certificate: %w", err)
	}
	if len(domains) == 0 {
		return Cert{}, fmt.Errorf("issue certificate %s: no domains", name)
	}
	for _, d := range domains {
		if err := checkDomain(d); err != nil {
			return Cert{}, fmt.Errorf("issue certificate %s: %w", name, err)
		}
	}
	if c.Webroot == "" {
		return Cert{}, fmt.Errorf("issue certificate %s: no webroot set", name)
	}
	if err := ctx.Err(); err != nil {
		return Cert{}, fmt.Errorf("issue certificate %s: %w", name, err)
	}
	if err := os.MkdirAll(c.Webroot, 0o755); err != nil {
		return Cert{}, fmt.Errorf("issue certificate %s: create webroot: %w", name, err)
	}
	if err := c.run(ctx, c.issueArgs(name, domains)); err != nil {
		return Cert{}, fmt.Errorf("issue certificate %s: %w", name, err)
	}
	cert, ok, err := c.Lookup(name)
	if err != nil {
		return Cert{}, fmt.Errorf("issue certificate %s: %w", name, err)
	}
	if !ok {
		return Cert{}, fmt.Errorf("issue certificate %s: certbot succeeded but %s holds no certificate", name, c.liveDir(name))
	}
	for _, d := range domains {
		if !slices.Contains(cert.Domains, strings.ToLower(d)) {
			return Cert{}, fmt.Errorf("issue certificate %s: certbot succeeded but the certificate does not cover %s (it has %s)", name, d, strings.Join(cert.Domains, ", "))
		}
	}
	return cert, nil
}

// Renew runs `certbot renew`, which renews every certificate due within
// its renew_before_expiry (30 days by default), and says which were
// renewed by comparing each certificate's serial and expiry before and
// after. renewed is valid even when err is not nil: certbot keeps going
// after a failure, and err (a *RenewError when certbot named the
// certificates) reports each failure in one line.
func (c *Client) Renew(ctx context.Context) (renewed []string, err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("renew certificates: %w", err)
	}
	// A certificate List cannot read must not stop the renewal of the
	// others: the List after certbot ran reports what is still unreadable.
	before, _ := c.List()
	runErr := c.run(ctx, c.renewArgs())
	after, listErr := c.List()
	renewed = changed(before, after)
	if listErr != nil {
		if runErr != nil {
			return renewed, fmt.Errorf("renew certificates: %v; %w", runErr, listErr)
		}
		return renewed, fmt.Errorf("renew certificates: %w", listErr)
	}
	if runErr == nil {
		return renewed, nil
	}
	var re *runError
	if errors.As(runErr, &re) {
		if failed := renewFailures(re.output); len(failed) > 0 {
			return renewed, &RenewError{Failed: failed}
		}
	}
	return renewed, fmt.Errorf("renew certificates: %w", runErr)
}

// changed names the certificates in after that are new or whose serial
// or expiry differ from before, sorted.
func changed(before, after []Cert) []string {
	old := make(map[string]Cert, len(before))
	for _, c := range before {
		old[c.Name] = c
	}
	var names []string
	for _, c := range after {
		o, ok := old[c.Name]
		if !ok || o.Serial != c.Serial || !o.NotAfter.Equal(c.NotAfter) {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names
}

// issueArgs is the argv (after the binary) of Issue.
func (c *Client) issueArgs(name string, domains []string) []string {
	args := []string{"certonly", "--non-interactive", "--agree-tos",
		"--webroot", "-w", c.Webroot, "--cert-name", name}
	for _, d := range domains {
		args = append(args, "-d", d)
	}
	args = append(args, "--keep-until-expiring", "--expand")
	if c.Email != "" {
		args = append(args, "--email", c.Email, "--no-eff-email")
	} else {
		args = append(args, "--register-unsafely-without-email")
	}
	return append(args, c.commonArgs()...)
}

// renewArgs is the argv (after the binary) of Renew. certbot sleeps up to
// 8 minutes before a non-interactive renewal to spread load on the CA;
// that would outlast any step timeout, so cron's random minute does it
// instead (--no-random-sleep-on-renew).
func (c *Client) renewArgs() []string {
	args := []string{"renew", "--non-interactive", "--no-random-sleep-on-renew"}
	return append(args, c.commonArgs()...)
}

// logBackups is how many of its debug logs certbot keeps: it starts a
// new one on every run (Debian's cli.ini says 0: one log that grows
// forever, twice a day from cron).
const logBackups = 30

// commonArgs selects the ACME server and certbot's directories.
func (c *Client) commonArgs() []string {
	args := []string{"--max-log-backups", strconv.Itoa(logBackups)}
	for _, f := range []struct{ flag, val string }{
		{"--server", c.Server},
		{"--config-dir", c.ConfigDir},
		{"--work-dir", c.WorkDir},
		{"--logs-dir", c.LogsDir},
	} {
		if f.val != "" {
			args = append(args, f.flag, f.val)
		}
	}
	return args
}

// runError is a certbot run that exited non-zero: Error is the one-line
// reason, output what certbot printed.
type runError struct {
	reason string
	output string
}

func (e *runError) Error() string { return e.reason }

// run runs certbot with args. A non-zero exit is a *runError whose reason
// comes from certbot's output and, for unexpected errors, the part of its
// debug log this run wrote; a cancelled ctx wraps ctx.Err().
func (c *Client) run(ctx context.Context, args []string) error {
	bin := c.Binary
	if bin == "" {
		bin = "certbot"
	}
	logPath := filepath.Join(c.logsDir(), "letsencrypt.log")
	logBefore, _ := os.Stat(logPath)

	cmd := exec.CommandContext(ctx, bin, args...)
	// Unbuffered, so stdout and stderr interleave in the order certbot
	// wrote them: a renewal's failure line lands in its own section.
	cmd.Env = append(append(os.Environ(), "PYTHONUNBUFFERED=1"), c.Env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = cancelGrace
	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return fmt.Errorf("certbot %s: %w", args[0], ctxErr)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		if err != nil {
			return fmt.Errorf("run %s: %w", bin, err)
		}
		return nil
	}
	text := out.String()
	r := reason(text, readLogSince(logPath, logBefore))
	if r == "" {
		r = "certbot " + exit.String()
	}
	return &runError{reason: r, output: text}
}

// logsDir is where certbot writes letsencrypt.log.
func (c *Client) logsDir() string {
	if c.LogsDir != "" {
		return c.LogsDir
	}
	return "/var/log/letsencrypt"
}

// maxLogRead bounds how much of certbot's debug log is searched.
const maxLogRead = 4 << 20

// readLogSince returns what certbot wrote to its debug log since before
// (the log as it was before the run; nil if there was none): the whole
// file if certbot rotated it (a new file), else what it appended. The
// log only refines a reason certbot's output already gives, so an
// unreadable log yields "".
func readLogSince(path string, before os.FileInfo) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	var start int64
	if before != nil && os.SameFile(before, fi) && before.Size() <= fi.Size() {
		start = before.Size()
	}
	if fi.Size()-start > maxLogRead {
		start = fi.Size() - maxLogRead
	}
	b, err := io.ReadAll(io.NewSectionReader(f, start, fi.Size()-start))
	if err != nil {
		return ""
	}
	return string(b)
}
