package nginx

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	crossplane "github.com/nginxinc/nginx-go-crossplane"
)

// accessFields are the fields of a line of an app's access log, in order,
// separated by tabs: nginx's escape=default writes a tab inside a value
// as \x09, so a tab always separates fields. The first three are what
// gitship reads (the watch after a switch, release/watch.go): when, what
// nginx answered, and which upstream server gave the answer (a port: which
// release; a socket link: the release it named when the request began,
// $request_time being the fifth). The rest make the file an ordinary access
// log, since the app's own server blocks log here and no longer to
// nginx's main access log.
var accessFields = []string{
	"$msec",            // seconds since the epoch, with milliseconds
	"$status",          // the status nginx answered
	"$upstream_addr",   // the servers tried, the last one answered ("-": none)
	"$upstream_status", // their statuses
	"$request_time",
	"$remote_addr",
	"$host",
	"$request",
	"$body_bytes_sent",
	"$http_referer",
	"$http_user_agent",
}

// accessFormat is the log_format of app's access log: one per app,
// because the per-app file is the only place gitship writes in http{}
// and a name may be defined there once.
func accessFormat(app string) string { return "gitship_" + app }

// logFormat defines app's log format. `\t` is a tab to nginx, quoted or
// not, and crossplane keeps it as written, so the file parses back.
func logFormat(app string) *crossplane.Directive {
	return simple("log_format", accessFormat(app), "escape=default", strings.Join(accessFields, `\t`))
}

// accessLog is the server block's access_log. No buffer: the watch reads
// lines as they are answered.
func (s Site) accessLog() *crossplane.Directive {
	return simple("access_log", s.AccessLog, accessFormat(s.App))
}

// Answer is one line of an app's access log (Site.AccessLog).
type Answer struct {
	// Time is when nginx logged the answer.
	Time time.Time
	// Status is what nginx answered the client.
	Status int
	// Upstream is the server of the app's upstream that gave the answer,
	// written as Site.Upstreams writes it ("unix:/path.sock",
	// "127.0.0.1:PORT"): the last one nginx tried. "" when no upstream
	// was asked (a redirect to HTTPS, an ACME challenge).
	Upstream string
	// Started is when nginx began to read the request: Time less
	// $request_time (Time when the line has no request time). A request
	// started after a switch was sent upstream after it.
	Started time.Time
}

// ParseAnswer reads one line of an access log, without its newline.
func ParseAnswer(line string) (Answer, error) {
	f := strings.Split(line, "\t")
	if len(f) < 3 {
		return Answer{}, fmt.Errorf("access log line %q: %d fields, want %d", line, len(f), len(accessFields))
	}
	sec, err := strconv.ParseFloat(f[0], 64)
	if err != nil || sec < 0 || math.IsInf(sec, 0) {
		return Answer{}, fmt.Errorf("access log line %q: bad time %q", line, f[0])
	}
	status, err := strconv.Atoi(f[1])
	if err != nil || status < 100 || status > 999 {
		return Answer{}, fmt.Errorf("access log line %q: bad status %q", line, f[1])
	}
	ms := int64(math.Round(sec * 1000))
	a := Answer{Time: time.UnixMilli(ms), Status: status, Upstream: lastUpstream(f[2]), Started: time.UnixMilli(ms)}
	if len(f) > 4 {
		took, err := strconv.ParseFloat(f[4], 64)
		if err != nil || took < 0 || math.IsInf(took, 0) {
			return Answer{}, fmt.Errorf("access log line %q: bad request time %q", line, f[4])
		}
		a.Started = time.UnixMilli(ms - int64(math.Round(took*1000)))
	}
	return a, nil
}

// lastUpstream is the server that answered, of $upstream_addr: servers
// tried in turn are separated by ", ", those of an internal redirect by
// " : ".
func lastUpstream(addrs string) string {
	if i := strings.LastIndex(addrs, ", "); i >= 0 {
		addrs = addrs[i+2:]
	}
	if i := strings.LastIndex(addrs, " : "); i >= 0 {
		addrs = addrs[i+3:]
	}
	if addrs == "-" {
		return ""
	}
	return addrs
}

// validAccessLog refuses what nginx would not take as a plain file: a
// relative path (relative to nginx's prefix, not gitship's), a variable
// (a path with $ is opened per request, by the worker user).
func validAccessLog(p string) error {
	if p == "" {
		return nil
	}
	if !path.IsAbs(p) || strings.ContainsFunc(p, isControl) || strings.Contains(p, "$") {
		return fmt.Errorf("access log %q: want an absolute path without $ or control characters", p)
	}
	return nil
}
