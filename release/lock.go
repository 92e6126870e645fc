package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// ErrLocked is TryLock's answer when another holder has the lock.
var ErrLocked = errors.New("locked")

// Locker serialises deploys of one app. Lock blocks until the lock is
// held or ctx ends; waiting is called once if the lock is busy. RLock is
// the shared form: any number of RLock holders, or one Lock holder.
// TryLock takes the exclusive lock only if it is free at once, and
// returns an error wrapping ErrLocked otherwise.
type Locker interface {
	Lock(ctx context.Context, path string, waiting func()) (unlock func(), err error)
	RLock(ctx context.Context, path string, waiting func()) (unlock func(), err error)
	TryLock(path string) (unlock func(), err error)
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

// TryLock takes an exclusive flock on path if no one holds it, without
// waiting: an error wrapping ErrLocked says someone does.
func (FileLock) TryLock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
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
