package release

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// pushLogLimit bounds what is kept of one release's push output.
const pushLogLimit = 1 << 20

// LogStreamer streams a container's output.
type LogStreamer interface {
	Follow(ctx context.Context, name string, n int, follow bool, w io.Writer) error
}

// Logs writes the output of app's container: the live release's, or
// release ("v3") if given; the last n lines (n < 0: all), then with
// follow all that comes until ctx ends. For a release with target=kube,
// its pods' output (kubeLogs).
func (d *Deployer) Logs(ctx context.Context, app, release string, n int, follow bool, w io.Writer) error {
	rec, err := d.pick(app, release)
	if err != nil {
		return err
	}
	if IsKube(rec) {
		return d.kubeLogs(ctx, rec, release != "", n, follow, w)
	}
	if rec.Container == "" {
		return fmt.Errorf("%s %s never had a container", app, rec.Name())
	}
	if kept, err := afero.ReadFile(d.Fs, d.outputPath(app, rec.Version)); err == nil {
		// A failed release's container is gone; its output was kept.
		_, err := io.WriteString(w, lastLines(string(kept), n))
		return err
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("kept output of %s %s: %w", app, rec.Name(), err)
	}
	return d.LogStream.Follow(ctx, rec.Container, n, follow, w)
}

// Bounds of what is kept of a failed release's container output.
const (
	outputLines = 1000
	outputLimit = 1 << 20
)

// outputPath is where the output of release v's container is kept when
// the container is removed (a failed release).
func (d *Deployer) outputPath(app string, v int) string {
	return filepath.Join(d.appDir(app), "releases", fmt.Sprintf("v%d.output", v))
}

// keepOutput keeps the last outputLines lines (outputLimit bytes at most)
// of rec's container output beside its record.
func (d *Deployer) keepOutput(ctx context.Context, app string, rec *state.Record) error {
	lines, err := d.Runtime.Logs(ctx, rec.Container, outputLines)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.TrimRight(l, "\n"))
		b.WriteByte('\n')
	}
	out := b.String()
	if len(out) > outputLimit {
		out = out[len(out)-outputLimit:]
		if i := strings.IndexByte(out, '\n'); i >= 0 {
			out = out[i+1:]
		}
	}
	return state.WriteAtomic(d.Fs, d.outputPath(app, rec.Version), []byte(out), 0o600)
}

// lastLines is the last n lines of s (all for n < 0).
func lastLines(s string, n int) string {
	if n < 0 || s == "" {
		return s
	}
	if n == 0 {
		return ""
	}
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "") + "\n"
}

// BuildLog writes the kept push output (the build's included) of release
// of app, secrets masked as the pusher saw them.
func (d *Deployer) BuildLog(app, release string, w io.Writer) error {
	rec, err := d.pick(app, release)
	if err != nil {
		return err
	}
	f, err := d.Fs.Open(d.pushLogPath(app, rec.Version))
	if os.IsNotExist(err) {
		return fmt.Errorf("no build log kept for %s %s", app, rec.Name())
	}
	if err != nil {
		return fmt.Errorf("build log of %s %s: %w", app, rec.Name(), err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("build log of %s %s: %w", app, rec.Name(), err)
	}
	return nil
}

// pick is release vN of app, or the live one for "".
func (d *Deployer) pick(app, release string) (*state.Record, error) {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return nil, err
	}
	if release == "" {
		live, err := d.Store().Live(app)
		if err != nil {
			return nil, err
		}
		if live == nil {
			return nil, fmt.Errorf("%s has no live release: name one with --release vN", app)
		}
		return live, nil
	}
	v, err := strconv.Atoi(strings.TrimPrefix(release, "v"))
	if err != nil || !strings.HasPrefix(release, "v") || v <= 0 {
		return nil, fmt.Errorf("invalid release %q: use vN, e.g. v3", release)
	}
	rec, err := d.Store().Get(app, v)
	if err != nil {
		return nil, fmt.Errorf("%s has no release %s", app, release)
	}
	return rec, nil
}

func (d *Deployer) pushLogPath(app string, v int) string {
	return filepath.Join(d.appDir(app), "releases", fmt.Sprintf("v%d.log", v))
}

// pushLog keeps what the pusher sees of one release (already masked by
// Progress), up to pushLogLimit; a failure to keep it never touches the
// push output.
type pushLog struct {
	fs   afero.Fs
	path string
	size int64
}

func (l *pushLog) Write(b []byte) (int, error) {
	if l.size >= pushLogLimit {
		return len(b), nil
	}
	f, err := l.fs.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return len(b), nil
	}
	n, _ := f.Write(b)
	l.size += int64(n)
	f.Close()
	return len(b), nil
}

// tee writes to the pusher and, best effort, to the kept log. A pusher
// that went away (Ctrl-C, a lost connection: the write fails) is written
// to no more, but the kept log goes on to the end: a tee never fails.
// Progress serialises its writes.
type tee struct {
	out    io.Writer
	outErr error // the first failed write to out
	log    *pushLog
}

func (t *tee) Write(b []byte) (int, error) {
	t.log.Write(b)
	if t.outErr == nil {
		if _, err := t.out.Write(b); err != nil {
			t.outErr = err
		}
	}
	return len(b), nil
}
