package nginx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/gitship/gitship/nginx"

	"github.com/gitship/gitship/internal/testenv"
)

// realNginx returns the nginx binary, skipping the test when it is missing
// unless GITSHIP_E2E=1 demands it.
func realNginx(t *testing.T) string {
	t.Helper()
	const bin = "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if os.Getenv("GITSHIP_E2E") == "1" {
		t.Fatalf("GITSHIP_E2E=1 but nginx binary %s not found (nor nginx in $PATH)", bin)
	}
	t.Skipf("nginx binary %s not found (nor nginx in $PATH); set GITSHIP_E2E=1 to make this fatal", bin)
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// privateNginx writes a main config under a temp prefix that includes
// CONFDIR/*.conf, and a Manager for it on the real file system.
func privateNginx(t *testing.T) *nginx.Manager {
	t.Helper()
	bin := realNginx(t)
	prefix := t.TempDir()
	confDir := filepath.Join(prefix, "apps")
	for _, dir := range []string{confDir, filepath.Join(prefix, "tmp")} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var temps strings.Builder
	for _, kind := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "    %s_temp_path %s;\n", kind, filepath.Join(prefix, "tmp", kind))
	}
	conf := filepath.Join(prefix, "nginx.conf")
	main := fmt.Sprintf("pid %s;\nerror_log %s;\nevents {}\nhttp {\n    access_log %s;\n%s    include %s/*.conf;\n}\n",
		filepath.Join(prefix, "nginx.pid"), filepath.Join(prefix, "error.log"),
		filepath.Join(prefix, "access.log"), temps.String(), confDir)
	if err := os.WriteFile(conf, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	// nginx is not started here, so "reload" is one more nginx -t.
	return &nginx.Manager{
		Fs:      afero.NewOsFs(),
		ConfDir: confDir,
		Binary:  bin,
		Conf:    conf,
		Prefix:  prefix,
		Reload:  []string{bin, "-p", prefix, "-t", "-q", "-c", conf},
	}
}

func TestRealNginx(t *testing.T) {
	m := privateNginx(t)
	ctx := context.Background()
	site := nginx.Site{
		App:     "myapp",
		Release: "v1",
		Domains: []string{"myapp.test", "www.myapp.test"},
		Socket:  filepath.Join(m.Prefix, "run", "myapp.sock"),
		Listen:  fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}
	good, err := nginx.Render(site)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(ctx); err != nil {
		t.Fatalf("Check with no apps: %v", err)
	}
	changed, err := m.Install(ctx, "myapp", good)
	if err != nil || !changed {
		t.Fatalf("Install valid config: changed=%v err=%v", changed, err)
	}
	if changed, err := m.Install(ctx, "myapp", good); err != nil || changed {
		t.Fatalf("Install same config: changed=%v err=%v, want false, nil", changed, err)
	}

	bad := append(append([]byte{}, good...), "gitship_bogus on;\n"...)
	_, err = m.Install(ctx, "myapp", bad)
	var rej *nginx.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("Install with an unknown directive: %v, want a *RejectedError", err)
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), `unknown directive "gitship_bogus"`) {
		t.Errorf("error is not nginx's one line: %q", err)
	}
	t.Logf("rejection: %v", err)
	path := filepath.Join(m.ConfDir, "myapp.conf")
	if got, err := os.ReadFile(path); err != nil || string(got) != string(good) {
		t.Errorf("file after rejection is not the previous one (err %v):\n%s", err, got)
	}
	if err := m.Check(ctx); err != nil {
		t.Errorf("Check after restore: %v", err)
	}

	odd := site
	odd.App = "odd"
	odd.Socket = filepath.Join(m.Prefix, "my apps", "odd;1.sock")
	odd.Domains = []string{"odd.test", `~^(?<sub>.+)\.odd\.test$`}
	oddConf, err := nginx.Render(odd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Install(ctx, "odd", oddConf); err != nil {
		t.Fatalf("Install with a quoted socket path and a regex name: %v", err)
	}
	if err := m.Remove(ctx, "odd"); err != nil {
		t.Fatalf("Remove odd: %v", err)
	}

	if err := m.Remove(ctx, "myapp"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	entries, err := os.ReadDir(m.ConfDir)
	if err != nil || len(entries) != 0 {
		t.Errorf("conf dir after Remove: %v %v, want empty", entries, err)
	}
}

// TestRealNginxSettle: once Settle returns after an Install, every new
// connection gets the new config. nginx's master starts new workers on a
// reload and tells the old one to stop accepting only 100 ms later; Settle
// waits for that (workers.go), or a request right after a switch could
// still reach the release switched from.
func TestRealNginxSettle(t *testing.T) {
	m := privateNginx(t)
	ctx := context.Background()
	const host = "settle.test"
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	install := func(release string) {
		t.Helper()
		conf, err := nginx.Render(nginx.Site{App: "settle", Release: release, Domains: []string{host},
			Socket: filepath.Join(m.Prefix, "settle.sock"), Listen: listen})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Install(ctx, "settle", conf); err != nil {
			t.Fatalf("Install %s: %v", release, err)
		}
	}
	install("v1")
	startNginx(t, m)
	m.Reload = []string{m.Binary, "-p", m.Prefix, "-c", m.Conf, "-s", "reload"}
	if err := nginx.WaitServed(ctx, listen, host, "settle", "v1", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	marker := func() string {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+nginx.MarkerPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET marker: %v", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	for i := 2; i <= 4; i++ {
		release := fmt.Sprintf("v%d", i)
		install(release)
		if err := m.Settle(ctx); err != nil {
			t.Fatalf("Settle after %s: %v", release, err)
		}
		for k := 0; k < 20; k++ {
			if got, want := marker(), nginx.MarkerBody("settle", release); got != want {
				t.Fatalf("request %d after Install of %s: %q, want %q (an old worker still accepts)", k, release, got, want)
			}
		}
	}
}
