package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

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
		err = waitFor(30*time.Second, try)
	} else {
		err = try()
	}
	if neg {
		if err == nil {
			ts.Fatalf("fetch %s%s: got a 2xx answer, want a failure: %q", args[0], args[1], body)
		}
		ts.Logf("fetch failed as expected: %v", err)
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

// cmdPodman runs the podman CLI against the instance's API service.
//
//	podman ARGS...
func cmdPodman(ts *testscript.TestScript, neg bool, args []string) {
	inst := ts.Value(instanceKey{}).(*instance)
	err := ts.Exec("podman", append([]string{"--url", inst.podman}, args...)...)
	if err != nil && !neg {
		ts.Fatalf("podman %v: %v", args, err)
	}
	if err == nil && neg {
		ts.Fatalf("podman %v: unexpected success", args)
	}
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
