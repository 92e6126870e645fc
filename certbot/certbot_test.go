package certbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for certbot: with
// GITSHIP_FAKE_CERTBOT set it behaves as fakeCertbot says instead of
// running the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("GITSHIP_FAKE_CERTBOT"); mode != "" {
		os.Exit(fakeCertbot(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestIssueArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		c       Client
		domains []string
		want    []string
	}{{
		name:    "defaults",
		c:       Client{Webroot: "/var/lib/gitship/acme"},
		domains: []string{"web.example.com"},
		want: []string{"certonly", "--non-interactive", "--agree-tos", "--webroot", "-w", "/var/lib/gitship/acme",
			"--cert-name", "web", "-d", "web.example.com", "--keep-until-expiring", "--expand",
			"--register-unsafely-without-email", "--max-log-backups", "30"},
	}, {
		name: "everything set",
		c: Client{Binary: "/usr/bin/certbot", Email: "ops@example.com", Server: "https://acme-staging-v02.api.letsencrypt.org/directory",
			Webroot: "/srv/acme", ConfigDir: "/gs/le/config", WorkDir: "/gs/le/work", LogsDir: "/gs/le/logs"},
		domains: []string{"web.example.com", "www.example.com"},
		want: []string{"certonly", "--non-interactive", "--agree-tos", "--webroot", "-w", "/srv/acme",
			"--cert-name", "web", "-d", "web.example.com", "-d", "www.example.com", "--keep-until-expiring", "--expand",
			"--email", "ops@example.com", "--no-eff-email", "--max-log-backups", "30",
			"--server", "https://acme-staging-v02.api.letsencrypt.org/directory",
			"--config-dir", "/gs/le/config", "--work-dir", "/gs/le/work", "--logs-dir", "/gs/le/logs"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.issueArgs("web", tc.domains); !slices.Equal(got, tc.want) {
				t.Errorf("issueArgs =\n %q\nwant\n %q", got, tc.want)
			}
		})
	}
}

func TestRenewArgs(t *testing.T) {
	c := Client{Email: "ops@example.com", Server: "https://pebble:14000/dir", Webroot: "/srv/acme", ConfigDir: "/c", WorkDir: "/w", LogsDir: "/l"}
	want := []string{"renew", "--non-interactive", "--no-random-sleep-on-renew", "--max-log-backups", "30",
		"--server", "https://pebble:14000/dir", "--config-dir", "/c", "--work-dir", "/w", "--logs-dir", "/l"}
	if got := c.renewArgs(); !slices.Equal(got, want) {
		t.Errorf("renewArgs =\n %q\nwant\n %q", got, want)
	}
	if got, want := (&Client{}).renewArgs(), []string{"renew", "--non-interactive", "--no-random-sleep-on-renew", "--max-log-backups", "30"}; !slices.Equal(got, want) {
		t.Errorf("renewArgs with defaults = %q, want %q", got, want)
	}
}

// fakeClient is a Client whose certbot is this test binary in mode.
func fakeClient(t *testing.T, mode string, env ...string) (*Client, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "record.json")
	return &Client{
		Binary:    self,
		Webroot:   filepath.Join(dir, "www", "acme"),
		ConfigDir: filepath.Join(dir, "config"),
		WorkDir:   filepath.Join(dir, "work"),
		LogsDir:   filepath.Join(dir, "logs"),
		Env:       append([]string{"GITSHIP_FAKE_CERTBOT=" + mode, "FAKE_RECORD=" + record}, env...),
	}, record
}

func TestIssueRunsCertbot(t *testing.T) {
	c, record := fakeClient(t, "issue", "EXTRA_FOR_CERTBOT=1")
	got, err := c.Issue(context.Background(), "web", []string{"web.example.com", "WWW.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Domains, []string{"web.example.com", "www.example.com"}) || got.Name != "web" ||
		got.Fullchain != filepath.Join(c.ConfigDir, "live", "web", "fullchain.pem") {
		t.Errorf("Issue returned %+v", got)
	}
	fi, err := os.Stat(c.Webroot)
	if err != nil {
		t.Fatalf("webroot not created: %v", err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("webroot mode %v, want 0755 (nginx's workers read it)", fi.Mode().Perm())
	}
	rec := readRecord(t, record)
	if want := c.issueArgs("web", []string{"web.example.com", "WWW.example.com"}); !slices.Equal(rec.Args, want) {
		t.Errorf("certbot ran with\n %q\nwant\n %q", rec.Args, want)
	}
	for _, kv := range []string{"PYTHONUNBUFFERED=1", "EXTRA_FOR_CERTBOT=1"} {
		if !slices.Contains(rec.Env, kv) {
			t.Errorf("certbot's environment lacks %s", kv)
		}
	}
}

func TestIssueFailureIsOneLine(t *testing.T) {
	for _, tc := range []struct {
		sample, oldLog, want string
	}{
		{"challenge_404", "", "issue certificate web: bad.example.test: Non-200 status code from HTTP: "},
		// The log already holds an older run's failure: only what this
		// run appended counts.
		{"masked_rate_limited", "2024-02-01 09:00:00,000:DEBUG:certbot._internal.log:Exiting abnormally:\nacme.messages.Error: urn:ietf:params:acme:error:unauthorized :: old run\n",
			"issue certificate web: urn:ietf:params:acme:error:rateLimited :: There were too many requests of a given type :: Error creating new order :: too many certificates (5)"},
		{"masked_no_log", "2024-02-01 09:00:00,000:DEBUG:certbot._internal.log:Exiting abnormally:\nacme.messages.Error: urn:ietf:params:acme:error:unauthorized :: old run\n",
			"issue certificate web: AttributeError: can't set attribute"},
	} {
		t.Run(tc.sample, func(t *testing.T) {
			files := readTxtar(t, filepath.Join("testdata", "issue", tc.sample+".txtar"), "output")
			dir := t.TempDir()
			out, log := filepath.Join(dir, "output"), filepath.Join(dir, "log")
			writeFile(t, out, files["output"])
			writeFile(t, log, files["log"])
			c, _ := fakeClient(t, "fail", "FAKE_OUTPUT="+out, "FAKE_LOG="+log)
			if tc.oldLog != "" {
				writeFile(t, filepath.Join(c.LogsDir, "letsencrypt.log"), tc.oldLog)
			}
			_, err := c.Issue(context.Background(), "web", []string{"bad.example.test"})
			if err == nil {
				t.Fatal("Issue succeeded, want certbot's failure")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error\n %q\nwant one line starting\n %q", msg, tc.want)
			}
			if _, ok, _ := c.Lookup("web"); ok {
				t.Error("a failed Issue left a certificate")
			}
		})
	}
}

func TestIssueRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cert    string
		domains []string
		noRoot  bool
	}{
		{"flag as domain", "web", []string{"--staging"}, false},
		{"comma splits -d", "web", []string{"a.example.com,b.example.com"}, false},
		{"wildcard", "web", []string{"*.example.com"}, false},
		{"underscore", "web", []string{"a_b.example.com"}, false},
		{"empty label", "web", []string{"a..example.com"}, false},
		{"no domains", "web", nil, false},
		{"path as name", "../web", []string{"web.example.com"}, false},
		{"flag as name", "--help", []string{"web.example.com"}, false},
		{"no webroot", "web", []string{"web.example.com"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, record := fakeClient(t, "issue")
			if tc.noRoot {
				c.Webroot = ""
			}
			if _, err := c.Issue(context.Background(), tc.cert, tc.domains); err == nil {
				t.Fatal("Issue accepted it")
			}
			if _, err := os.Stat(record); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("certbot ran anyway (%v)", err)
			}
		})
	}
}

func TestIssueCancelled(t *testing.T) {
	c, _ := fakeClient(t, "hang")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Issue(ctx, "web", []string{"web.example.com"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Issue = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > cancelGrace {
		t.Errorf("Issue returned after %s: certbot was not stopped", d)
	}
}

func TestIssueCertMissingADomain(t *testing.T) {
	c, _ := fakeClient(t, "issue-first-domain-only")
	_, err := c.Issue(context.Background(), "web", []string{"web.example.com", "www.example.com"})
	if err == nil || !strings.Contains(err.Error(), "does not cover www.example.com") {
		t.Errorf("Issue = %v, want an error that the certificate does not cover www.example.com", err)
	}
}

func TestRenew(t *testing.T) {
	c, record := fakeClient(t, "renew", "FAKE_RENEW=api", "FAKE_FAIL=web")
	exp := time.Now().Add(20 * 24 * time.Hour)
	for i, n := range []string{"api", "blog", "web"} {
		if err := writeLive(c.ConfigDir, n, []string{n + ".example.com"}, int64(100+i), exp); err != nil {
			t.Fatal(err)
		}
	}
	renewed, err := c.Renew(context.Background())
	if !slices.Equal(renewed, []string{"api"}) {
		t.Errorf("renewed = %v, want [api]", renewed)
	}
	var re *RenewError
	if !errors.As(err, &re) {
		t.Fatalf("Renew error = %v, want a *RenewError", err)
	}
	want := map[string]string{"web": "web.example.com: Non-200 status code from HTTP: http://web.example.com/.well-known/acme-challenge/x returned 404 (unauthorized)"}
	if len(re.Failed) != 1 || re.Failed["web"] != want["web"] {
		t.Errorf("Failed = %q, want %q", re.Failed, want)
	}
	if got := readRecord(t, record).Args; !slices.Equal(got, c.renewArgs()) {
		t.Errorf("certbot ran with %q, want %q", got, c.renewArgs())
	}
}

func TestRenewNothingDue(t *testing.T) {
	c, _ := fakeClient(t, "renew")
	if err := writeLive(c.ConfigDir, "web", []string{"web.example.com"}, 5, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	renewed, err := c.Renew(context.Background())
	if err != nil || len(renewed) != 0 {
		t.Errorf("Renew = %v, %v; want nothing renewed, no error", renewed, err)
	}
}

func TestRenewCertbotFailsOutright(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "output")
	writeFile(t, out, "Saving debug log to /l/letsencrypt.log\nAnother instance of Certbot is already running.\nAsk for help or search for solutions at https://community.letsencrypt.org.\n")
	c, _ := fakeClient(t, "fail", "FAKE_OUTPUT="+out)
	_, err := c.Renew(context.Background())
	var re *RenewError
	if err == nil || errors.As(err, &re) || err.Error() != "renew certificates: Another instance of Certbot is already running." {
		t.Errorf("Renew = %v, want the plain one-line reason", err)
	}
}

// record is what the fake certbot saw.
type record struct {
	Args []string
	Env  []string
}

func readRecord(t *testing.T, path string) record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("fake certbot left no record: %v", err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeCertbot acts as certbot for the tests above; it returns the exit
// status. Modes:
//
//	issue                    record argv and env, write a certificate for the -d names
//	issue-first-domain-only  the same, covering only the first name
//	fail                     print $FAKE_OUTPUT, append $FAKE_LOG to the debug log, exit 1
//	hang                     wait for a signal
//	renew                    re-issue the names in $FAKE_RENEW, fail those in $FAKE_FAIL
func fakeCertbot(mode string, args []string) int {
	flags := map[string][]string{}
	for i := 0; i+1 < len(args); i++ {
		if strings.HasPrefix(args[i], "-") && !strings.HasPrefix(args[i+1], "-") {
			flags[args[i]] = append(flags[args[i]], args[i+1])
		}
	}
	flag := func(name string) string {
		if v := flags[name]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if path := os.Getenv("FAKE_RECORD"); path != "" {
		b, err := json.Marshal(record{Args: args, Env: os.Environ()})
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake certbot:", err)
			return 2
		}
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "fake certbot:", err)
		return 2
	}
	switch mode {
	case "issue", "issue-first-domain-only":
		if _, err := os.Stat(flag("-w")); err != nil {
			return fail(err)
		}
		domains := flags["-d"]
		if mode == "issue-first-domain-only" {
			domains = domains[:1]
		}
		if err := writeLive(flag("--config-dir"), flag("--cert-name"), domains, time.Now().UnixNano(), time.Now().Add(90*24*time.Hour)); err != nil {
			return fail(err)
		}
		fmt.Println("Successfully received certificate.")
		return 0
	case "fail":
		out, err := os.ReadFile(os.Getenv("FAKE_OUTPUT"))
		if err != nil {
			return fail(err)
		}
		if p := os.Getenv("FAKE_LOG"); p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				return fail(err)
			}
			if err := os.MkdirAll(flag("--logs-dir"), 0o700); err != nil {
				return fail(err)
			}
			f, err := os.OpenFile(filepath.Join(flag("--logs-dir"), "letsencrypt.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return fail(err)
			}
			if _, err := f.Write(b); err != nil {
				return fail(err)
			}
			if err := f.Close(); err != nil {
				return fail(err)
			}
		}
		os.Stdout.Write(out)
		return 1
	case "hang":
		fmt.Println("Requesting a certificate for web.example.com")
		<-time.After(time.Minute) // SIGTERM ends the process first
		return 0
	case "renew":
		status := 0
		for _, n := range strings.FieldsFunc(os.Getenv("FAKE_RENEW"), isComma) {
			fmt.Printf("Processing %s/renewal/%s.conf\nRenewing an existing certificate for %s.example.com\n", flag("--config-dir"), n, n)
			if err := writeLive(flag("--config-dir"), n, []string{n + ".example.com"}, time.Now().UnixNano(), time.Now().Add(90*24*time.Hour)); err != nil {
				return fail(err)
			}
		}
		for _, n := range strings.FieldsFunc(os.Getenv("FAKE_FAIL"), isComma) {
			fmt.Printf("Processing %s/renewal/%s.conf\nRenewing an existing certificate for %[2]s.example.com\n\n"+
				"Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority reported these problems:\n"+
				"  Domain: %[2]s.example.com\n  Type:   unauthorized\n"+
				"  Detail: Non-200 status code from HTTP: http://%[2]s.example.com/.well-known/acme-challenge/x returned 404\n\n"+
				"Failed to renew certificate %[2]s with error: Some challenges have failed.\n", flag("--config-dir"), n)
			status = 1
		}
		return status
	}
	return fail(fmt.Errorf("unknown mode %q", mode))
}

func isComma(r rune) bool { return r == ',' }

func TestRenewDespiteAnUnreadableCertificate(t *testing.T) {
	c, _ := fakeClient(t, "renew", "FAKE_RENEW=api")
	for i, n := range []string{"api", "blog"} {
		if err := writeLive(c.ConfigDir, n, []string{n + ".example.com"}, int64(100+i), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(c.ConfigDir, "archive", "blog", "fullchain1.pem"), "junk")
	renewed, err := c.Renew(context.Background())
	if !slices.Equal(renewed, []string{"api"}) {
		t.Errorf("renewed = %v, want [api]", renewed)
	}
	if err == nil || !strings.Contains(err.Error(), "blog") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Renew error = %v, want one line naming blog", err)
	}
}

// TestReadLogSince: what a run appended to the log, or the whole log if
// certbot rotated it, even when the new log is longer than the old one.
func TestReadLogSince(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "letsencrypt.log")
	if got := readLogSince(path, nil); got != "" {
		t.Errorf("no log: %q", got)
	}
	writeFile(t, path, "old run\n")
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("this run\n")
	f.Close()
	if got := readLogSince(path, before); got != "this run\n" {
		t.Errorf("appended: %q, want only this run's lines", got)
	}
	// rotated: the old log moved away, a new (longer) one in its place
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "a new log, longer than the old one was\n")
	if got := readLogSince(path, before); got != "a new log, longer than the old one was\n" {
		t.Errorf("rotated: %q, want the whole new log", got)
	}
	// no log before the run: all of it
	if got := readLogSince(path, nil); got != "a new log, longer than the old one was\n" {
		t.Errorf("new: %q", got)
	}
}
