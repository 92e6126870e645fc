package nginx_test

import (
	"strings"
	"testing"

	"github.com/gitship/gitship/nginx"
)

func TestCheckUpstream(t *testing.T) {
	for _, ok := range []string{
		"unix:/run/gitship/shop/v4/web.sock",
		"unix:/srv/my apps/x;y/app.sock",
		"127.0.0.1:5000",
		"127.0.0.1:1",
		"127.0.0.1:65535",
		"127.3.2.1:40001",
		"[::1]:5000",
	} {
		if err := nginx.CheckUpstream(ok); err != nil {
			t.Errorf("CheckUpstream(%q): %v", ok, err)
		}
	}
	for u, want := range map[string]string{
		"":                          "neither unix:/PATH nor a loopback HOST:PORT",
		"/run/app.sock":             "neither unix:/PATH nor a loopback HOST:PORT",
		"unix:run/app.sock":         "is not an absolute path",
		"unix:":                     "is not an absolute path",
		"unix:/run/a\x7f.sock":      "control character",
		"unix:/run/a.sock\nserver":  "control character",
		"127.0.0.1":                 "neither unix:/PATH nor a loopback HOST:PORT",
		"::1:5000":                  "neither unix:/PATH nor a loopback HOST:PORT",
		"http://127.0.0.1:5000":     "neither unix:/PATH nor a loopback HOST:PORT",
		"localhost:5000":            "is not an IP address",
		"example.com:80":            "is not an IP address",
		"[::ffff:127.0.0.1]:5000":   "is not an IP address",
		"[::1%lo]:5000":             "is not an IP address",
		"0.0.0.0:5000":              "is not a loopback address",
		"10.88.0.5:5000":            "is not a loopback address",
		"203.0.113.7:5000":          "is not a loopback address",
		"[::]:5000":                 "is not a loopback address",
		"[2001:db8::1]:5000":        "is not a loopback address",
		"127.0.0.1:0":               "is not a number from 1 to 65535",
		"127.0.0.1:65536":           "is not a number from 1 to 65535",
		"127.0.0.1:":                "is not a number from 1 to 65535",
		"127.0.0.1:05000":           "is not a number from 1 to 65535",
		"127.0.0.1:+5000":           "is not a number from 1 to 65535",
		"127.0.0.1:http":            "is not a number from 1 to 65535",
		"127.0.0.1:5000 max_fails=": "is not a number from 1 to 65535",
	} {
		err := nginx.CheckUpstream(u)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("CheckUpstream(%q) = %v, want one line containing %q", u, err, want)
		}
	}
}

// TestRenderUpstreams: the deprecated Socket still means one unix
// upstream, and a release is all sockets or all ports, each listed once.
func TestRenderUpstreams(t *testing.T) {
	s := testSite()
	s.Socket = ""
	s.Upstreams = []string{"127.0.0.1:5001", "127.0.0.1:5002"}
	got, err := nginx.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	up := find(t, parseLone(t, got), "upstream")
	if len(up.Block) != 2 {
		t.Fatalf("upstream block: %d directives, want 2 servers", len(up.Block))
	}
	checkArgs(t, up.Block[0], "127.0.0.1:5001", "max_fails=0")
	checkArgs(t, up.Block[1], "127.0.0.1:5002", "max_fails=0")

	for name, c := range map[string]struct {
		socket    string
		upstreams []string
		want      string
	}{
		"none":           {"", nil, "no upstreams"},
		"both":           {"/run/a.sock", []string{"unix:/run/b.sock"}, "both Upstreams and the deprecated Socket"},
		"mixed":          {"", []string{"unix:/run/a.sock", "127.0.0.1:5000"}, "mix unix sockets and TCP addresses"},
		"mixed, tcp 1st": {"", []string{"127.0.0.1:5000", "unix:/run/a.sock"}, "mix unix sockets and TCP addresses"},
		"twice":          {"", []string{"127.0.0.1:5000", "127.0.0.1:5000"}, "listed twice"},
		"public":         {"", []string{"127.0.0.1:5000", "192.0.2.1:5000"}, "not a loopback address"},
		"bad socket":     {"run/a.sock", nil, "not an absolute path"},
	} {
		t.Run(name, func(t *testing.T) {
			s := testSite()
			s.Socket, s.Upstreams = c.socket, c.upstreams
			got, err := nginx.Render(s)
			if err == nil {
				t.Fatalf("Render accepted it:\n%s", got)
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line containing %q", err, c.want)
			}
		})
	}
}
