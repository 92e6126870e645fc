// Package testenv holds what the test tiers share about the real
// components they drive: requiring one, free loopback ports, polling
// until something answers. Only tests (and the test harness packages)
// import it.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// E2E says whether the end-to-end tier must run (GITSHIP_E2E set, as in
// CI): a missing component then fails the test instead of skipping it.
func E2E() bool { return os.Getenv("GITSHIP_E2E") != "" }

// Need fails (E2E) or skips the test when any of what is missing, naming
// them: an absolute path must exist, a name must be on PATH. hint says
// how to get them.
func Need(t testing.TB, hint string, what ...string) {
	t.Helper()
	var missing []string
	for _, w := range what {
		var err error
		if filepath.IsAbs(w) {
			_, err = os.Stat(w)
		} else {
			_, err = exec.LookPath(w)
		}
		if err != nil {
			missing = append(missing, w)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("needs %s (%s)", strings.Join(missing, ", "), hint)
	if E2E() {
		t.Fatal(msg)
	}
	t.Skip(msg + "; GITSHIP_E2E=1 makes this fatal")
}

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago (held open together, so none repeats).
func FreePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort is one free loopback TCP port.
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// Poll calls try, backing off from 10 ms to 200 ms, until it succeeds or
// max has passed; then it returns try's last error, saying how long it
// waited.
func Poll(max time.Duration, try func() error) error {
	deadline := time.Now().Add(max)
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		err := try()
		if err == nil {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("after %s: %w", max, err)
		}
		time.Sleep(min(delay, left))
	}
}
