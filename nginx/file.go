package nginx

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/spf13/afero"
)

// Temp files of Install are ".gitship-APP-RANDOM.tmp": hidden and not
// ending in .conf, so nginx's `include DIR/*.conf` never reads a
// half-written file, and CleanTemp can find them after a kill.
const (
	tempPrefix = ".gitship-"
	tempSuffix = ".tmp"
)

// writeAtomic writes data to a temp file in ConfDir and renames it over
// target, so nginx sees either the old file or the whole new one.
func (m *Manager) writeAtomic(app, target string, data []byte, perm fs.FileMode) error {
	f, err := afero.TempFile(m.Fs, m.ConfDir, tempPrefix+app+"-*"+tempSuffix)
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	tmp := f.Name()
	if err := m.fillTemp(f, data, perm); err != nil {
		return m.dropTemp(tmp, err)
	}
	if err := m.Fs.Rename(tmp, target); err != nil {
		return m.dropTemp(tmp, fmt.Errorf("rename %s: %w", filepath.Base(tmp), err))
	}
	return nil
}

// fillTemp writes, syncs, closes and chmods a fresh temp file.
func (m *Manager) fillTemp(f afero.File, data []byte, perm fs.FileMode) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(f.Name()), err)
	}
	if err := m.Fs.Chmod(f.Name(), perm); err != nil {
		return fmt.Errorf("chmod %s: %w", filepath.Base(f.Name()), err)
	}
	return nil
}

// dropTemp removes a temp file after cause, keeping both errors.
func (m *Manager) dropTemp(tmp string, cause error) error {
	if err := m.Fs.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errors.Join(cause, err)
	}
	return cause
}

// CleanTemp removes leftover temp files of Install in ConfDir (from a
// killed process); returns the names removed. Call it only while no Install
// runs (at startup or under the deploy lock): it would remove a live one's
// temp file.
func (m *Manager) CleanTemp() ([]string, error) {
	entries, err := afero.ReadDir(m.Fs, m.ConfDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("clean temp files in %s: %w", m.ConfDir, err)
	}
	var removed []string
	for _, e := range entries {
		if e.IsDir() || !isTemp(e.Name()) {
			continue
		}
		if err := m.Fs.Remove(filepath.Join(m.ConfDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("clean temp file %s: %w", e.Name(), err)
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}

func isTemp(name string) bool {
	return strings.HasPrefix(name, tempPrefix) && strings.HasSuffix(name, tempSuffix)
}
