// Command gitship makes one server behave like a small Heroku: git push
// builds the commit into an image, starts it beside the live release,
// checks it, points nginx at it and retires the old one.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
)

func main() {
	stopProfile := cpuProfile(os.Getenv("GITSHIP_CPUPROFILE"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	stopProfile()
	writeRusage(os.Getenv("GITSHIP_RUSAGE"), os.Args)
	os.Exit(code)
}

// writeRusage appends to path (GITSHIP_RUSAGE; "": nothing) one line with
// the CPU time and peak RSS of this process and of the children it waited
// for, then its arguments: "self USER SYS MAXRSS_KB children USER SYS
// MAXRSS_KB ARGS...". scripts/bench reads it from the hook's gitship.
func writeRusage(path string, args []string) {
	if path == "" {
		return
	}
	var self, kids syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids) != nil {
		return
	}
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gitship: rusage: %v\n", err)
		return
	}
	fmt.Fprintf(f, "self %.3f %.3f %d children %.3f %.3f %d %s\n",
		sec(self.Utime), sec(self.Stime), self.Maxrss, sec(kids.Utime), sec(kids.Stime), kids.Maxrss, strings.Join(args[1:], " "))
	f.Close()
}

// cpuProfile writes a CPU profile of this run to path (GITSHIP_CPUPROFILE,
// for `go tool pprof`; see BENCHMARKS.md); "" profiles nothing. A profile
// that cannot start is said on stderr and the command runs anyway.
func cpuProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gitship: cpu profile: %v\n", err)
		if f != nil {
			f.Close()
		}
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
