package nginx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"

	"github.com/spf13/afero"
)

// Manager installs per-app files and drives the nginx binary.
type Manager struct {
	// Fs holds ConfDir: afero.NewOsFs() in production.
	Fs afero.Fs
	// ConfDir is the directory of per-app files.
	ConfDir string
	// Binary is the nginx binary; "" means "nginx" from $PATH.
	Binary string
	// Conf is the main config file (for -t); "" omits -c.
	Conf string
	// Prefix, when non-empty, is passed as -p Prefix to every nginx
	// invocation (test and default reload).
	Prefix string
	// Reload is the argv to reload nginx; if empty:
	// Binary [-p Prefix] -c Conf -s reload.
	Reload []string
	// PidFile is nginx's pid file; "" means the one the main config's
	// pid directive names (or nginx's compiled default). A reload waits
	// until the workers started before it stop accepting connections
	// (workers.go, pid.go).
	PidFile string
	// ProcDir is where process information is read; "" means /proc.
	ProcDir string
	// BeforeReload, when set, runs between installing a file and the
	// reload (the tests pause there to kill a deploy at that moment).
	BeforeReload func()
	// Run runs a command and returns its combined output;
	// nil means exec.CommandContext(...).CombinedOutput().
	Run func(ctx context.Context, argv []string) ([]byte, error)

	mu      sync.Mutex
	lastOld []int // workers from before the last reload, for Drain
	// unwatched is why the last reload could not see nginx's master.
	unwatched error
	pidFound  string // the pid file found from the main config
}

// Unwatched returns why the last reload could not find nginx's master
// and its workers (nil when it could): the old workers' drain is then not
// confirmed, and a switch under load may lose requests to them.
func (m *Manager) Unwatched() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.unwatched
}

// previous is what ConfDir/APP.conf held before a change, kept to undo it.
type previous struct {
	data []byte
	perm fs.FileMode
}

// defaultPerm is the mode of a new per-app file: nginx's master reads it as
// root, but operators should be able to read it without sudo.
const defaultPerm fs.FileMode = 0o644

// Install puts content in place as ConfDir/APP.conf and reloads nginx. It
// returns once nginx was told, before its old workers stopped taking new
// connections: Settle waits for that, so the caller can do other work in
// those 100 ms.
//
// Unchanged bytes are a no-op (changed=false, no nginx call). Otherwise the
// file is swapped in atomically through a temp file the include glob cannot
// match, and `nginx -t` decides: on rejection the previous file is restored
// (or the new one removed) and a *RejectedError is returned without
// reloading. A failed reload returns changed=true: the file is valid and in
// place, only nginx has not picked it up yet.
func (m *Manager) Install(ctx context.Context, app string, content []byte) (changed bool, err error) {
	return m.InstallSwitch(ctx, app, content, nil)
}

// InstallSwitch is Install with sw called once nginx accepted content and
// before it is told: the moment a switch made outside the file (a symlink
// the upstreams name) takes effect. With unchanged bytes sw is all that
// happens. When sw fails, the previous file is put back and nginx is not
// reloaded.
func (m *Manager) InstallSwitch(ctx context.Context, app string, content []byte, sw func() error) (changed bool, err error) {
	if err := validApp(app); err != nil {
		return false, fmt.Errorf("install %s: %w", app, err)
	}
	name, target := m.paths(app)
	prev, err := m.readPrevious(target)
	if err != nil {
		return false, fmt.Errorf("install %s: %w", name, err)
	}
	if prev != nil && bytes.Equal(prev.data, content) {
		if sw != nil {
			if err := sw(); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("install %s: %w", name, err)
	}
	if err := m.Fs.MkdirAll(m.ConfDir, 0o755); err != nil {
		return false, fmt.Errorf("install %s: %w", name, err)
	}
	perm := defaultPerm
	if prev != nil {
		perm = prev.perm
	}
	if err := m.writeAtomic(app, target, content, perm); err != nil {
		return false, fmt.Errorf("install %s: %w", name, err)
	}
	if err := m.test(ctx, name); err != nil {
		return false, m.undo(app, target, prev, opError("install", name, err))
	}
	if sw != nil {
		if err := sw(); err != nil {
			return false, m.undo(app, target, prev, err)
		}
	}
	if err := m.reload(ctx); err != nil {
		return true, fmt.Errorf("install %s: %w", name, err)
	}
	return true, nil
}

// Remove deletes ConfDir/APP.conf (missing is fine), tests and reloads.
// It reloads even when the file was already gone, so a retry after a failed
// reload still takes the app out of nginx. If nginx -t rejects the config
// without the file, the file is put back.
func (m *Manager) Remove(ctx context.Context, app string) error {
	if err := validApp(app); err != nil {
		return fmt.Errorf("remove %s: %w", app, err)
	}
	name, target := m.paths(app)
	prev, err := m.readPrevious(target)
	if err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if prev != nil {
		if err := m.Fs.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", name, err)
		}
	}
	if err := m.test(ctx, name); err != nil {
		return m.undo(app, target, prev, opError("remove", name, err))
	}
	if err := m.reload(ctx); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := m.Settle(ctx); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// Check runs nginx -t against the main config and returns its error as one
// line (a *RejectedError when nginx reported one). A config nginx accepts
// with a "conflicting server name" warning is a *ConflictError: one of
// the two blocks is never served.
func (m *Manager) Check(ctx context.Context) error {
	out, err := m.testOutput(ctx, "")
	if err != nil {
		return opError("check", "nginx", err)
	}
	if l := conflictLine(out); l != "" {
		return &ConflictError{Line: l}
	}
	return nil
}

// paths returns the per-app file's base name and full path.
func (m *Manager) paths(app string) (name, target string) {
	name = app + ".conf"
	return name, filepath.Join(m.ConfDir, name)
}

// readPrevious returns the current content of target, or nil if there is
// no such file.
func (m *Manager) readPrevious(target string) (*previous, error) {
	info, err := m.Fs.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	data, err := afero.ReadFile(m.Fs, target)
	if err != nil {
		return nil, err
	}
	return &previous{data: data, perm: info.Mode().Perm()}, nil
}

// undo puts back what target held before (or removes it if it did not
// exist) after nginx -t failed with cause. A failed undo is reported next
// to cause, because the config on disk is then the rejected one.
func (m *Manager) undo(app, target string, prev *previous, cause error) error {
	var err error
	if prev == nil {
		err = m.Fs.Remove(target)
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	} else {
		err = m.writeAtomic(app, target, prev.data, prev.perm)
	}
	if err != nil {
		return fmt.Errorf("%w; restore %s: %w", cause, filepath.Base(target), err)
	}
	return cause
}

// opError prefixes err with the operation unless it is a *RejectedError,
// which already names the file and reads best as nginx's own line.
func opError(op, name string, err error) error {
	var rej *RejectedError
	if errors.As(err, &rej) {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}
