// Package load is gitship's own HTTP load generator: a closed loop of
// clients, each sending GET requests one after another, used by
// scripts/bench to count the requests that fail while a release switches.
//
// Loads go only to loopback addresses and always stop by themselves (after
// Config.MaxDuration), so a bench that dies before it stops its load
// cannot leave it running against anything.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults and bounds of a Config.
const (
	DefaultClients     = 8
	DefaultTimeout     = 10 * time.Second
	DefaultMaxDuration = 5 * time.Minute
	// MaxClients and MaxMaxDuration bound what a Config may ask for.
	MaxClients     = 256
	MaxMaxDuration = time.Hour
)

// Limits of what a Result keeps.
const (
	// MaxBodies is how many distinct first lines Result.Bodies keeps;
	// later ones are counted under OtherBody.
	MaxBodies = 50
	// OtherBody counts the 2xx bodies past the first MaxBodies distinct ones.
	OtherBody = "(other)"
	// MaxFailures is how many failures Result.Failures describes.
	MaxFailures = 20

	headBytes  = 512 // bytes of each body looked at; the rest is discarded
	maxLine    = 200 // bytes of a body's first line kept in Bodies
	maxExcerpt = 120 // bytes of a failed answer's body in Failures
)

// Config of a closed-loop HTTP load: Clients goroutines each send GET
// requests one after another, as fast as they go.
type Config struct {
	URL         string        // e.g. http://127.0.0.1:18080/; the host must be loopback
	Host        string        // Host header (the app's domain); empty: the URL's host
	Clients     int           // default 8, at most MaxClients
	Timeout     time.Duration // per request, default 10s
	MaxDuration time.Duration // hard stop even if Stop is never called; default 5m, at most 1h
}

// Result counts what the load saw.
type Result struct {
	Requests int            `json:"requests"`
	OK       int            `json:"ok"`
	Non2xx   int            `json:"non2xx"`
	Errors   int            `json:"errors"`
	Statuses map[int]int    `json:"statuses"` // by status code
	Bodies   map[string]int `json:"bodies"`   // first line of 2xx bodies, at most MaxBodies distinct (then OtherBody)
	// Failures describes the first MaxFailures failures: time offset,
	// status or error, body excerpt.
	Failures []string      `json:"failures"`
	Duration time.Duration `json:"duration_ns"`
}

// String is the one-line summary loadgen prints and scripts/bench parses.
func (r Result) String() string {
	return fmt.Sprintf("requests=%d ok=%d non2xx=%d errors=%d duration=%.1fs",
		r.Requests, r.OK, r.Non2xx, r.Errors, r.Duration.Seconds())
}

// Failed is the number of requests that did not get a 2xx answer.
func (r Result) Failed() int { return r.Non2xx + r.Errors }

// clone copies r with maps and slices of its own, so that a snapshot does
// not change under its reader.
func (r Result) clone() Result {
	c := r
	c.Statuses = make(map[int]int, len(r.Statuses))
	for k, v := range r.Statuses {
		c.Statuses[k] = v
	}
	c.Bodies = make(map[string]int, len(r.Bodies))
	for k, v := range r.Bodies {
		c.Bodies[k] = v
	}
	c.Failures = append([]string(nil), r.Failures...)
	return c
}

// Run is a load in progress.
type Run struct {
	cfg    Config
	client *http.Client
	tr     *http.Transport
	start  time.Time
	cancel context.CancelFunc
	done   chan struct{} // closed when every client has returned

	mu  sync.Mutex
	res Result
	end time.Time // when the last client returned; zero before
}

// Start validates cfg, fills in its defaults and starts the clients. It
// returns at once. The load stops when Stop is called, when ctx is done or
// after cfg.MaxDuration, whichever comes first.
func Start(ctx context.Context, cfg Config) (*Run, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	tr := &http.Transport{
		// No Proxy: the load goes straight to the loopback address, never
		// through an HTTP_PROXY from the environment.
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        cfg.Clients,
		MaxIdleConnsPerHost: cfg.Clients,
		IdleConnTimeout:     90 * time.Second,
	}
	client := &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		// A redirect is an answer to count, not one to follow (it could
		// lead off the loopback address).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.MaxDuration)
	r := &Run{
		cfg:    cfg,
		client: client,
		tr:     tr,
		start:  time.Now(),
		cancel: cancel,
		done:   make(chan struct{}),
		res:    Result{Statuses: map[int]int{}, Bodies: map[string]int{}},
	}
	var wg sync.WaitGroup
	for i := 0; i < cfg.Clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx)
		}()
	}
	go func() {
		wg.Wait()
		r.mu.Lock()
		r.end = time.Now()
		r.mu.Unlock()
		cancel()
		tr.CloseIdleConnections()
		close(r.done)
	}()
	return r, nil
}

// withDefaults checks c and fills in the defaults of its zero fields.
func (c Config) withDefaults() (Config, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return c, fmt.Errorf("load url %q: %w", c.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return c, fmt.Errorf("load url %q: scheme must be http or https", c.URL)
	}
	if !isLoopback(u.Hostname()) {
		return c, fmt.Errorf("load url %q: host %q is not a loopback address (loads go to 127.0.0.0/8, ::1 or localhost only)", c.URL, u.Hostname())
	}
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	if c.Clients < 0 || c.Clients > MaxClients {
		return c, fmt.Errorf("load clients %d: want 1 to %d", c.Clients, MaxClients)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("load timeout %s: must be positive", c.Timeout)
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = DefaultMaxDuration
	}
	if c.MaxDuration < 0 || c.MaxDuration > MaxMaxDuration {
		return c, fmt.Errorf("load max duration %s: want more than 0 and at most %s", c.MaxDuration, MaxMaxDuration)
	}
	return c, nil
}

// isLoopback reports whether host (without port) is a loopback IP or
// "localhost".
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Done is closed once the load has stopped: after Stop, when the ctx given
// to Start is done, or after MaxDuration.
func (r *Run) Done() <-chan struct{} { return r.done }

// Snapshot returns the counts so far.
func (r *Run) Snapshot() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.res.clone()
	if r.end.IsZero() {
		res.Duration = time.Since(r.start)
	} else {
		res.Duration = r.end.Sub(r.start)
	}
	return res
}

// Stop stops the clients, waits for them and returns the final counts.
// Requests cut short by the stop are not counted. Stop may be called more
// than once, and after the load stopped by itself.
func (r *Run) Stop() Result {
	r.cancel()
	<-r.done
	return r.Snapshot()
}

// loop is one client: requests until ctx is done.
func (r *Run) loop(ctx context.Context) {
	for ctx.Err() == nil {
		status, head, err := r.get(ctx)
		if ctx.Err() != nil {
			// Cut short by the stop, not failed: not counted.
			return
		}
		r.count(status, head, err)
	}
}

// get sends one request. It returns the status and the start of the body
// (up to headBytes), or an error if there was no complete answer.
func (r *Run) get(ctx context.Context) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.URL, nil)
	if err != nil {
		return 0, "", fmt.Errorf("new request: %w", err)
	}
	if r.cfg.Host != "" {
		req.Host = r.cfg.Host
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	head := make([]byte, headBytes)
	n, err := io.ReadFull(resp.Body, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, "", fmt.Errorf("read body (status %d): %w", resp.StatusCode, err)
	}
	// Read the rest, so that the connection can be reused.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, "", fmt.Errorf("read body (status %d): %w", resp.StatusCode, err)
	}
	return resp.StatusCode, string(head[:n]), nil
}

// count adds one answered or failed request to the result.
func (r *Run) count(status int, head string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &r.res
	res.Requests++
	switch {
	case err != nil:
		res.Errors++
		r.failure(err.Error(), "")
	case status >= 200 && status < 300:
		res.OK++
		res.Statuses[status]++
		key, _, _ := strings.Cut(head, "\n")
		key = clip(strings.TrimRight(key, "\r"), maxLine)
		if _, ok := res.Bodies[key]; !ok && len(res.Bodies) >= MaxBodies {
			key = OtherBody
		}
		res.Bodies[key]++
	default:
		res.Non2xx++
		res.Statuses[status]++
		r.failure(fmt.Sprintf("%d %s", status, http.StatusText(status)), head)
	}
}

// failure records one failure if there is room; r.mu is held.
func (r *Run) failure(what, body string) {
	if len(r.res.Failures) >= MaxFailures {
		return
	}
	s := fmt.Sprintf("+%.3fs %s", time.Since(r.start).Seconds(), what)
	if body = strings.Join(strings.Fields(body), " "); body != "" {
		s += ": " + clip(body, maxExcerpt)
	}
	r.res.Failures = append(r.res.Failures, s)
}

// clip cuts s to at most n bytes (not inside a UTF-8 sequence), marking
// the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
