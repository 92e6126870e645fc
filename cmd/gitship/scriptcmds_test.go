package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gitship/gitship/build"
	"github.com/gitship/gitship/internal/testenv"
	"github.com/gitship/gitship/scripts/load"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdSampleApp copies the sample app's static binary into DIR as DIR/web;
// the script's own files provide the Dockerfile and the rest.
//
//	sampleapp DIR
func cmdSampleApp(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sampleapp DIR")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	b, err := os.ReadFile(ts.Getenv("SAMPLE_BIN"))
	ts.Check(err)
	ts.Check(os.WriteFile(filepath.Join(dir, "web"), b, 0o755))
}

// cmdFetch GETs PATH through the instance's nginx with Host: HOST and
// prints the body. It fails on a non-2xx answer; with -wait it retries for
// up to 30 s first (for a container that is restarting).
//
//	fetch [-wait] HOST PATH
func cmdFetch(ts *testscript.TestScript, neg bool, args []string) {
	wait := len(args) > 0 && args[0] == "-wait"
	if wait {
		args = args[1:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: fetch [-wait] HOST PATH")
	}
	inst := ts.Value(instanceKey{}).(*instance)
	url := fmt.Sprintf("http://127.0.0.1:%d%s", inst.port, args[1])
	var body string
	try := func() error {
		var err error
		body, err = get(url, args[0])
		return err
	}
	var err error
	if wait {
		err = testenv.Poll(30*time.Second, try)
	} else {
		err = try()
	}
	if neg {
		if err == nil {
			ts.Fatalf("fetch %s%s: got a 2xx answer, want a failure: %q", args[0], args[1], body)
		}
		// the failure is the output, for `stdout` to check
		fmt.Fprintln(ts.Stdout(), err)
		return
	}
	ts.Check(err)
	fmt.Fprint(ts.Stdout(), body)
}

func get(url, host string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Host = host
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		return string(b), fmt.Errorf("GET %s (Host: %s): %s: %s", url, host, resp.Status, b)
	}
	return string(b), nil
}

// cmdPodman runs the podman CLI against the instance's API service. The
// image store is shared with the other scripts running in parallel, and a
// listing can fail while another script removes its images: a failure is
// tried again twice before it counts. `podman rmi` runs under gitship's
// image lock, as gitship's own removals do.
//
//	podman ARGS...
func cmdPodman(ts *testscript.TestScript, neg bool, args []string) {
	inst := ts.Value(instanceKey{}).(*instance)
	argv := append([]string{"--url", inst.podman}, args...)
	run := func() error {
		err := ts.Exec("podman", argv...)
		// A command expected to fail is tried again only when it failed
		// on the store (Podman 4.3: another instance removed an image or
		// a layer a cache lookup was reading), not for the reason wanted.
		for try := 0; err != nil && (!neg || storeRace(ts.ReadFile("stderr"))) && try < 2; try++ {
			ts.Logf("podman %v failed (%v); trying again", args, err)
			err = ts.Exec("podman", argv...)
		}
		return err
	}
	var err error
	if len(args) > 0 && args[0] == "rmi" {
		err = removeImages(inst.imagesLock, run)
	} else {
		err = run()
	}
	if err != nil && !neg {
		ts.Fatalf("podman %v: %v", args, err)
	}
	if err == nil && neg {
		ts.Fatalf("podman %v: unexpected success", args)
	}
}

// storeRace says whether Podman's stderr is a failure of its store's
// consistency under concurrent removal rather than of the command.
func storeRace(stderr string) bool {
	return strings.Contains(stderr, "layer not known") || strings.Contains(stderr, "image not known")
}

// cmdPerm prints a file's permission bits (with setgid as 2xxx) and its
// group name, e.g. "2770 www-data".
//
//	perm PATH
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: perm PATH")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	mode := fi.Mode().Perm()
	bits := uint32(mode)
	if fi.Mode()&os.ModeSetgid != 0 {
		bits |= 0o2000
	}
	gid := fi.Sys().(*syscall.Stat_t).Gid
	group := strconv.Itoa(int(gid))
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	fmt.Fprintf(ts.Stdout(), "%o %s\n", bits, group)
}

// cmdWaitFile waits (up to 60 s) until PATH exists and, with REGEXP,
// until its content matches it (a background command's output file).
//
//	waitfile PATH [REGEXP]
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile PATH [REGEXP]")
	}
	path := ts.MkAbs(args[0])
	var re *regexp.Regexp
	if len(args) == 2 {
		var err error
		re, err = regexp.Compile("(?m)" + args[1])
		ts.Check(err)
	}
	ts.Check(testenv.Poll(60*time.Second, func() error {
		b, err := os.ReadFile(path)
		if err != nil || re == nil || re.Match(b) {
			return err
		}
		return fmt.Errorf("%s does not match %q yet:\n%s", path, args[1], b)
	}))
}

// cmdWaitCount waits (up to 60 s) until DIR holds N files named *SUFFIX.
//
//	waitcount DIR SUFFIX N
func cmdWaitCount(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: waitcount DIR SUFFIX N")
	}
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	ts.Check(testenv.Poll(60*time.Second, func() error {
		matches, err := filepath.Glob(filepath.Join(dir, "*"+args[1]))
		if err != nil {
			return err
		}
		if len(matches) != want {
			return fmt.Errorf("%d files *%s in %s, want %d", len(matches), args[1], dir, want)
		}
		return nil
	}))
}

// cmdKillPid sends SIGKILL to the process whose pid is in FILE and waits
// until it is gone.
//
//	killpid FILE
func cmdKillPid(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: killpid FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	ts.Check(err)
	ts.Check(syscall.Kill(pid, syscall.SIGKILL))
	ts.Check(testenv.Poll(10*time.Second, func() error {
		if err := syscall.Kill(pid, 0); err == nil {
			return fmt.Errorf("process %d still exists", pid)
		}
		return nil
	}))
}

// cmdKillGroup sends SIGNAL (INT or HUP) to the process group of the
// process whose pid is in FILE, as a terminal does on Ctrl-C or when it
// hangs up. The group must not be the test's own: start the command in
// a group of its own (setsid).
//
//	killgroup INT|HUP FILE
func cmdKillGroup(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: killgroup INT|HUP FILE")
	}
	sig, ok := map[string]syscall.Signal{"INT": syscall.SIGINT, "HUP": syscall.SIGHUP}[args[0]]
	if !ok {
		ts.Fatalf("killgroup: unknown signal %q: INT or HUP", args[0])
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	ts.Check(err)
	pgid, err := syscall.Getpgid(pid)
	ts.Check(err)
	if pgid == syscall.Getpgrp() {
		ts.Fatalf("killgroup: process %d is in the test's own process group; start it with setsid", pid)
	}
	ts.Check(syscall.Kill(-pgid, sig))
}

// cmdEnvFrom sets NAME to the trimmed content of FILE (use `cp stdout F`
// first to capture a command's output).
//
//	envfrom NAME FILE
func cmdEnvFrom(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfrom NAME FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	ts.Setenv(args[0], strings.TrimSpace(string(b)))
}

// cmdLoad runs a closed-loop load of 8 clients through the instance's
// nginx while the script goes on. `load stop` prints the counts and fails
// on any non-2xx answer or connection error (`! load stop` expects some).
//
//	load start HOST PATH
//	load stop
func cmdLoad(ts *testscript.TestScript, neg bool, args []string) {
	inst := ts.Value(instanceKey{}).(*instance)
	switch {
	case len(args) == 3 && args[0] == "start" && !neg:
		if inst.load != nil {
			ts.Fatalf("a load runs already")
		}
		run, err := load.Start(context.Background(), load.Config{
			URL:     fmt.Sprintf("http://127.0.0.1:%d%s", inst.port, args[2]),
			Host:    args[1],
			Clients: 8,
		})
		ts.Check(err)
		inst.load = run
		ts.Defer(func() {
			if inst.load != nil {
				inst.load.Stop()
			}
		})
	case len(args) == 1 && args[0] == "stop":
		if inst.load == nil {
			ts.Fatalf("no load runs")
		}
		res := inst.load.Stop()
		inst.load = nil
		fmt.Fprintln(ts.Stdout(), res.String())
		for body, n := range res.Bodies {
			fmt.Fprintf(ts.Stdout(), "answered %d: %s\n", n, body)
		}
		for _, f := range res.Failures {
			fmt.Fprintln(ts.Stdout(), "failure:", f)
		}
		if res.Requests == 0 {
			ts.Fatalf("the load sent no request")
		}
		if failed := res.Failed(); failed > 0 && !neg {
			ts.Fatalf("%d of %d requests failed: %v", failed, res.Requests, res.Failures)
		} else if failed == 0 && neg {
			ts.Fatalf("no request failed, want some")
		}
	default:
		ts.Fatalf("usage: load start HOST PATH | load stop")
	}
}

// cmdBuildkitd starts a buildkitd of the script's own (root and socket
// under $WORK/bk, the address the config names) and stops it at the end.
//
//	buildkitd
func cmdBuildkitd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: buildkitd")
	}
	dir := ts.MkAbs("bk")
	ts.Check(os.MkdirAll(dir, 0o700))
	addr := "unix://" + filepath.Join(dir, "bk.sock")
	logf, err := os.Create(filepath.Join(dir, "buildkitd.log"))
	ts.Check(err)
	cmd := exec.Command("buildkitd", "--root", dir, "--addr", addr, "--oci-worker=true", "--containerd-worker=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	ts.Check(cmd.Start())
	ts.Defer(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
		logf.Close()
	})
	ts.Check(testenv.Poll(20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return build.Available(ctx, addr)
	}))
}

// cmdBuilder sets `builder` in the instance's config.
//
//	builder podman|buildkit|auto
func cmdBuilder(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: builder podman|buildkit|auto")
	}
	path := ts.Getenv("GITSHIP_CONFIG")
	b, err := os.ReadFile(path)
	ts.Check(err)
	re := regexp.MustCompile(`(?m)^builder = ".*"$`)
	if !re.Match(b) {
		ts.Fatalf("no builder line in %s", path)
	}
	ts.Check(os.WriteFile(path, re.ReplaceAll(b, []byte(`builder = "`+args[0]+`"`)), 0o644))
}

// cmdNginxPid sets `pid` in the [nginx] section of the instance's config
// (which leaves it out: gitship reads the main config's).
//
//	nginxpid PATH
func cmdNginxPid(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: nginxpid PATH")
	}
	path := ts.Getenv("GITSHIP_CONFIG")
	b, err := os.ReadFile(path)
	ts.Check(err)
	conf := string(b)
	if !strings.Contains(conf, "\n[nginx]\n") {
		ts.Fatalf("no [nginx] section in %s", path)
	}
	conf = strings.Replace(conf, "\n[nginx]\n", fmt.Sprintf("\n[nginx]\npid = %q\n", ts.MkAbs(args[0])), 1)
	ts.Check(os.WriteFile(path, []byte(conf), 0o644))
}

// cmdPebble starts a private ACME server (Pebble, validating HTTP-01 on
// the instance's nginx port) and points the config's [certbot] at it:
// server, an account email (so deploys issue certificates), and certbot's
// trust in Pebble's TLS certificate.
//
//	pebble
func cmdPebble(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: pebble")
	}
	inst := ts.Value(instanceKey{}).(*instance)
	pe, err := startPebbleIn(ts.MkAbs("pebble"), inst.port, ts.Defer)
	ts.Check(err)
	root, err := os.ReadFile(pe.Root)
	ts.Check(err)
	inst.roots = x509.NewCertPool()
	if !inst.roots.AppendCertsFromPEM(root) {
		ts.Fatalf("no certificate in %s", pe.Root)
	}
	path := ts.Getenv("GITSHIP_CONFIG")
	b, err := os.ReadFile(path)
	ts.Check(err)
	conf := strings.Replace(string(b), `server     = ""`, fmt.Sprintf("server     = %q", pe.Directory), 1)
	conf = strings.Replace(conf, `email      = ""`, `email      = "ops@example.com"`, 1)
	ts.Check(os.WriteFile(path, []byte(conf), 0o644))
	ts.Setenv("REQUESTS_CA_BUNDLE", pe.CABundle)
	ts.Setenv("PEBBLE_BLOCKED", pebbleBlocked)
}

// cmdFetchTLS GETs PATH over HTTPS through the instance's nginx (TLS
// port), trusting only the ACME server's issuing root, with SNI and Host
// HOST, and prints the body; a non-2xx answer or a TLS error fails.
//
//	fetchtls HOST PATH
func cmdFetchTLS(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: fetchtls HOST PATH")
	}
	inst := ts.Value(instanceKey{}).(*instance)
	if inst.roots == nil {
		ts.Fatalf("fetchtls needs `pebble` first")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", inst.tlsPort)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: inst.roots, ServerName: args[0]},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		},
		DisableKeepAlives: true,
	}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Get(fmt.Sprintf("https://%s:%d%s", args[0], inst.tlsPort, args[1]))
	if err == nil {
		defer resp.Body.Close()
		var b []byte
		b, err = io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode/100 != 2 {
			err = fmt.Errorf("%s: %s", resp.Status, b)
		}
		if err == nil {
			fmt.Fprint(ts.Stdout(), string(b))
			fmt.Fprintf(ts.Stdout(), "hsts: %s\n", resp.Header.Get("Strict-Transport-Security"))
		}
	}
	if neg {
		if err == nil {
			ts.Fatalf("fetchtls %s%s succeeded, want a failure", args[0], args[1])
		}
		fmt.Fprintln(ts.Stdout(), "error:", err)
		return
	}
	ts.Check(err)
}

// cmdFetchRaw GETs PATH over plain HTTP without following redirects and
// prints "STATUS Location".
//
//	fetchraw HOST PATH
func cmdFetchRaw(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: fetchraw HOST PATH")
	}
	inst := ts.Value(instanceKey{}).(*instance)
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", inst.port, args[1]), nil)
	ts.Check(err)
	req.Host = args[0]
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	ts.Check(err)
	resp.Body.Close()
	fmt.Fprintf(ts.Stdout(), "%d %s\n", resp.StatusCode, resp.Header.Get("Location"))
}

// cmdMakeDue makes certbot treat certificate NAME as due for renewal (its
// renewal config asks for renewal 10 years before expiry), as cron would
// find it 30 days before.
//
//	makedue NAME
func cmdMakeDue(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: makedue NAME")
	}
	path := ts.MkAbs(filepath.Join("le", "config", "renewal", args[0]+".conf"))
	b, err := os.ReadFile(path)
	ts.Check(err)
	re := regexp.MustCompile(`(?m)^#? ?renew_before_expiry = .*$`)
	if !re.Match(b) {
		ts.Fatalf("%s has no renew_before_expiry line", path)
	}
	ts.Check(os.WriteFile(path, re.ReplaceAll(b, []byte("renew_before_expiry = 3650 days")), 0o644))
}

// cmdSSHD starts a private sshd whose authorized_keys is the file the
// config names (the one `gitship keys` manages), and sets GIT_SSH_COMMAND
// (and SSH, the same command line) to reach it with the script's client
// key, CLIENT_PUB to that key's public half.
//
//	sshd
func cmdSSHD(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: sshd")
	}
	env, err := startSSHD(ts.MkAbs("sshd"), ts.MkAbs(filepath.Join("ssh", "authorized_keys")), ts.Defer)
	ts.Check(err)
	ts.Setenv("GIT_SSH_COMMAND", env.SSHCommand)
	ts.Setenv("SSH", env.SSHCommand)
	ts.Setenv("CLIENT_PUB", env.ClientPub)
}

// cmdReplaceFile copies FROM to TO with every OLD replaced by NEW (a
// variant of the instance's config, say); FROM must hold OLD.
//
//	replacefile FROM OLD NEW TO
func cmdReplaceFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: replacefile FROM OLD NEW TO")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	if !strings.Contains(string(b), args[1]) {
		ts.Fatalf("%s does not hold %q", args[0], args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[3]), []byte(strings.ReplaceAll(string(b), args[1], args[2])), 0o644))
}

// cmdJSONField decodes FILE as one JSON object and prints the value of
// its top-level KEY as JSON (fails if FILE is not one JSON document or
// has no KEY).
//
//	jsonfield FILE KEY
func cmdJSONField(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonfield FILE KEY")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	ts.Check(dec.Decode(&doc))
	if dec.More() {
		ts.Fatalf("%s holds more than one JSON document", args[0])
	}
	v, ok := doc[args[1]]
	if !ok {
		ts.Fatalf("%s has no key %q", args[0], args[1])
	}
	fmt.Fprintf(ts.Stdout(), "%s\n", v)
}

// cmdJSONOK checks that the last command's stdout is one JSON document
// and nothing else, of the kind named: array or object.
//
//	jsonok array|object
func cmdJSONOK(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || (args[0] != "array" && args[0] != "object") {
		ts.Fatalf("usage: jsonok array|object")
	}
	out := ts.ReadFile("stdout")
	dec := json.NewDecoder(strings.NewReader(out))
	var v any
	if err := dec.Decode(&v); err != nil {
		ts.Fatalf("stdout is no JSON document: %v\n%s", err, out)
	}
	if dec.More() {
		ts.Fatalf("stdout holds more than one JSON document:\n%s", out)
	}
	switch v.(type) {
	case []any:
		if args[0] != "array" {
			ts.Fatalf("stdout is a JSON array, want an object:\n%s", out)
		}
	case map[string]any:
		if args[0] != "object" {
			ts.Fatalf("stdout is a JSON object, want an array:\n%s", out)
		}
	default:
		ts.Fatalf("stdout is JSON, but no %s:\n%s", args[0], out)
	}
}

// cmdWaitWatch waits (up to 2 minutes) until the watch process of APP is
// done: its watch file is gone and no `gitship watch APP` of this
// instance runs any more. The file alone is not enough: a watch that
// rolls back by itself ends its watch file before it retires the bad
// release, and nginx's old workers may still reach that release then.
//
//	waitwatch APP
func cmdWaitWatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitwatch APP")
	}
	path := filepath.Join(ts.Getenv("ROOT"), "apps", args[0], "watch.json")
	config := "GITSHIP_CONFIG=" + ts.Getenv("GITSHIP_CONFIG")
	ts.Check(testenv.Poll(2*time.Minute, func() error {
		if b, err := os.ReadFile(path); err == nil {
			return fmt.Errorf("the watch of %s still runs: %s", args[0], b)
		}
		if pid := watchProcess(args[0], config); pid != 0 {
			return fmt.Errorf("the watch of %s (pid %d) still runs", args[0], pid)
		}
		return nil
	}))
}

// watchProcess is the pid of a running `gitship watch APP ...` whose
// environment holds config (this instance's GITSHIP_CONFIG=...), or 0.
func watchProcess(app, config string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte("\x00watch\x00"+app+"\x00")) {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append(env, 0), []byte(config+"\x00")) {
			continue
		}
		return pid
	}
	return 0
}
