package nginx_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	crossplane "github.com/nginxinc/nginx-go-crossplane"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/gitship/gitship/nginx"
)

var update = flag.Bool("update", false, "rewrite the want.conf sections of testdata/render/*.txtar")

// TestRenderGolden renders each testdata/render/*.txtar site.json and
// compares it with want.conf.
func TestRenderGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/render/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/render/*.txtar files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			site := decodeSite(t, section(ar, "site.json"))
			got, err := nginx.Render(site)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if *update {
				writeSection(t, file, ar, "want.conf", got)
				return
			}
			want := section(ar, "want.conf")
			if !bytes.Equal(got, want) {
				t.Errorf("Render mismatch (run go test ./nginx -update and review the diff)\n--- got ---\n%s--- want ---\n%s", got, want)
			}
		})
	}
}

func decodeSite(t *testing.T, data []byte) nginx.Site {
	t.Helper()
	if data == nil {
		t.Fatal("no site.json section")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s nginx.Site
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("site.json: %v", err)
	}
	return s
}

func section(ar *txtar.Archive, name string) []byte {
	for _, f := range ar.Files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}

func writeSection(t *testing.T, file string, ar *txtar.Archive, name string, data []byte) {
	t.Helper()
	i := slices.IndexFunc(ar.Files, func(f txtar.File) bool { return f.Name == name })
	if i < 0 {
		ar.Files = append(ar.Files, txtar.File{Name: name})
		i = len(ar.Files) - 1
	}
	ar.Files[i].Data = data
	if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testSite() nginx.Site {
	return nginx.Site{
		App:     "myapp",
		Release: "v3",
		Domains: []string{"myapp.example.com", "www.myapp.example.com"},
		Socket:  "/run/gitship/myapp/v3/app.sock",
		Listen:  "80",
	}
}

// TestRenderParsesBack parses the output with crossplane on its own and
// looks for the directives nginx needs.
func TestRenderParsesBack(t *testing.T) {
	got, err := nginx.Render(testSite())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(got, []byte("}\n")) {
		t.Errorf("output does not end in a newline: %q", got[max(0, len(got)-10):])
	}
	wantFirst := "# gitship: myapp v3 — generated, do not edit\n"
	if !bytes.HasPrefix(got, []byte(wantFirst)) {
		t.Errorf("first line: got %q, want %q", strings.SplitAfter(string(got), "\n")[0], wantFirst)
	}
	parsed := parseLone(t, got)
	up := find(t, parsed, "upstream")
	checkArgs(t, up, "gitship_myapp")
	checkArgs(t, find(t, up.Block, "server"), "unix:/run/gitship/myapp/v3/app.sock", "max_fails=0")
	if hasDirective(parsed, "keepalive") {
		t.Error("keepalive in output: it hides socket permission problems")
	}
	srv := find(t, parsed, "server")
	checkArgs(t, find(t, srv.Block, "listen"), "80")
	checkArgs(t, find(t, srv.Block, "server_name"), "myapp.example.com", "www.myapp.example.com")
	checkArgs(t, find(t, srv.Block, "client_max_body_size"), "100m")
	loc := find(t, srv.Block, "location")
	checkArgs(t, loc, "/")
	marker := srv.Block[len(srv.Block)-1]
	checkArgs(t, marker, "=", nginx.MarkerPath)
	checkArgs(t, find(t, marker.Block, "return"), "200", "myapp v3")
	checkArgs(t, find(t, marker.Block, "deny"), "all")
	checkArgs(t, find(t, loc.Block, "proxy_pass"), "http://gitship_myapp")
	checkArgs(t, find(t, loc.Block, "proxy_http_version"), "1.1")
	checkArgs(t, find(t, loc.Block, "proxy_read_timeout"), "300s")
	checkArgs(t, find(t, loc.Block, "proxy_next_upstream"), "error", "timeout")
	checkArgs(t, find(t, loc.Block, "proxy_redirect"), "off")
	headers := map[string]string{}
	for _, d := range loc.Block {
		if d.Directive == "proxy_set_header" && len(d.Args) == 2 {
			headers[d.Args[0]] = d.Args[1]
		}
	}
	for name, value := range map[string]string{
		"Host": "$host", "X-Forwarded-For": "$proxy_add_x_forwarded_for",
		"X-Forwarded-Proto": "$scheme", "X-Real-IP": "$remote_addr",
		"Upgrade": "$http_upgrade", "Connection": "$http_connection",
	} {
		if headers[name] != value {
			t.Errorf("proxy_set_header %s: got %q, want %q", name, headers[name], value)
		}
	}
}

// TestRenderQuoting checks that awkward values come back as the same
// single arguments.
func TestRenderQuoting(t *testing.T) {
	s := testSite()
	s.Socket = "/srv/my apps/x;y/app.sock"
	s.Domains = []string{"a.example.com", "~^(?<sub>.+)\\.example\\.org$"}
	got, err := nginx.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	parsed := parseLone(t, got)
	checkArgs(t, find(t, find(t, parsed, "upstream").Block, "server"), "unix:/srv/my apps/x;y/app.sock", "max_fails=0")
	checkArgs(t, find(t, find(t, parsed, "server").Block, "server_name"), s.Domains...)
}

// TestRenderViaMainConfig parses a main config that includes the file,
// with crossplane's context checks on.
func TestRenderViaMainConfig(t *testing.T) {
	got, err := nginx.Render(testSite())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	confDir := filepath.Join(dir, "apps")
	if err := os.Mkdir(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(confDir, "myapp.conf"), got, 0o644); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(main, []byte("events {}\nhttp {\n    include apps/*.conf;\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	payload, err := crossplane.Parse(main, &crossplane.ParseOptions{ErrorOnUnknownDirectives: true})
	if err != nil {
		t.Fatal(err)
	}
	if payload.Status != "ok" || len(payload.Config) != 2 {
		t.Fatalf("parse via main config: status %s, %d files, errors %v", payload.Status, len(payload.Config), payload.Errors)
	}
}

func TestRenderRejects(t *testing.T) {
	for name, edit := range map[string]func(*nginx.Site){
		"empty app":         func(s *nginx.Site) { s.App = "" },
		"app with slash":    func(s *nginx.Site) { s.App = "../etc" },
		"app with space":    func(s *nginx.Site) { s.App = "my app" },
		"release newline":   func(s *nginx.Site) { s.Release = "v1\nserver {}" },
		"no domains":        func(s *nginx.Site) { s.Domains = nil },
		"empty domain":      func(s *nginx.Site) { s.Domains = []string{""} },
		"relative socket":   func(s *nginx.Site) { s.Socket = "run/app.sock" },
		"empty listen":      func(s *nginx.Site) { s.Listen = "" },
		"body size tab":     func(s *nginx.Site) { s.MaxBodySize = "1m\t" },
		"domain with \\n":   func(s *nginx.Site) { s.Domains = []string{"a.com\nb"} },
		"socket with \\x7f": func(s *nginx.Site) { s.Socket = "/run/a\x7f.sock" },
		"relative log":      func(s *nginx.Site) { s.AccessLog = "logs/app.log" },
		"log with variable": func(s *nginx.Site) { s.AccessLog = "/var/log/$host.log" },
		"log with newline":  func(s *nginx.Site) { s.AccessLog = "/var/log/a\nb.log" },
	} {
		t.Run(name, func(t *testing.T) {
			s := testSite()
			edit(&s)
			if got, err := nginx.Render(s); err == nil {
				t.Errorf("Render accepted it:\n%s", got)
			}
		})
	}
}

func parseLone(t *testing.T, conf []byte) crossplane.Directives {
	t.Helper()
	payload, err := crossplane.Parse("app.conf", &crossplane.ParseOptions{
		SingleFile:                true,
		StopParsingOnError:        true,
		ErrorOnUnknownDirectives:  true,
		SkipDirectiveContextCheck: true,
		Open:                      func(string) (io.Reader, error) { return bytes.NewReader(conf), nil },
	})
	if err != nil {
		t.Fatalf("parse back: %v\n%s", err, conf)
	}
	return payload.Config[0].Parsed
}

func find(t *testing.T, ds crossplane.Directives, name string) *crossplane.Directive {
	t.Helper()
	for _, d := range ds {
		if d.Directive == name {
			return d
		}
	}
	t.Fatalf("no %s directive", name)
	return nil
}

func checkArgs(t *testing.T, d *crossplane.Directive, want ...string) {
	t.Helper()
	if !slices.Equal(d.Args, want) {
		t.Errorf("%s args: got %q, want %q", d.Directive, d.Args, want)
	}
}

func hasDirective(ds crossplane.Directives, name string) bool {
	for _, d := range ds {
		if d.Directive == name || hasDirective(d.Block, name) {
			return true
		}
	}
	return false
}

// Without a Release the file carries a digest of the site: the same for
// two releases whose site is the same (upstreams that are symlinks), and
// another one when anything else changes, so WaitServed can tell them.
func TestRenderTagDigest(t *testing.T) {
	site := nginx.Site{App: "myapp", Domains: []string{"myapp.example.com"}, Listen: "80",
		Upstreams: []string{"unix:/run/gitship/myapp/live/web.sock"}}
	a, err := nginx.Render(site)
	if err != nil {
		t.Fatal(err)
	}
	b, err := nginx.Render(site)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("two renders of one site differ:\n%s\n%s", a, b)
	}
	tag := site.Tag()
	if !regexp.MustCompile(`^config-[0-9a-f]{12}$`).MatchString(tag) {
		t.Fatalf("Tag() = %q, want config- and 12 hex digits", tag)
	}
	if !bytes.Contains(a, []byte(`return 200 "`+nginx.MarkerBody("myapp", tag)+`";`)) || !bytes.Contains(a, []byte("# gitship: myapp "+tag+" ")) {
		t.Errorf("the file does not carry %s:\n%s", tag, a)
	}
	other := site
	other.Domains = []string{"myapp.example.com", "www.myapp.example.com"}
	if other.Tag() == tag {
		t.Errorf("another domain list has the same tag %s", tag)
	}
	named := site
	named.Release = "v3"
	if named.Tag() != "v3" {
		t.Errorf("Tag() with a release = %q, want v3", named.Tag())
	}
}
