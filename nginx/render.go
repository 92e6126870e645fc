package nginx

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	crossplane "github.com/nginxinc/nginx-go-crossplane"
)

// defaultMaxBodySize is client_max_body_size when Site.MaxBodySize is empty.
const defaultMaxBodySize = "100m"

// Site is what one app's server block needs.
type Site struct {
	App string // app name, e.g. "myapp" (used for the upstream name "gitship_myapp")
	// Release names what the file serves, e.g. "v3", in its leading
	// comment line and in what MarkerPath answers. Empty, both carry a
	// digest of the rest of the site instead (Tag): a file whose
	// upstreams are paths that do not change between releases (a symlink
	// swapped to switch) is then the same bytes for every release.
	Release string
	Domains []string // server_name values (already validated by the caller; at least one)
	// Upstreams are the release's web processes, balanced round robin by
	// nginx: each either "unix:/absolute/path.sock" or a loopback
	// "127.0.0.1:PORT" / "[::1]:PORT" (a container's $PORT published on
	// loopback only). All of one kind: a release listens on sockets or on
	// ports, not both.
	Upstreams []string
	// Socket is the older way to name one unix socket (an absolute host
	// path); it is used only when Upstreams is empty.
	//
	// Deprecated: set Upstreams to []string{"unix:" + path}.
	Socket      string
	Listen      string // e.g. "80" or "127.0.0.1:18080"
	MaxBodySize string // client_max_body_size; "" means "100m"
	// Webroot, when set, serves /.well-known/acme-challenge/ (certbot's
	// webroot challenge) from that directory.
	Webroot string
	// TLS, when set, adds an HTTPS server block and makes plain HTTP
	// redirect to it (but for the challenge path).
	TLS *TLS
	// AccessLog, when set, is the app's access log: an absolute path that
	// every server block of the app logs to, in gitship's format
	// (accesslog.go; ParseAnswer reads a line). nginx opens it as its
	// master, so the file and its directory must exist for `nginx -t`
	// run as gitship's user.
	AccessLog string
}

// TLS is what an HTTPS server block needs.
type TLS struct {
	Listen string // e.g. "443" or "127.0.0.1:18443"
	Cert   string // fullchain PEM
	Key    string // private key PEM
	HSTS   bool   // send Strict-Transport-Security
	// Domains are the names the certificate covers (empty: all of the
	// site's); the others stay on plain HTTP until it covers them.
	Domains []string
}

// Render returns the per-app config: parsed back with crossplane before
// returning (an error if it does not parse), ending in a newline.
func Render(s Site) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("render %s: %w", s.App, err)
	}
	want := s.directives()
	var buf bytes.Buffer
	cfg := crossplane.Config{File: s.App + ".conf", Parsed: want}
	if err := crossplane.Build(&buf, cfg, &crossplane.BuildOptions{Indent: 4}); err != nil {
		return nil, fmt.Errorf("render %s: %w", s.App, err)
	}
	buf.WriteByte('\n')
	if err := parseBack(s.App+".conf", buf.Bytes(), want); err != nil {
		return nil, fmt.Errorf("render %s: parse back: %w", s.App, err)
	}
	return buf.Bytes(), nil
}

// validate rejects what would make a wrong file rather than a failing one:
// App ends up in a file name and an upstream name, Release in a comment line
// that a newline would end early.
func (s Site) validate() error {
	if err := validApp(s.App); err != nil {
		return err
	}
	if strings.ContainsFunc(s.Release, isControl) {
		return fmt.Errorf("release %q contains a control character", s.Release)
	}
	if len(s.Domains) == 0 {
		return errors.New("no domains")
	}
	for _, d := range s.Domains {
		if d == "" || strings.ContainsFunc(d, isControl) {
			return fmt.Errorf("invalid domain %q", d)
		}
	}
	if err := s.validUpstreams(); err != nil {
		return err
	}
	if s.Listen == "" || strings.ContainsFunc(s.Listen, isControl) {
		return fmt.Errorf("invalid listen %q", s.Listen)
	}
	for _, v := range []string{s.Webroot, s.tlsField(func(t *TLS) string { return t.Listen }),
		s.tlsField(func(t *TLS) string { return t.Cert }), s.tlsField(func(t *TLS) string { return t.Key })} {
		if strings.ContainsFunc(v, isControl) {
			return fmt.Errorf("invalid value %q", v)
		}
	}
	if s.Webroot != "" && !path.IsAbs(s.Webroot) {
		return fmt.Errorf("webroot %q is not an absolute path", s.Webroot)
	}
	if s.TLS != nil && (s.TLS.Listen == "" || !path.IsAbs(s.TLS.Cert) || !path.IsAbs(s.TLS.Key)) {
		return fmt.Errorf("TLS needs a listen address and absolute certificate and key paths")
	}
	if err := validAccessLog(s.AccessLog); err != nil {
		return err
	}
	if strings.ContainsFunc(s.MaxBodySize, isControl) {
		return fmt.Errorf("invalid max body size %q", s.MaxBodySize)
	}
	return nil
}

// validApp reports whether app is usable as a per-app file name and in an
// upstream name: ASCII letters, digits, '.', '_' and '-', not starting with
// '.' or '-'.
func validApp(app string) error {
	if app == "" {
		return errors.New("empty app name")
	}
	if app[0] == '.' || app[0] == '-' {
		return fmt.Errorf("app name %q starts with %q", app, app[0])
	}
	for _, r := range app {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("app name %q contains %q", app, r)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// directives is the whole per-app file. The comment gets Line 1 because
// crossplane prints a comment whose line equals the previous statement's
// line on that same line, and built directives all have line 0.
func (s Site) directives() crossplane.Directives {
	comment := fmt.Sprintf(" gitship: %s %s — generated, do not edit", s.App, s.Tag())
	upstream := "gitship_" + s.App
	out := crossplane.Directives{{Directive: "#", Line: 1, Comment: &comment}}
	if s.AccessLog != "" {
		out = append(out, logFormat(s.App))
	}
	out = append(out, block("upstream", []string{upstream}, s.servers()...))
	proxy := block("location", []string{"/"}, proxyDirectives(upstream)...)
	if s.TLS == nil {
		return append(out, s.plainServer(s.Domains, proxy))
	}
	covered, uncovered := s.split()
	out = append(out, s.plainServer(covered, block("location", []string{"/"}, simple("return", "301", s.httpsURL()))))
	if len(uncovered) > 0 {
		// Domains the certificate does not cover (yet) stay on plain HTTP.
		out = append(out, s.plainServer(uncovered, proxy))
	}
	return append(out, s.tlsServer(covered, upstream))
}

// plainServer is a plain HTTP server block for domains with the given
// main location.
func (s Site) plainServer(domains []string, main *crossplane.Directive) *crossplane.Directive {
	d := crossplane.Directives{
		simple("listen", s.Listen),
		simple("server_name", domains...),
		simple("client_max_body_size", s.maxBodySize()),
	}
	if s.AccessLog != "" {
		d = append(d, s.accessLog())
	}
	if s.Webroot != "" {
		d = append(d, s.challenge())
	}
	return block("server", nil, append(d, main, s.marker())...)
}

// split divides the domains into those the certificate covers and the
// rest (TLS.Domains empty: it covers all).
func (s Site) split() (covered, uncovered []string) {
	if len(s.TLS.Domains) == 0 {
		return s.Domains, nil
	}
	for _, d := range s.Domains {
		if slices.Contains(s.TLS.Domains, d) {
			covered = append(covered, d)
		} else {
			uncovered = append(uncovered, d)
		}
	}
	return covered, uncovered
}

// challenge serves ACME HTTP-01 challenge files from the webroot, in
// every server block before any certificate exists, and on plain HTTP
// even once it redirects everything else.
func (s Site) challenge() *crossplane.Directive {
	return block("location", []string{"^~", "/.well-known/acme-challenge/"},
		simple("root", s.Webroot),
		simple("default_type", "text/plain"),
		simple("try_files", "$uri", "=404"),
	)
}

// httpsURL is where plain HTTP redirects: the same host and path on the
// TLS port (named when it is not 443).
func (s Site) httpsURL() string {
	port := s.TLS.Listen
	if i := strings.LastIndex(port, ":"); i >= 0 {
		port = port[i+1:]
	}
	if port == "443" {
		return "https://$host$request_uri"
	}
	return "https://$host:" + port + "$request_uri"
}

// Mozilla's "intermediate" TLS settings: TLS 1.2 and 1.3, AEAD ciphers.
const tlsCiphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

func (s Site) tlsServer(domains []string, upstream string) *crossplane.Directive {
	d := crossplane.Directives{
		simple("listen", s.TLS.Listen, "ssl"),
		simple("server_name", domains...),
		simple("ssl_certificate", s.TLS.Cert),
		simple("ssl_certificate_key", s.TLS.Key),
		simple("ssl_protocols", "TLSv1.2", "TLSv1.3"),
		simple("ssl_ciphers", tlsCiphers),
		simple("ssl_prefer_server_ciphers", "off"),
		simple("ssl_session_timeout", "1d"),
		simple("client_max_body_size", s.maxBodySize()),
	}
	if s.AccessLog != "" {
		d = append(d, s.accessLog())
	}
	if s.TLS.HSTS {
		d = append(d, simple("add_header", "Strict-Transport-Security", "max-age=63072000", "always"))
	}
	d = append(d, block("location", []string{"/"}, proxyDirectives(upstream)...), s.marker())
	return block("server", nil, d...)
}

// MarkerPath answers which release this server block belongs to, to
// loopback only: after a reload, gitship asks nginx through it until the
// new workers answer, before it retires the old release.
const MarkerPath = "/.well-known/gitship/release"

func (s Site) marker() *crossplane.Directive {
	return block("location", []string{"=", MarkerPath},
		simple("allow", "127.0.0.0/8"),
		simple("allow", "::1"),
		simple("deny", "all"),
		simple("access_log", "off"),
		simple("default_type", "text/plain"),
		simple("return", "200", MarkerBody(s.App, s.Tag())),
	)
}

// Tag is what the file says it serves: Release, or when that is empty
// "config-" and the first 12 hex digits of the SHA-256 of the site's
// JSON (every field but Release): a change of anything the file holds
// changes it, so WaitServed still tells a reloaded config from the one
// before.
func (s Site) Tag() string {
	if s.Release != "" {
		return s.Release
	}
	b, err := json.Marshal(s)
	if err != nil {
		// a Site is strings, slices of them and a *TLS of strings
		panic(fmt.Sprintf("nginx: encode site: %v", err))
	}
	sum := sha256.Sum256(b)
	return "config-" + hex.EncodeToString(sum[:6])
}

// MarkerBody is what MarkerPath answers for release of app.
func MarkerBody(app, release string) string { return app + " " + release }

// proxyDirectives forwards to the upstream. Connection is passed through
// from the client because a map (the usual websocket idiom) cannot live in a
// file that is included once per app.
//
// proxy_next_upstream error timeout (nginx's default, written out): a
// request whose server refuses the connection or times out is passed to the
// next server of the upstream, so a web process that dies or is stopped
// costs no failed GET while another one runs. It never replays a POST, LOCK
// or PATCH once sent to a server: since nginx 1.9.13 only the
// non_idempotent flag, which is deliberately absent, allows that. Such a
// request is still passed on when its first server refused the connection
// (nothing was sent). No keepalive to the upstream: a fresh connection per
// request shows a socket permission problem at once, and costs little on
// loopback.
func proxyDirectives(upstream string) crossplane.Directives {
	return crossplane.Directives{
		simple("proxy_pass", "http://"+upstream),
		simple("proxy_set_header", "Host", "$host"),
		simple("proxy_set_header", "X-Forwarded-For", "$proxy_add_x_forwarded_for"),
		simple("proxy_set_header", "X-Forwarded-Proto", "$scheme"),
		simple("proxy_set_header", "X-Real-IP", "$remote_addr"),
		simple("proxy_http_version", "1.1"),
		simple("proxy_set_header", "Upgrade", "$http_upgrade"),
		simple("proxy_set_header", "Connection", "$http_connection"),
		simple("proxy_read_timeout", "300s"),
		simple("proxy_next_upstream", "error", "timeout"),
		simple("proxy_redirect", "off"),
	}
}

func (s Site) maxBodySize() string {
	if s.MaxBodySize == "" {
		return defaultMaxBodySize
	}
	return s.MaxBodySize
}

func simple(name string, args ...string) *crossplane.Directive {
	return &crossplane.Directive{Directive: name, Args: args}
}

// block makes a block directive; Block must be non-nil or crossplane prints
// it as a simple directive.
func block(name string, args []string, body ...*crossplane.Directive) *crossplane.Directive {
	if body == nil {
		body = crossplane.Directives{}
	}
	return &crossplane.Directive{Directive: name, Args: args, Block: body}
}

// parseBack parses conf as a lone per-app file and checks it holds exactly
// the directives it was built from, so a quoting slip cannot change meaning.
func parseBack(name string, conf []byte, want crossplane.Directives) error {
	payload, err := crossplane.Parse(name, &crossplane.ParseOptions{
		SingleFile:                true,
		ParseComments:             true,
		StopParsingOnError:        true,
		ErrorOnUnknownDirectives:  true,
		SkipDirectiveContextCheck: true,
		Open: func(string) (io.Reader, error) {
			return bytes.NewReader(conf), nil
		},
	})
	if err != nil {
		return err
	}
	if len(payload.Config) != 1 {
		return fmt.Errorf("parsed %d files, want 1", len(payload.Config))
	}
	return sameDirectives(payload.Config[0].Parsed, want)
}

// sameDirectives compares names, arguments, comments and blocks, ignoring
// line numbers and file names.
func sameDirectives(got, want crossplane.Directives) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d directives, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Directive != w.Directive || !slices.Equal(g.Args, w.Args) ||
			g.IsBlock() != w.IsBlock() || !commentEqual(g.Comment, w.Comment) {
			return fmt.Errorf("got %q, want %q", g.String(), w.String())
		}
		if err := sameDirectives(g.Block, w.Block); err != nil {
			return fmt.Errorf("in %s: %w", w.Directive, err)
		}
	}
	return nil
}

func commentEqual(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func (s Site) tlsField(get func(*TLS) string) string {
	if s.TLS == nil {
		return ""
	}
	return get(s.TLS)
}
