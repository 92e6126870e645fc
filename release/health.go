package release

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// Probe is one health check: an HTTP GET of Path over the unix socket at
// Socket, or when Socket is empty over TCP to Addr (host:port), with Host
// as the Host header.
type Probe struct {
	Socket string
	Addr   string
	Host   string
	Path   string
}

// String describes the probe for the pusher.
func (p Probe) String() string {
	if p.Socket == "" {
		return fmt.Sprintf("GET http://%s%s over %s", p.Host, p.Path, p.Addr)
	}
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
			if p.Socket == "" {
				return d.DialContext(ctx, "tcp", p.Addr)
			}
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

// progressEvery is how often a wait (a health check, a copy of the data
// dir, a drain) says that it still waits.
const progressEvery = 5 * time.Second

func (d *Deployer) progressEvery() time.Duration {
	if d.healthEvery > 0 {
		return d.healthEvery
	}
	return progressEvery
}

// health probes every web container of the new release, on its socket
// and on its published port alike, until each answers on one of them;
// shows the app's last log lines and what it listens on when one does
// not. It records what they answered on (all must agree).
func (r *run) health(ctx context.Context) error {
	set := r.rec.Settings
	path, timeout := set.EffectiveHealthPath(), healthTimeout(r.rec)
	done := r.p.Step("")
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var last Answer
	listen := ""
	procs := webProcsOf(r.rec)
	for _, p := range procs {
		probes := r.probes(p, path)
		got, a, err := r.poll(ctx, p, probes, start, timeout)
		last = a
		if err != nil {
			for _, pr := range probes {
				r.p.Fail("Health check failed: %s", pr)
			}
			r.p.Fail("Last answer: %s", a)
			r.showLogs(context.WithoutCancel(ctx), p.Name)
			if a.Status == 0 {
				if hint := r.listenHint(context.WithoutCancel(ctx), p); hint != "" {
					r.p.Fail("%s", hint)
					err = fmt.Errorf("%w: %s", err, hint)
				}
			}
			return err
		}
		if listen == "" {
			listen = got
		} else if got != listen {
			return fmt.Errorf("%s answered on its %s but %s on its %s: every web container must listen on the same", procs[0].Name, listenWhat(listen), p.Name, listenWhat(got))
		}
	}
	r.rec.Listen = listen
	if err := r.d.Store().Save(r.rec); err != nil {
		return err
	}
	on := ""
	if listen == state.ListenPort {
		on = " on " + listenWhat(listen)
	}
	done(fmt.Sprintf("Healthy: %s answered %s%s", path, last, on))
	return nil
}

// listenWhat names what a release listens on for the pusher.
func listenWhat(listen string) string {
	if listen == state.ListenPort {
		return fmt.Sprintf("$PORT (%d)", WebPort)
	}
	return "$GITSHIP_SOCKET"
}

// probes are the checks of web container p: its socket, and its
// published port when it has one.
func (r *run) probes(p state.Proc, path string) []Probe {
	out := []Probe{{Socket: p.Socket, Host: r.host(), Path: path}}
	if p.Port != 0 {
		out = append(out, Probe{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)), Host: r.host(), Path: path})
	}
	return out
}

// poll probes p's socket and port in turn until one answers healthy
// (returning state.ListenSocket or ListenPort), ctx's deadline, or the
// container exits. Every healthEvery it tells the pusher it still waits.
func (r *run) poll(ctx context.Context, p state.Proc, probes []Probe, start time.Time, timeout time.Duration) (string, Answer, error) {
	lasts := make([]Answer, len(probes))
	// Most apps answer within a few ms of start: poll fast first.
	delay := 5 * time.Millisecond
	every := r.d.progressEvery()
	next := start.Add(every)
	for i := 0; ; i++ {
		for j, pr := range probes {
			a := pr.Check(ctx)
			if a.Healthy() {
				if j == 0 {
					return state.ListenSocket, a, nil
				}
				return state.ListenPort, a, nil
			}
			// A probe cut short by the deadline says nothing about the
			// app: keep the answer before it for the pusher.
			if ctx.Err() == nil || lasts[j].Status == 0 && lasts[j].Err == nil {
				lasts[j] = a
			}
		}
		last := pickAnswer(lasts)
		if i%3 == 2 {
			if err := r.crashed(ctx, p.Name); err != nil {
				return "", last, err
			}
		}
		if now := time.Now(); !now.Before(next) {
			r.p.Info("waiting for %s %s.%d to answer %s on $GITSHIP_SOCKET or $PORT (%d): %s of %s",
				r.rec.Name(), p.Type, p.Index, probes[0].Path, WebPort, now.Sub(start).Round(time.Second), timeout)
			next = now.Add(every)
		}
		select {
		case <-ctx.Done():
			return "", last, fmt.Errorf("%s did not answer %s within %s (last answer: %s)", p.Name, probes[0].Path, timeout, last)
		case <-time.After(delay):
		}
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// pickAnswer is the answer to show of a container's probes: the first
// HTTP answer, else the socket's.
func pickAnswer(as []Answer) Answer {
	for _, a := range as {
		if a.Status != 0 {
			return a
		}
	}
	return as[0]
}

// listenHint says what web container p listens on when it answered
// neither on its socket nor on $PORT, and what to listen on instead ("":
// nothing useful to say).
func (r *run) listenHint(ctx context.Context, p state.Proc) string {
	if p.Port == 0 {
		return ""
	}
	if _, err := os.Stat(p.Socket); err == nil {
		return "" // the socket is there: its answer says more
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ls, err := r.d.Runtime.Listening(cctx, p.Name)
	if err != nil {
		return ""
	}
	return listenHint(ls)
}

// listenHint turns the TCP sockets a web container listens on into what
// to tell its user.
func listenHint(ls []container.Listener) string {
	other := 0
	for _, l := range ls {
		if l.Port == WebPort {
			if l.Loopback() {
				return fmt.Sprintf("it listens on %s inside its container: listen on 0.0.0.0", l)
			}
			return "" // on $PORT: its answer says more
		}
		if other == 0 {
			other = l.Port
		}
	}
	if other != 0 {
		return fmt.Sprintf("the app listens on port %d, not on $PORT (%d): listen on $PORT or on the unix socket $GITSHIP_SOCKET", other, WebPort)
	}
	return fmt.Sprintf("it listens on neither $GITSHIP_SOCKET nor $PORT (%d)", WebPort)
}

// crashed reports a container that exited, or was restarted by its
// restart policy, before it ever answered: waiting longer is pointless.
func (r *run) crashed(ctx context.Context, name string) error {
	st, err := r.d.Runtime.Inspect(ctx, name)
	if err != nil {
		return nil // the probe's own timeout still bounds the wait
	}
	if !st.Running && st.Status == "exited" {
		return fmt.Errorf("%s exited with status %d before it answered", name, st.ExitCode)
	}
	if st.Restarts > 0 {
		return fmt.Errorf("%s exited before it answered (restarted %d times)", name, st.Restarts)
	}
	return nil
}

func (r *run) showLogs(ctx context.Context, name string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	lines, err := r.d.Runtime.Logs(cctx, name, logLines)
	if err != nil {
		r.p.Fail("Could not read the app's logs: %v", err)
		return
	}
	r.p.Fail("Last %d log lines of %s:", len(lines), name)
	for _, l := range lines {
		r.p.Info("%s", l)
	}
}
