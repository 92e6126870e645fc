package release

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var _ Locker = FileLock{}

// lockWait bounds every wait of these tests: long enough for a slow CI
// machine, short enough to fail instead of hanging.
const lockWait = 10 * time.Second

type lockResult struct {
	unlock func()
	err    error
}

// lockAsync calls Lock in a goroutine; waiting is signalled on the
// returned channel, the result on the other.
func lockAsync(ctx context.Context, path string, calls *atomic.Int32) (<-chan struct{}, <-chan lockResult) {
	waiting := make(chan struct{})
	res := make(chan lockResult, 1)
	go func() {
		unlock, err := FileLock{}.Lock(ctx, path, func() {
			if calls.Add(1) == 1 {
				close(waiting)
			}
		})
		res <- lockResult{unlock, err}
	}()
	return waiting, res
}

func TestFileLockFree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deploy.lock")
	called := false
	unlock, err := FileLock{}.Lock(context.Background(), path, func() { called = true })
	if err != nil {
		t.Fatal(err)
	}
	if called {
		t.Error("waiting called for a free lock")
	}
	unlock()
	// Released: it can be taken again at once.
	unlock, err = FileLock{}.Lock(context.Background(), path, func() { t.Error("waiting called after unlock") })
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}

func TestFileLockWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deploy.lock")
	unlock1, err := FileLock{}.Lock(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	waiting, res := lockAsync(context.Background(), path, &calls)

	select {
	case <-waiting:
	case r := <-res:
		t.Fatalf("second Lock returned (%v) while the first holds the lock", r.err)
	case <-time.After(lockWait):
		t.Fatal("second Lock never called waiting")
	}
	// The lock is still held: over several of Lock's polls the second
	// caller must neither get it nor be told again that it waits.
	select {
	case r := <-res:
		t.Fatalf("second Lock returned (%v) while the first holds the lock", r.err)
	case <-time.After(350 * time.Millisecond):
	}
	unlock1()

	select {
	case r := <-res:
		if r.err != nil {
			t.Fatalf("second Lock after unlock: %v", r.err)
		}
		r.unlock()
	case <-time.After(lockWait):
		t.Fatal("second Lock did not get the lock after the first unlocked")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("waiting called %d times, want 1", n)
	}
}

func TestFileLockCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deploy.lock")
	unlock1, err := FileLock{}.Lock(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock1()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	waiting, res := lockAsync(ctx, path, &calls)
	select {
	case <-waiting:
	case <-time.After(lockWait):
		t.Fatal("second Lock never called waiting")
	}
	cancel()
	select {
	case r := <-res:
		if r.err == nil {
			r.unlock()
			t.Fatal("Lock returned the lock after ctx was cancelled while the first still holds it")
		}
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("error %q does not wrap context.Canceled", r.err)
		}
		if !strings.Contains(r.err.Error(), path) {
			t.Errorf("error %q does not name the lock file", r.err)
		}
	case <-time.After(lockWait):
		t.Fatal("Lock did not return after ctx was cancelled")
	}
}

func TestFileLockNilWaiting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deploy.lock")
	unlock1, err := FileLock{}.Lock(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock1()
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	if _, err := (FileLock{}).Lock(ctx, path, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock with a nil waiting on a held lock = %v, want DeadlineExceeded", err)
	}
}

func TestFileLockBadPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "deploy.lock")
	_, err := FileLock{}.Lock(context.Background(), path, nil)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Lock in a missing dir = %v, want an error naming %s", err, path)
	}
}

// TestFileRLock: shared holders do not exclude each other; they exclude
// an exclusive holder, and an exclusive holder excludes them.
func TestFileRLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "images.lock")
	r1, err := FileLock{}.RLock(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := FileLock{}.RLock(t.Context(), path, func() { t.Error("a second shared lock waited") })
	if err != nil {
		t.Fatal(err)
	}
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	if _, err := (FileLock{}).Lock(short(), path, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock while shared holders hold it = %v, want DeadlineExceeded", err)
	}
	r1()
	if _, err := (FileLock{}).Lock(short(), path, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock while one shared holder is left = %v, want DeadlineExceeded", err)
	}
	r2()
	w, err := FileLock{}.Lock(short(), path, nil)
	if err != nil {
		t.Fatalf("Lock after the shared holders left: %v", err)
	}
	if _, err := (FileLock{}).RLock(short(), path, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("RLock while an exclusive holder holds it = %v, want DeadlineExceeded", err)
	}
	w()
}

// TestFileLockTryLock: TryLock takes a free lock, refuses with ErrLocked
// (at once, without waiting) one that another open file holds, shared or
// exclusive, and takes it once that holder lets go.
func TestFileLockTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deploy.lock")
	unlock, err := FileLock{}.TryLock(path)
	if err != nil {
		t.Fatalf("TryLock of a free lock: %v", err)
	}
	unlock()

	for _, held := range []struct {
		name string
		lock func(context.Context, string, func()) (func(), error)
	}{{"exclusive", FileLock{}.Lock}, {"shared", FileLock{}.RLock}} {
		t.Run(held.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "deploy.lock")
			ctx, cancel := context.WithTimeout(t.Context(), lockWait)
			defer cancel()
			release, err := held.lock(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			released := false
			defer func() {
				if !released {
					release()
				}
			}()
			unlock, err := FileLock{}.TryLock(path)
			if !errors.Is(err, ErrLocked) {
				if err == nil {
					unlock()
				}
				t.Fatalf("TryLock of a held lock: %v, want ErrLocked", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the lock file", err)
			}
			release()
			released = true
			unlock, err = FileLock{}.TryLock(path)
			if err != nil {
				t.Fatalf("TryLock after the holder let go: %v", err)
			}
			unlock()
		})
	}
}

// TestFileLockTryLockOpenError: a lock file that cannot be opened is an
// error, not ErrLocked.
func TestFileLockTryLockOpenError(t *testing.T) {
	_, err := FileLock{}.TryLock(filepath.Join(t.TempDir(), "missing", "deploy.lock"))
	if err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("TryLock in a missing dir: %v, want an open error", err)
	}
}
