package release

import (
	"net/netip"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// The Procfile's web line is what the web container runs, through
// /bin/sh -c when the image has a shell; the processes and app.json's
// jobs are recorded with the release.
func TestDeployProcfileWeb(t *testing.T) {
	e := newOsEnv(t)
	e.src.files["Procfile"] = "web: /web -greeting $GREETING\nworker: /work\n"
	e.src.files["app.json"] = `{"cron": [{"command": "/tidy", "schedule": "*/5 * * * *"}]}`
	r := e.mustDeploy(t, sha1)
	if want := map[string]string{"web": "/web -greeting $GREETING", "worker": "/work"}; !reflect.DeepEqual(r.Processes, want) {
		t.Errorf("processes %v, want %v", r.Processes, want)
	}
	if len(r.Cron) != 1 || r.Cron[0].Command != "/tidy" || r.Cron[0].Schedule != "*/5 * * * *" || r.Cron[0].ID == "" {
		t.Errorf("cron %+v", r.Cron)
	}
	web := e.lastSpecOf(t, "web")
	if got, want := web.Command, []string{"/bin/sh", "-c", "/web -greeting $GREETING"}; !reflect.DeepEqual(got, want) {
		t.Errorf("command %q, want %q", got, want)
	}
	if got, want := e.lastSpecOf(t, "worker").Command, []string{"/bin/sh", "-c", "/work"}; !reflect.DeepEqual(got, want) {
		t.Errorf("worker command %q, want %q", got, want)
	}

	// No shell in the image (FROM scratch): split into words.
	e.rt.noShell = true
	e.src.files["Procfile"] = "web: /web -listen 5000\n"
	e.mustDeploy(t, sha2)
	if got, want := e.lastSpec(t).Command, []string{"/web", "-listen", "5000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("command without a shell %q, want %q", got, want)
	}

	// No Procfile: the image's CMD, nothing recorded.
	delete(e.src.files, "Procfile")
	delete(e.src.files, "app.json")
	r = e.mustDeploy(t, sha1)
	if r.Processes != nil || r.Cron != nil || e.lastSpec(t).Command != nil {
		t.Errorf("without a Procfile: processes %v, cron %v, command %q", r.Processes, r.Cron, e.lastSpec(t).Command)
	}
}

// A malformed Procfile or app.json fails the deploy with its one line
// before anything is built or started.
func TestDeployBadManifests(t *testing.T) {
	for name, tt := range map[string]struct{ file, content, want string }{
		"procfile": {"Procfile", "web /web\n", "Procfile line 1"},
		"app.json": {"app.json", `{"cron": [{"command": "/x", "schedule": "@every 5m"}]}`, "app.json cron job 1"},
	} {
		t.Run(name, func(t *testing.T) {
			e := newOsEnv(t)
			e.src.files[tt.file] = tt.content
			r, err, out := e.deploy(t, sha1)
			if err == nil {
				t.Fatalf("deploy went through:\n%s", out)
			}
			if !strings.Contains(r.Reason, tt.want) || strings.Contains(r.Reason, "\n") {
				t.Errorf("reason %q, want one line with %q", r.Reason, tt.want)
			}
			if len(e.b.reqs) != 0 || len(e.rt.specs) != 0 {
				t.Errorf("%d builds, %d starts after a bad %s", len(e.b.reqs), len(e.rt.specs), tt.file)
			}
		})
	}
}

// A rollback and a config release run the processes and jobs of the
// release they release again, never those of the newest commit.
func TestRereleaseKeepsProcesses(t *testing.T) {
	e := newOsEnv(t)
	e.src.files["Procfile"] = "web: /one\n"
	e.src.files["app.json"] = `{"cron": [{"command": "/one-job", "schedule": "@daily"}]}`
	v1 := e.mustDeploy(t, sha1)
	e.src.files["Procfile"] = "web: /two\n"
	delete(e.src.files, "app.json")
	v2 := e.mustDeploy(t, sha2)

	var out strings.Builder
	if err := e.d.Reconfigure(t.Context(), "demo", "test", &out, func(a *state.App) error { return nil }); err != nil {
		t.Fatalf("Reconfigure: %v\n%s", err, out.String())
	}
	v3, err := e.store.Get("demo", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v3.Processes, v2.Processes) || v3.Cron != nil {
		t.Errorf("config release: processes %v, cron %v; want v2's %v, none", v3.Processes, v3.Cron, v2.Processes)
	}
	rb, err, o := e.rollback(t, "v1")
	if err != nil {
		t.Fatalf("rollback: %v\n%s", err, o)
	}
	if !reflect.DeepEqual(rb.Processes, v1.Processes) || !reflect.DeepEqual(rb.Cron, v1.Cron) {
		t.Errorf("rollback: processes %v, cron %v; want v1's %v, %v", rb.Processes, rb.Cron, v1.Processes, v1.Cron)
	}
	if got, want := e.lastSpec(t).Command, []string{"/bin/sh", "-c", "/one"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rollback runs %q, want %q", got, want)
	}
}

// An app that listens only on $PORT is served through its published
// loopback port.
func TestDeployPortApp(t *testing.T) {
	e := newOsEnv(t)
	e.rt.onPort = true
	r := e.mustDeploy(t, sha1)
	if r.Listen != state.ListenPort {
		t.Errorf("listen %q, want port", r.Listen)
	}
	port := e.rt.ports["gitship-demo-v1"]
	if len(r.Procs) != 1 || r.Procs[0].Port != port || port == 0 {
		t.Fatalf("procs %+v, want port %d", r.Procs, port)
	}
	conf := e.lastConf(t)
	if want := "server 127.0.0.1:" + strconv.Itoa(port) + " max_fails=0;"; !strings.Contains(conf, want) || strings.Contains(conf, "unix:") {
		t.Errorf("nginx config lacks %q or has a socket:\n%s", want, conf)
	}
	if sp := e.lastSpec(t); sp.Port != WebPort || sp.Env["PORT"] != "5000" {
		t.Errorf("spec port %d, env PORT %q", sp.Port, sp.Env["PORT"])
	}
}

// web=2 runs two web containers, each with its own name and socket dir,
// in one upstream; the next deploy retires both.
func TestDeployWebScale(t *testing.T) {
	e := newOsEnv(t)
	e.editApp(t, func(a *state.App) { a.Settings.Scale = map[string]int{"web": 2} })
	r := e.mustDeploy(t, sha1)
	sock := filepath.Join(e.d.Config.RunDir, "demo", "v1")
	want := []state.Proc{
		{Type: "web", Index: 1, Name: "gitship-demo-v1", Socket: filepath.Join(sock, "web.sock"), Port: e.rt.ports["gitship-demo-v1"]},
		{Type: "web", Index: 2, Name: "gitship-demo-v1-web-2", Socket: filepath.Join(sock, "web-2", "web.sock"), Port: e.rt.ports["gitship-demo-v1-web-2"]},
	}
	if !reflect.DeepEqual(r.Procs, want) {
		t.Fatalf("procs\n got %+v\nwant %+v", r.Procs, want)
	}
	if r.Container != want[0].Name || r.Socket != want[0].Socket {
		t.Errorf("container %s, socket %s: want web 1's", r.Container, r.Socket)
	}
	conf := e.lastConf(t)
	for _, p := range want {
		rel, _ := filepath.Rel(sock, p.Socket)
		if via := filepath.Join(e.d.liveLink("demo"), rel); !strings.Contains(conf, "server unix:"+via+" max_fails=0;") {
			t.Errorf("nginx config lacks %s:\n%s", via, conf)
		}
	}
	e.mustDeploy(t, sha2)
	for _, p := range want {
		if !e.rt.hasCall("stop "+p.Name) || e.rt.isRunning(p.Name) {
			t.Errorf("%s not stopped and removed after the next deploy", p.Name)
		}
	}
	if e.exists(t, sock) {
		t.Errorf("socket dir %s left behind", sock)
	}
}

// A failed health check removes every web container of the release.
func TestFailRemovesEveryWeb(t *testing.T) {
	e := newOsEnv(t)
	e.editApp(t, func(a *state.App) { a.Settings.Scale = map[string]int{"web": 3} })
	e.setHealthTimeout(t, 300*time.Millisecond)
	e.rt.noSocket = true
	if _, err, out := e.deploy(t, sha1); err == nil {
		t.Fatalf("deploy went through:\n%s", out)
	}
	for _, n := range []string{"gitship-demo-v1", "gitship-demo-v1-web-2", "gitship-demo-v1-web-3"} {
		if !e.rt.hasCall("remove "+n) || e.rt.isRunning(n) {
			t.Errorf("%s left after the failed deploy", n)
		}
	}
}

// While it waits, the health check says so; when nothing answers it says
// what the app listens on.
func TestHealthWaitsAndSaysWhatTheAppListensOn(t *testing.T) {
	e := newOsEnv(t)
	e.d.healthEvery = 20 * time.Millisecond
	e.setHealthTimeout(t, 500*time.Millisecond)
	e.rt.noSocket = true
	e.rt.listening = []container.Listener{{Addr: netip.MustParseAddr("0.0.0.0"), Port: 8080}}
	r, err, out := e.deploy(t, sha1)
	if err == nil {
		t.Fatalf("deploy went through:\n%s", out)
	}
	wantLines(t, out, `^       waiting for v1 web\.1 to answer / on \$GITSHIP_SOCKET or \$PORT \(5000\): [0-9.]+m?s of 500ms$`)
	hint := "the app listens on port 8080, not on $PORT (5000): listen on $PORT or on the unix socket $GITSHIP_SOCKET"
	if !strings.Contains(r.Reason, hint) {
		t.Errorf("reason %q lacks %q", r.Reason, hint)
	}
}

func TestListenHint(t *testing.T) {
	any4, lo := netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("127.0.0.1")
	tests := []struct {
		ls   []container.Listener
		want string
	}{
		{nil, "it listens on neither $GITSHIP_SOCKET nor $PORT (5000)"},
		{[]container.Listener{{Addr: any4, Port: 8080}}, "the app listens on port 8080, not on $PORT (5000): listen on $PORT or on the unix socket $GITSHIP_SOCKET"},
		{[]container.Listener{{Addr: lo, Port: 5000}}, "it listens on 127.0.0.1:5000 inside its container: listen on 0.0.0.0"},
		{[]container.Listener{{Addr: any4, Port: 5000}}, ""},
	}
	for _, tt := range tests {
		if got := listenHint(tt.ls); got != tt.want {
			t.Errorf("listenHint(%v) = %q, want %q", tt.ls, got, tt.want)
		}
	}
}

// HasShell is asked once per release, not once per container.
func TestHasShellAskedOnce(t *testing.T) {
	e := newOsEnv(t)
	e.editApp(t, func(a *state.App) { a.Settings.Scale = map[string]int{"web": 3} })
	e.src.files["Procfile"] = "web: /web\n"
	e.mustDeploy(t, sha1)
	if e.rt.shellAsks != 1 {
		t.Errorf("HasShell asked %d times, want 1", e.rt.shellAsks)
	}
}

// Status says what the release listens on and lists every web container.
func TestStatusListensAndWebContainers(t *testing.T) {
	e := newOsEnv(t)
	e.rt.onPort = true
	e.editApp(t, func(a *state.App) { a.Settings.Scale = map[string]int{"web": 2} })
	e.mustDeploy(t, sha1)
	var out strings.Builder
	if err := e.d.WriteStatus(t.Context(), &out, "demo"); err != nil {
		t.Fatalf("status: %v\n%s", err, out.String())
	}
	p1, p2 := e.rt.ports["gitship-demo-v1"], e.rt.ports["gitship-demo-v1-web-2"]
	wantLines(t, out.String(),
		`^listens: +port 5000 \(published on 127\.0\.0\.1:`+strconv.Itoa(p1)+`, 127\.0\.0\.1:`+strconv.Itoa(p2)+`\)$`,
		`^container: +gitship-demo-v1 running \(web\.1\)$`,
		`^container: +gitship-demo-v1-web-2 running \(web\.2\)$`)
}

// lastSpecOf is the spec of the last container started for process type typ.
func (e *env) lastSpecOf(t *testing.T, typ string) container.Spec {
	t.Helper()
	e.rt.mu.Lock()
	defer e.rt.mu.Unlock()
	for i := len(e.rt.specs) - 1; i >= 0; i-- {
		if e.rt.specs[i].Process == typ {
			return e.rt.specs[i]
		}
	}
	t.Fatalf("no %s container started", typ)
	return container.Spec{}
}
