package nginx_test

import (
	"testing"
	"time"

	"github.com/gitship/gitship/nginx"
)

func TestParseAnswer(t *testing.T) {
	at := time.UnixMilli(1712345678123)
	tests := []struct {
		line string
		want nginx.Answer
	}{
		{"1712345678.123\t200\tunix:/run/gitship/a/v2/web.sock\t200\t0.001\t127.0.0.1\ta.test\tGET / HTTP/1.1\t5\t-\tcurl/8",
			nginx.Answer{Time: at, Status: 200, Upstream: "unix:/run/gitship/a/v2/web.sock", Started: at.Add(-time.Millisecond)}},
		// the first server refused the connection, the second answered
		{"1712345678.123\t502\t127.0.0.1:40001, 127.0.0.1:40002\t502, 502\t0.000\t::1\ta.test\tGET / HTTP/1.1\t0\t-\t-",
			nginx.Answer{Time: at, Status: 502, Upstream: "127.0.0.1:40002", Started: at}},
		// an internal redirect to another location
		{"1712345678.123\t500\tunix:/a.sock : unix:/b.sock\t404 : 500\t0.002\t::1\ta.test\tGET /x HTTP/1.1\t0\t-\t-",
			nginx.Answer{Time: at, Status: 500, Upstream: "unix:/b.sock", Started: at.Add(-2 * time.Millisecond)}},
		// a request that took 1.5 s
		{"1712345678.123\t200\tunix:/run/gitship/a/live/web.sock\t200\t1.500\t::1\ta.test\tGET /slow HTTP/1.1\t2\t-\t-",
			nginx.Answer{Time: at, Status: 200, Upstream: "unix:/run/gitship/a/live/web.sock", Started: at.Add(-1500 * time.Millisecond)}},
		// no upstream: a redirect to HTTPS
		{"1712345678.123\t301\t-\t-\t0.000\t::1\ta.test\tGET / HTTP/1.1\t0\t-\t-",
			nginx.Answer{Time: at, Status: 301, Started: at}},
		// only the first three fields are needed
		{"1712345678.123\t499\t[::1]:40003", nginx.Answer{Time: at, Status: 499, Upstream: "[::1]:40003", Started: at}},
	}
	for _, tt := range tests {
		got, err := nginx.ParseAnswer(tt.line)
		if err != nil || !got.Time.Equal(tt.want.Time) || got.Status != tt.want.Status || got.Upstream != tt.want.Upstream ||
			!got.Started.Equal(tt.want.Started) {
			t.Errorf("ParseAnswer(%q) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
	for _, bad := range []string{
		"",
		"1712345678.123 200 unix:/a.sock", // spaces: nginx's default format, not ours
		"soon\t200\t-",
		"1712345678.123\tok\t-",
		"1712345678.123\t42\t-",
		"-1\t200\t-",
		"1712345678.123\t200\t-\t-\tslow",
		"1712345678.123\t200\t-\t-\t-0.5",
	} {
		if got, err := nginx.ParseAnswer(bad); err == nil {
			t.Errorf("ParseAnswer(%q) = %+v, want an error", bad, got)
		}
	}
}
