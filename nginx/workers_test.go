package nginx

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func fakeProc(t *testing.T, pid, stat, cmdline string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "proc")
	return writeProc(t, dir, pid, stat, cmdline)
}

func writeProc(t *testing.T, dir, pid, stat, cmdline string) string {
	t.Helper()
	p := filepath.Join(dir, pid)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "cmdline"), []byte(cmdline), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWorkersAndWaitOld(t *testing.T) {
	proc := fakeProc(t, "100", "100 (nginx) S 1 100", "nginx: master process\x00")
	writeProc(t, proc, "101", "101 (nginx: a (b)) S 100 100", "nginx: worker process\x00")
	writeProc(t, proc, "102", "102 (bash) S 1 102", "bash\x00")
	writeProc(t, proc, "103", "103 (nginx) S 100 100", "nginx: worker process\x00")
	pidFile := filepath.Join(t.TempDir(), "nginx.pid")
	if err := os.WriteFile(pidFile, []byte("100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &Manager{PidFile: pidFile, ProcDir: proc}
	got, err := m.workers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int{101, 103}) {
		t.Fatalf("workers = %v, want [101 103]", got)
	}
	err = m.waitOld(context.Background(), got, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "still accepts") {
		t.Fatalf("waitOld with accepting workers: err = %v", err)
	}
	writeProc(t, proc, "101", "101 (nginx) S 100 100", "nginx: worker process is shutting down\x00")
	if err := os.RemoveAll(filepath.Join(proc, "103")); err != nil {
		t.Fatal(err)
	}
	if err := m.waitOld(context.Background(), got, time.Second); err != nil {
		t.Fatalf("waitOld with old workers shutting down or gone: %v", err)
	}
}

func TestWorkersWithoutPidFile(t *testing.T) {
	m := &Manager{PidFile: filepath.Join(t.TempDir(), "missing.pid")}
	w, err := m.workers(context.Background())
	if w != nil || err == nil || !strings.Contains(err.Error(), "read nginx's pid file") {
		t.Errorf("workers = %v, %v; want none and an error naming the pid file", w, err)
	}
}

func TestDrainWaitsForOldWorkers(t *testing.T) {
	proc := fakeProc(t, "201", "201 (nginx) S 200 200", "nginx: worker process is shutting down\x00")
	m := &Manager{ProcDir: proc, lastOld: []int{201, 202}}
	err := m.Drain(context.Background(), 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "worker 201 still serves") {
		t.Fatalf("Drain with a worker left: err = %v", err)
	}
	if err := os.RemoveAll(filepath.Join(proc, "201")); err != nil {
		t.Fatal(err)
	}
	if err := m.Drain(context.Background(), time.Second); err != nil {
		t.Fatalf("Drain after the old workers exited: %v", err)
	}
	if err := (&Manager{}).Drain(context.Background(), time.Second); err != nil {
		t.Fatalf("Drain without a reload: %v", err)
	}
}
