package release

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Progress writes the push output: `-----> ` step lines with durations,
// sub-output indented 7 spaces, errors starting `!     `. A failed write
// (the pusher hung up) never aborts a deploy: the first one is remembered
// and later writes are dropped.
type Progress struct {
	W   io.Writer
	Now func() time.Time
	// Secrets are replaced by *** in everything written: the values of
	// the app's environment of 6 characters or more and, for a multi-line
	// value, each of its lines that is (see hide).
	Secrets []string

	mu  sync.Mutex
	err error
}

// NewProgress returns a Progress writing to w with the real clock.
func NewProgress(w io.Writer) *Progress { return &Progress{W: w, Now: time.Now} }

func (p *Progress) writeLine(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return
	}
	for _, sec := range p.Secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	if _, err := io.WriteString(p.W, s+"\n"); err != nil {
		p.err = err
	}
}

// Err is the first write error, if any.
func (p *Progress) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Say prints a step line now, without a duration.
func (p *Progress) Say(format string, args ...any) {
	p.writeLine("-----> " + fmt.Sprintf(format, args...))
}

// Info prints an indented line.
func (p *Progress) Info(format string, args ...any) {
	p.writeLine("       " + fmt.Sprintf(format, args...))
}

// Fail prints an error line.
func (p *Progress) Fail(format string, args ...any) {
	for _, l := range strings.Split(fmt.Sprintf(format, args...), "\n") {
		p.writeLine("!     " + l)
	}
}

// Step starts a timed step; the returned func prints `-----> msg (1.2s)`
// with the message given to it (or the one given here when empty).
func (p *Progress) Step(msg string) func(done string) {
	start := p.Now()
	return func(done string) {
		if done == "" {
			done = msg
		}
		p.writeLine(fmt.Sprintf("-----> %s (%.1fs)", done, p.Now().Sub(start).Seconds()))
	}
}

// Every prints line(elapsed) as an indented line every interval until
// the returned stop is called: a wait of more than a few seconds (a copy
// of the data dir, a drain) is never silent. stop waits for a line being
// written, so nothing is printed after it returns.
func (p *Progress) Every(every time.Duration, line func(elapsed time.Duration) string) (stop func()) {
	start := time.Now()
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				p.Info("%s", line(now.Sub(start).Round(time.Second)))
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done); <-exited })
	}
}

// Indent returns a writer that prefixes every line with 7 spaces. Chunks
// need not be line-aligned (Podman's build stream is not); call the
// returned flush to print a last line without a newline.
func (p *Progress) Indent() (io.Writer, func()) {
	iw := &indenter{p: p}
	return iw, iw.flush
}

type indenter struct {
	p   *Progress
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *indenter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		line := string(w.buf.Next(i + 1))
		w.p.writeLine("       " + strings.TrimRight(line, "\r\n"))
	}
	return len(b), nil
}

func (w *indenter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.p.writeLine("       " + strings.TrimRight(w.buf.String(), "\r\n"))
		w.buf.Reset()
	}
}

// minSecret is the shortest value (or line of a multi-line value) masked:
// shorter ones ("1", "true", "prod", a PEM's last "Zm9v=") would blank out
// ordinary words of the output.
const minSecret = 6

// hide makes p mask the values of env. A multi-line value (a PEM key, a
// JSON credential) is masked whole and line by line, since its lines reach
// the output one output line each (build output is split into lines, a
// shell's echo $KEY joins them with spaces). A line counts when, without
// its surrounding white space, it has minSecret characters or more and a
// letter or digit: blank lines, short tails and separators ("-----",
// "}") would otherwise mask common text everywhere, even the step
// prefix "-----> ".
func (p *Progress) hide(env map[string]string) {
	add := func(s string) {
		if len(s) >= minSecret && !slices.Contains(p.Secrets, s) {
			p.Secrets = append(p.Secrets, s)
		}
	}
	for _, v := range env {
		add(v)
		if !strings.ContainsAny(v, "\r\n") {
			continue
		}
		for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if l = strings.TrimSpace(l); strings.IndexFunc(l, isAlnum) >= 0 {
				add(l)
			}
		}
	}
	// Longest first, so a secret containing another is masked whole.
	slices.SortFunc(p.Secrets, func(a, b string) int { return len(b) - len(a) })
}

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
