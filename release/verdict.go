package release

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"syscall"
	"time"

	"github.com/spf13/afero"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/nginx"
	"github.com/gitship/gitship/state"
)

// Inspector is what a Verdict asks about containers (Runtime has it).
type Inspector interface {
	Inspect(ctx context.Context, name string) (container.State, error)
}

// VerdictConfig is what a Verdict looks at.
type VerdictConfig struct {
	// Fs holds the access log.
	Fs afero.Fs
	// Runtime inspects the release's containers.
	Runtime Inspector
	// Log is the app's access log (Deployer.AccessLog).
	Log string
	// Offset is where the log ended just before nginx was pointed at the
	// release (Deployer.AccessLogOffset): what is before it was answered
	// by earlier releases.
	Offset int64
	// Since is when nginx was pointed at the release: the reasons count
	// from it.
	Since time.Time
	// Upstreams are what nginx names for the release's web processes
	// (Deployer.upstreams); nil: its own sockets or ports.
	Upstreams []string
	// Linked says the upstreams are the app's live link (link.go), the
	// same paths for the release switched from: an answer is the
	// release's when nginx began the request at Since or later.
	Linked bool
	// Release is the switched release: its web processes' sockets or
	// ports tell its answers from those of the previous release, still
	// draining; its containers are inspected; its settings give the
	// thresholds (watch_errors, watch_min).
	Release *state.Record
}

// Verdict judges a release after its switch: one Check per tick reads the
// access log lines written since the last one and inspects the release's
// containers. It keeps the counts and the log position between ticks, so
// a Check reads each line once; it holds no open file and no goroutine.
type Verdict struct {
	c         VerdictConfig
	upstreams map[string]bool
	procs     []state.Proc
	pct, min  int

	offset  int64
	file    fileID // the log file read last; a different one was rotated in
	partial []byte // a line nginx has not finished writing

	answers, errors, skipped int
	last                     time.Time // the latest answer counted
}

// NewVerdict starts watching c.Release from c.Offset of its app's access
// log. Nothing is read until the first Check.
func NewVerdict(c VerdictConfig) *Verdict {
	w := &Verdict{c: c, upstreams: map[string]bool{}, procs: procsOf(c.Release), offset: c.Offset,
		pct: c.Release.Settings.EffectiveWatchErrors(), min: c.Release.Settings.EffectiveWatchMin()}
	ups := c.Upstreams
	if ups == nil {
		ups = recordUpstreams(c.Release)
	}
	for _, u := range ups {
		w.upstreams[u] = true
	}
	return w
}

// NewVerdict is NewVerdict for release rec of its app on this server, switched
// at since, from offset of the app's access log.
func (d *Deployer) NewVerdict(rec *state.Record, offset int64, since time.Time) *Verdict {
	return NewVerdict(VerdictConfig{Fs: d.Fs, Runtime: d.Runtime, Log: d.AccessLog(rec.App), Offset: offset, Since: since, Release: rec,
		Upstreams: d.upstreams(rec), Linked: linked(rec)})
}

// VerdictStats are a Verdict's counts so far.
type VerdictStats struct {
	// Answers the release gave, and how many of them were 5xx.
	Answers, Errors int
	// Skipped are lines of the log that were not gitship's format.
	Skipped int
}

// Stats returns the counts so far.
func (w *Verdict) Stats() VerdictStats {
	return VerdictStats{Answers: w.answers, Errors: w.errors, Skipped: w.skipped}
}

// Check reads what was logged since the last Check and inspects the
// release's containers. bad says the release should be switched back,
// and reason says why, with numbers: "web #1 exited with status 2 after
// 5s", "web #1 restarted 3 times (last exit status 2)", "12 of 20
// answers were 5xx (60%) in 8s". An error (the log unreadable, Podman not
// answering) says nothing about the release: the caller may try again at
// the next tick, the counts are kept.
func (w *Verdict) Check(ctx context.Context) (bad bool, reason string, err error) {
	if reason, err := w.containers(ctx); err != nil || reason != "" {
		return reason != "", reason, err
	}
	if err := w.read(); err != nil {
		return false, "", err
	}
	if w.answers < w.min || w.errors*100 <= w.pct*w.answers {
		return false, "", nil
	}
	share := int(math.Round(float64(w.errors) * 100 / float64(w.answers)))
	return true, fmt.Sprintf("%d of %d answers were 5xx (%d%%) in %s", w.errors, w.answers, share, seconds(w.last.Sub(w.c.Since))), nil
}

// containers says what is wrong with the release's containers ("" for
// nothing): one exited, restarted by its policy, killed for memory, or
// gone.
func (w *Verdict) containers(ctx context.Context) (string, error) {
	for _, p := range w.procs {
		st, err := w.c.Runtime.Inspect(ctx, p.Name)
		name := fmt.Sprintf("%s #%d", p.Type, p.Index)
		if errors.Is(err, container.ErrNotFound) {
			return name + " is gone (container " + p.Name + " removed)", nil
		}
		if err != nil {
			return "", fmt.Errorf("watch %s: %w", w.c.Release.Name(), err)
		}
		switch {
		case st.OOMKilled:
			return fmt.Sprintf("%s was killed for its memory limit (out of memory)", name), nil
		case st.Restarts > 0:
			return fmt.Sprintf("%s restarted %d %s (last exit status %d)", name, st.Restarts, plural(int(st.Restarts), "time", "times"), st.ExitCode), nil
		case !st.Running && (st.Status == "exited" || st.Status == "stopped" || st.Status == "dead"):
			r := fmt.Sprintf("%s exited with status %d", name, st.ExitCode)
			if !st.StartedAt.IsZero() && st.FinishedAt.After(st.StartedAt) {
				r += " after " + seconds(st.FinishedAt.Sub(st.StartedAt))
			}
			return r, nil
		case st.Status == "restarting":
			return fmt.Sprintf("%s is restarting (last exit status %d)", name, st.ExitCode), nil
		}
	}
	return "", nil
}

// readChunk is how much of the log one read takes.
const readChunk = 64 << 10

// read counts the lines logged since the last read. A log shorter than
// where the last read ended was truncated (copytruncate), one with another
// inode was rotated (rename, then nginx -s reopen): both are read from
// their start.
func (w *Verdict) read() error {
	f, err := w.c.Fs.Open(w.c.Log)
	if errors.Is(err, fs.ErrNotExist) {
		// moved away, nginx not reopened yet: nothing to read
		w.offset, w.file, w.partial = 0, fileID{}, nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.c.Release.Name(), err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.c.Release.Name(), err)
	}
	id := idOf(fi)
	if fi.Size() < w.offset || (w.file.known && id.known && id != w.file) {
		w.offset, w.partial = 0, nil
	}
	w.file = id
	if _, err := f.Seek(w.offset, io.SeekStart); err != nil {
		return fmt.Errorf("watch %s: %w", w.c.Release.Name(), err)
	}
	buf := make([]byte, readChunk)
	for {
		n, err := f.Read(buf)
		w.offset += int64(n)
		w.take(buf[:n])
		if errors.Is(err, io.EOF) || n == 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("watch %s: %w", w.c.Release.Name(), err)
		}
	}
}

// maxLine bounds a line kept while nginx finishes writing it: nginx writes
// a line at once, so a longer one is no line of gitship's format.
const maxLine = 64 << 10

// take counts the complete lines of data, keeping an unfinished one for
// the next read.
func (w *Verdict) take(data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			w.partial = append(w.partial, data...)
			if len(w.partial) > maxLine {
				w.skipped++
				w.partial = nil
			}
			return
		}
		line := data[:i]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = nil
		}
		w.count(string(line))
		data = data[i+1:]
	}
}

// count counts one line if the release answered it.
func (w *Verdict) count(line string) {
	a, err := nginx.ParseAnswer(line)
	if err != nil {
		w.skipped++
		return
	}
	if !w.upstreams[a.Upstream] {
		return // the previous release, still draining, or no upstream
	}
	if w.c.Linked && a.Started.Before(w.c.Since) {
		return // begun before the link named the release: either one
	}
	w.answers++
	if a.Status >= 500 && a.Status <= 599 {
		w.errors++
	}
	if a.Time.After(w.last) {
		w.last = a.Time
	}
}

// fileID tells a file from another at the same path (zero: unknown, e.g.
// on a memory file system).
type fileID struct {
	known    bool
	dev, ino uint64
}

func idOf(fi fs.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{known: true, dev: uint64(st.Dev), ino: st.Ino}
	}
	return fileID{}
}

// seconds shows d for a reason: whole seconds from 10s, tenths below,
// never negative.
func seconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d >= 10*time.Second {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}
