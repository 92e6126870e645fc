package nginx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	crossplane "github.com/nginxinc/nginx-go-crossplane"
	"github.com/spf13/afero"
)

// Without nginx's pid file gitship cannot see the workers a reload
// replaces, and a switch under load loses requests to them (see
// workers.go). So the pid file is found the way nginx finds it: the
// main config's pid directive, else the path compiled in (nginx -V), a
// relative path taken from the prefix. PidFile, when set, wins.

// pidPath returns where nginx writes its master's pid.
func (m *Manager) pidPath(ctx context.Context) (string, error) {
	if m.PidFile != "" {
		return m.PidFile, nil
	}
	m.mu.Lock()
	cached := m.pidFound
	m.mu.Unlock()
	if cached != "" {
		return cached, nil
	}
	p, err := m.findPidPath(ctx)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	m.pidFound = p
	m.mu.Unlock()
	return p, nil
}

func (m *Manager) findPidPath(ctx context.Context) (string, error) {
	if m.Conf == "" {
		return "", errors.New("no main config to read the pid directive from (set [nginx] conf or pid)")
	}
	p, err := m.pidDirective()
	if err != nil {
		return "", err
	}
	var compiled build
	if p == "" || !filepath.IsAbs(p) && m.Prefix == "" {
		if compiled, err = m.compiled(ctx); err != nil {
			return "", err
		}
	}
	if p == "" {
		p = compiled.pidPath
	}
	if filepath.IsAbs(p) {
		return p, nil
	}
	prefix := m.Prefix
	if prefix == "" {
		prefix = compiled.prefix
	}
	return filepath.Join(prefix, p), nil
}

// parseMain parses the main config and the files it includes, read
// through m.Fs, without judging directives' contexts or arguments (nginx
// -t does that): combined into one config, or one entry per file.
func (m *Manager) parseMain(combine bool) (*crossplane.Payload, error) {
	return crossplane.Parse(m.Conf, &crossplane.ParseOptions{
		CombineConfigs:            combine,
		SkipDirectiveContextCheck: true,
		SkipDirectiveArgsCheck:    true,
		Open: func(path string) (io.Reader, error) {
			b, err := afero.ReadFile(m.Fs, path)
			return bytes.NewReader(b), err
		},
		Glob: func(pattern string) ([]string, error) { return afero.Glob(m.Fs, pattern) },
	})
}

// pidDirective returns the argument of the main config's pid directive
// ("" without one). Includes are followed: a main-context include may
// hold it.
func (m *Manager) pidDirective() (string, error) {
	payload, err := m.parseMain(true)
	if err != nil {
		return "", fmt.Errorf("read the pid directive of %s: %w", m.Conf, err)
	}
	if len(payload.Config) == 0 {
		return "", fmt.Errorf("read the pid directive of %s: nothing parsed", m.Conf)
	}
	for _, d := range payload.Config[0].Parsed {
		if d.Directive == "pid" && len(d.Args) == 1 {
			return d.Args[0], nil
		}
	}
	return "", nil
}

// build is what nginx -V says about the paths compiled in.
type build struct {
	prefix  string
	pidPath string
}

// compiled runs nginx -V. nginx's own defaults apply to what its
// configure arguments leave out: prefix /usr/local/nginx/, pid
// logs/nginx.pid.
func (m *Manager) compiled(ctx context.Context) (build, error) {
	argv := []string{m.baseArgv()[0], "-V"}
	out, err := m.run(ctx, argv)
	if err != nil {
		return build{}, fmt.Errorf("run nginx -V: %w", err)
	}
	b := build{prefix: "/usr/local/nginx/", pidPath: "logs/nginx.pid"}
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "--prefix="); ok {
			b.prefix = v
		}
		if v, ok := strings.CutPrefix(f, "--pid-path="); ok {
			b.pidPath = v
		}
	}
	return b, nil
}

// master returns the pid of nginx's master: the pid file must name a
// running process whose title is nginx's master's.
func (m *Manager) master(ctx context.Context) (int, error) {
	path, err := m.pidPath(ctx)
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read nginx's pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("nginx's pid file %s holds no pid", path)
	}
	cmd, err := os.ReadFile(filepath.Join(m.procDir(), strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return 0, fmt.Errorf("process %d of nginx's pid file %s is not running", pid, path)
	}
	if !bytes.Contains(cmd, []byte("nginx: master process")) {
		return 0, fmt.Errorf("process %d of nginx's pid file %s is not nginx's master", pid, path)
	}
	return pid, nil
}
