package nginx

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	crossplane "github.com/nginxinc/nginx-go-crossplane"
)

// Master returns the pid of nginx's master process as a reload finds it
// (the pid file named by [nginx] pid, the main config's pid directive or
// nginx's compiled default) and the pid file it read.
func (m *Manager) Master(ctx context.Context) (pid int, pidFile string, err error) {
	pidFile, err = m.pidPath(ctx)
	if err != nil {
		return 0, "", err
	}
	pid, err = m.master(ctx)
	return pid, pidFile, err
}

// ErrNoInclude is returned by ConfDirInclude when no include directive
// of the main config (or of a file it includes) picks up ConfDir's files.
var ErrNoInclude = errors.New("no include of the per-app files")

// ConfDirInclude returns where (FILE:LINE) the main config, or a file it
// includes, includes ConfDir's *.conf: without that include nginx never
// serves what gitship installs there. A relative include is taken from
// the main config's directory, as nginx does.
func (m *Manager) ConfDirInclude() (string, error) {
	if m.Conf == "" {
		return "", errors.New("no main config to read (set [nginx] conf)")
	}
	payload, err := m.parseMain(false)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", m.Conf, err)
	}
	base := filepath.Dir(m.Conf)
	for _, f := range payload.Config {
		if at := findInclude(f.Parsed, base, filepath.Clean(m.ConfDir)); at > 0 {
			return fmt.Sprintf("%s:%d", f.File, at), nil
		}
	}
	if len(payload.Errors) > 0 {
		return "", fmt.Errorf("%w of %s in %s (which nginx could not parse whole: %v)", ErrNoInclude, m.ConfDir, m.Conf, payload.Errors[0].Error)
	}
	return "", fmt.Errorf("%w of %s in %s", ErrNoInclude, m.ConfDir, m.Conf)
}

// findInclude returns the line of the first include in ds (at any depth)
// whose pattern picks up dir/APP.conf, 0 if none does.
func findInclude(ds crossplane.Directives, base, dir string) int {
	for _, d := range ds {
		if d.Directive == "include" && len(d.Args) == 1 {
			pattern := d.Args[0]
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(base, pattern)
			}
			if filepath.Dir(pattern) == dir {
				if ok, err := filepath.Match(filepath.Base(pattern), "app.conf"); err == nil && ok {
					return d.Line
				}
			}
		}
		if at := findInclude(d.Block, base, dir); at > 0 {
			return at
		}
	}
	return 0
}
