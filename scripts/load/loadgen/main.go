// Command loadgen runs a closed-loop HTTP load (package load) against a
// loopback address until SIGINT or SIGTERM, or -max, then prints one line
// of counts:
//
//	loadgen -url http://127.0.0.1:18080/ -host web.bench.test -out load.json &
//	...
//	kill -INT $!; wait $!
//	requests=1234 ok=1234 non2xx=0 errors=0 duration=5.1s
//
// scripts/bench runs it in the background around release switches. It exits
// 0 whatever the load saw (failed requests are the measurement, not an
// error), 1 if it could not run or write -out, 2 on a usage error.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gitship/gitship/scripts/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// report is what -out writes: the summary line and every count.
type report struct {
	Summary         string  `json:"summary"`
	DurationSeconds float64 `json:"duration_seconds"`
	load.Result
}

// run is main without the exit, so that deferred calls run.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: loadgen -url URL -host HOST [-clients 8] [-max 5m] [-timeout 10s] [-out FILE]\n\n"+
			"Sends GET requests to URL (a loopback address) from CLIENTS clients, one after\n"+
			"another each, until SIGINT/SIGTERM or -max; then prints the counts.\n\n")
		fs.PrintDefaults()
	}
	var (
		cfg load.Config
		out string
	)
	fs.StringVar(&cfg.URL, "url", "", "`URL` to load, e.g. http://127.0.0.1:18080/ (loopback only)")
	fs.StringVar(&cfg.Host, "host", "", "Host header to send (the app's domain); default: the URL's host")
	fs.IntVar(&cfg.Clients, "clients", load.DefaultClients, "concurrent clients")
	fs.DurationVar(&cfg.MaxDuration, "max", load.DefaultMaxDuration, "stop after this long even without a signal")
	fs.DurationVar(&cfg.Timeout, "timeout", load.DefaultTimeout, "per request")
	fs.StringVar(&out, "out", "", "also write the summary, statuses, bodies and failures as JSON to `FILE`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || cfg.URL == "" {
		fmt.Fprintln(stderr, "loadgen: -url is required and no arguments are taken")
		fs.Usage()
		return 2
	}
	if cfg.Clients < 1 || cfg.MaxDuration <= 0 || cfg.Timeout <= 0 {
		fmt.Fprintln(stderr, "loadgen: -clients, -max and -timeout must be positive")
		return 2
	}

	r, err := load.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	select {
	case <-ctx.Done():
	case <-r.Done():
	}
	res := r.Stop()
	fmt.Fprintln(stdout, res)
	if out != "" {
		if err := writeReport(out, res); err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return 1
		}
	}
	return 0
}

// writeReport writes res as JSON to path.
func writeReport(path string, res load.Result) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// The failures quote nginx's HTML error pages: keep them readable.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err := enc.Encode(report{
		Summary:         res.String(),
		DurationSeconds: res.Duration.Round(time.Millisecond).Seconds(),
		Result:          res,
	})
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}
