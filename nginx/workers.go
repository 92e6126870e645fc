package nginx

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// nginx's master starts the new workers on reload, sleeps 100 ms, and only
// then tells the old ones to stop accepting. In that window a new
// connection may still reach an old worker with the old config: a 404 for a
// first deploy, or a retired release's socket later. So after a reload we
// wait until every worker that existed before it is gone or has set its
// title to "worker process is shutting down" (nginx does so right before
// it closes its listening sockets).

// workers returns the pids of nginx's master's children, or why the
// master could not be found (then nothing can be waited for).
func (m *Manager) workers(ctx context.Context) ([]int, error) {
	master, err := m.master(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(m.procDir())
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := m.parent(pid); ok && ppid == master {
			out = append(out, pid)
		}
	}
	return out, nil
}

func (m *Manager) procDir() string {
	if m.ProcDir != "" {
		return m.ProcDir
	}
	return "/proc"
}

// parent reads the ppid from /proc/PID/stat ("pid (comm) state ppid ...";
// comm may hold spaces, so parse after the last ')').
func (m *Manager) parent(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join(m.procDir(), strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// accepting says whether pid still runs and is not shutting down.
func (m *Manager) accepting(pid int) bool {
	b, err := os.ReadFile(filepath.Join(m.procDir(), strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return false
	}
	return !bytes.Contains(b, []byte("shutting down"))
}

// settlePoll is how often waitOld looks at an old worker's title: a
// switch returns at most this long after nginx told its old workers, and
// a look is one read of /proc/PID/cmdline.
const settlePoll = 2 * time.Millisecond

// waitOld waits until none of old accepts connections, at most timeout.
func (m *Manager) waitOld(ctx context.Context, old []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, pid := range old {
		for m.accepting(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("old nginx worker %d still accepts connections %s after the reload", pid, timeout)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(settlePoll):
			}
		}
	}
	return nil
}

// gone says whether pid has exited (or is no longer an nginx process: the
// pid was reused).
func (m *Manager) gone(pid int) bool {
	b, err := os.ReadFile(filepath.Join(m.procDir(), strconv.Itoa(pid), "cmdline"))
	return err != nil || !bytes.Contains(b, []byte("nginx"))
}

// Drain waits until the workers that ran before this Manager's last reload
// have exited: they finish the requests they were serving (to the release
// just replaced) and only then exit. It returns an error naming what is
// left after timeout. Without a reload (or a pid file) there is nothing to
// wait for.
func (m *Manager) Drain(ctx context.Context, timeout time.Duration) error {
	return m.DrainWorkers(ctx, m.OldWorkers(), time.Now().Add(timeout))
}

// OldWorkers are the workers that ran before this Manager's last reload:
// another process (the one that retires the old release after the push
// returned) drains them with DrainWorkers.
func (m *Manager) OldWorkers() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int(nil), m.lastOld...)
}

// DrainWorkers waits until the nginx workers old have exited, or until
// deadline (an error naming the one left then).
func (m *Manager) DrainWorkers(ctx context.Context, old []int, deadline time.Time) error {
	for _, pid := range old {
		for !m.gone(pid) {
			if time.Now().After(deadline) {
				return fmt.Errorf("nginx worker %d still serves old connections after the drain timeout", pid)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("drain: %w", ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}
