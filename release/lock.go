package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Locker serialises deploys of one app. Lock blocks until the lock is
// held or ctx ends; waiting is called once if the lock is busy. RLock is
// the shared form: any number of RLock holders, or one Lock holder.
type Locker interface {
	Lock(ctx context.Context, path string, waiting func()) (unlock func(), err error)
	RLock(ctx context.Context, path string, waiting func()) (unlock func(), err error)
}

// FileLock is a Locker on flock(2): the kernel drops the lock when the
// holder dies, so a killed deploy never leaves a stale lock behind. Go
// opens files close-on-exec, so no child inherits the descriptor.
type FileLock struct{}

// Lock takes an exclusive flock on path, polling so ctx can cancel it.
func (FileLock) Lock(ctx context.Context, path string, waiting func()) (func(), error) {
	return flock(ctx, path, syscall.LOCK_EX, waiting)
}

// RLock takes a shared flock on path.
func (FileLock) RLock(ctx context.Context, path string, waiting func()) (func(), error) {
	return flock(ctx, path, syscall.LOCK_SH, waiting)
}

func flock(ctx context.Context, path string, how int, waiting func()) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
