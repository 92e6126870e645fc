package release

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Probe is one health check: an HTTP GET of Path over the unix socket at
// Socket, with Host as the Host header.
type Probe struct {
	Socket string
	Host   string
	Path   string
}

// String describes the probe for the pusher.
func (p Probe) String() string {
	return fmt.Sprintf("GET http://%s%s over unix:%s", p.Host, p.Path, p.Socket)
}

// Answer is what the probe got last.
type Answer struct {
	Status int
	Err    error
}

// String describes the answer for the pusher.
func (a Answer) String() string {
	if a.Err != nil {
		return a.Err.Error()
	}
	if a.Status == 0 {
		return "no answer yet"
	}
	return fmt.Sprintf("HTTP %d", a.Status)
}

// Healthy is an answer below 500.
func (a Answer) Healthy() bool { return a.Err == nil && a.Status > 0 && a.Status < 500 }

// Check runs the probe once.
func (p Probe) Check(ctx context.Context) Answer {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", p.Socket)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Host+p.Path, nil)
	if err != nil {
		return Answer{Err: err}
	}
	req.Header.Set("User-Agent", "gitship-health")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return Answer{Err: shortNetErr(err)}
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return Answer{Status: resp.StatusCode, Err: fmt.Errorf("read body: %w", err)}
	}
	return Answer{Status: resp.StatusCode}
}

// shortNetErr drops the URL noise of net/http errors: what is left says
// whether the socket is missing or refused.
func shortNetErr(err error) error {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.Contains(s, "dial unix") {
		return fmt.Errorf("socket: %s", s[i+2:])
	}
	return err
}

// logLines is how many of the app's log lines a failed health check shows.
const logLines = 50

// health probes the new release over its socket until it answers, and
// shows the app's last log lines when it does not.
func (r *run) health(ctx context.Context) error {
	set := r.rec.Settings
	path, timeout := set.EffectiveHealthPath(), healthTimeout(r.rec)
	pr := Probe{Socket: r.rec.Socket, Host: r.host(), Path: path}
	done := r.p.Step("")
	last, err := r.poll(ctx, pr, timeout)
	if err != nil {
		r.p.Fail("Health check failed: %s", pr)
		r.p.Fail("Last answer: %s", last)
		r.showLogs(ctx)
		return err
	}
	done(fmt.Sprintf("Healthy: %s answered %s", path, last))
	return nil
}

// poll probes until a healthy answer, the timeout, or the container exits.
func (r *run) poll(ctx context.Context, pr Probe, timeout time.Duration) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last Answer
	// Most apps answer within a few ms of start: poll fast first.
	delay := 5 * time.Millisecond
	for i := 0; ; i++ {
		a := pr.Check(ctx)
		if a.Healthy() {
			return a, nil
		}
		// A probe cut short by the deadline says nothing about the app:
		// keep the answer before it for the pusher.
		if ctx.Err() == nil || last.Status == 0 && last.Err == nil {
			last = a
		}
		if i%3 == 2 {
			if err := r.crashed(ctx); err != nil {
				return last, err
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("%s did not answer %s within %s (last answer: %s)", r.rec.Container, pr.Path, timeout, last)
		case <-time.After(delay):
		}
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// crashed reports a container that exited, or was restarted by its
// restart policy, before it ever answered: waiting longer is pointless.
func (r *run) crashed(ctx context.Context) error {
	st, err := r.d.Runtime.Inspect(ctx, r.rec.Container)
	if err != nil {
		return nil // the probe's own timeout still bounds the wait
	}
	if !st.Running && st.Status == "exited" {
		return fmt.Errorf("%s exited with status %d before it answered", r.rec.Container, st.ExitCode)
	}
	if st.Restarts > 0 {
		return fmt.Errorf("%s exited before it answered (restarted %d times)", r.rec.Container, st.Restarts)
	}
	return nil
}

func (r *run) showLogs(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	lines, err := r.d.Runtime.Logs(cctx, r.rec.Container, logLines)
	if err != nil {
		r.p.Fail("Could not read the app's logs: %v", err)
		return
	}
	r.p.Fail("Last %d log lines of %s:", len(lines), r.rec.Container)
	for _, l := range lines {
		r.p.Info("%s", l)
	}
}
