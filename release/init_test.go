package release

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// newInitDeployer is a Deployer on the real filesystem under root:
// hook.InitRepo writes the repository with os, not through afero.
func newInitDeployer(t *testing.T, root string) *Deployer {
	t.Helper()
	cfg := config.Default()
	cfg.Root, cfg.RunDir = root, filepath.Join(root, "run")
	cfg.SSH.Remote = "git@host"
	return &Deployer{Fs: afero.NewOsFs(), Config: &cfg, Now: newClock().Now, NginxGID: os.Getgid(), Locker: FileLock{}}
}

const (
	initBin = "/usr/local/bin/gitship"
	initCfg = "/etc/gitship/config.toml"
)

func TestInit(t *testing.T) {
	root := t.TempDir()
	d := newInitDeployer(t, root)
	res, err := d.Init(t.Context(), "demo", []string{"demo.example.org", "www.demo.example.org"}, initBin, initCfg)
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(root, "repos", "demo.git")
	if want := (InitResult{Repo: repo, Created: true, Remote: "git@host:demo.git"}); *res != want {
		t.Errorf("result %+v, want %+v", *res, want)
	}
	hookScript, err := os.ReadFile(filepath.Join(repo, "hooks", "post-receive"))
	if err != nil {
		t.Fatal(err)
	}
	if string(hookScript) != hook.HookScript(initBin, initCfg) {
		t.Errorf("post-receive:\n%s\nwant:\n%s", hookScript, hook.HookScript(initBin, initCfg))
	}
	if fi, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("repo has no HEAD file: %v", err)
	}
	for _, dir := range []string{"releases", "data"} {
		fi, err := os.Stat(filepath.Join(root, "apps", "demo", dir))
		if err != nil || !fi.IsDir() {
			t.Errorf("apps/demo/%s: %v", dir, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "apps", "demo", "data")); err == nil && fi.Mode() != os.ModeDir|os.ModeSetgid|0o770 {
		t.Errorf("data dir mode %v, want setgid 0770", fi.Mode())
	}
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, "apps", "demo", "data")); err != nil || fi.Sys().(*syscall.Stat_t).Gid != uint32(a.GID) || a.GID < AppGIDBase {
		t.Errorf("data dir: %v; want it in the app's own group (%d)", err, a.GID)
	}
	if a.Name != "demo" || a.Branch != "main" || a.Created.IsZero() ||
		!reflect.DeepEqual(a.Domains, []string{"demo.example.org", "www.demo.example.org"}) {
		t.Errorf("app %+v", a)
	}
}

func TestInitAgain(t *testing.T) {
	root := t.TempDir()
	d := newInitDeployer(t, root)
	if _, err := d.Init(t.Context(), "demo", []string{"demo.example.org"}, initBin, initCfg); err != nil {
		t.Fatal(err)
	}
	first, err := state.LoadApp(d.Fs, d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	// A release recorded in between must survive.
	st := d.Store()
	if err := st.Save(&state.Record{App: "demo", Version: 1, Status: state.StatusLive}); err != nil {
		t.Fatal(err)
	}

	// Again without domains: nothing changes, the hook is rewritten for
	// a moved binary.
	res, err := d.Init(t.Context(), "demo", nil, "/opt/gitship", initCfg)
	if err != nil {
		t.Fatalf("second Init: %v", err)
	}
	if res.Created {
		t.Error("second Init reports the repo as created")
	}
	again, err := state.LoadApp(d.Fs, d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Errorf("Init without domains changed the app:\n got %+v\nwant %+v", again, first)
	}
	hookScript, err := os.ReadFile(filepath.Join(res.Repo, "hooks", "post-receive"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hookScript), "'/opt/gitship'") {
		t.Errorf("hook not rewritten for the new binary:\n%s", hookScript)
	}
	if live, err := st.Live("demo"); err != nil || live == nil || live.Version != 1 {
		t.Errorf("release v1 lost by a second Init: %v, %v", live, err)
	}

	// Again with domains: only the domains change.
	if _, err := d.Init(t.Context(), "demo", []string{"new.example.org"}, initBin, initCfg); err != nil {
		t.Fatal(err)
	}
	third, err := state.LoadApp(d.Fs, d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	want := *first
	want.Domains = []string{"new.example.org"}
	if !reflect.DeepEqual(*third, want) {
		t.Errorf("Init with domains:\n got %+v\nwant %+v", *third, want)
	}
}

func TestInitRefusesBadInput(t *testing.T) {
	tests := []struct {
		name    string
		app     string
		domains []string
		want    string
	}{
		{"uppercase name", "Demo", nil, "invalid app name"},
		{"underscore name", "my_app", nil, "invalid app name"},
		{"empty name", "", nil, "invalid app name"},
		{"path name", "../x", nil, "invalid app name"},
		{"one-label domain", "demo", []string{"localhost"}, "invalid domain"},
		{"wildcard domain", "demo", []string{"ok.example.com", "*.example.com"}, "invalid domain"},
		{"trailing dot", "demo", []string{"demo.example.com."}, "invalid domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			d := newInitDeployer(t, root)
			_, err := d.Init(t.Context(), tt.app, tt.domains, initBin, initCfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Init = %v, want an error with %q", err, tt.want)
			}
			entries, err := os.ReadDir(root)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Errorf("root holds %d entries after a refused Init, want none", len(entries))
			}
		})
	}
}

func TestInitRemote(t *testing.T) {
	tests := []struct {
		remote string
		want   func(repo string) string
	}{
		{"git@host", func(repo string) string { return "git@host:demo.git" }},
		{"deploy@203.0.113.7", func(repo string) string { return "deploy@203.0.113.7:demo.git" }},
		{"", func(repo string) string { return repo }},
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			d := newInitDeployer(t, t.TempDir())
			d.Config.SSH.Remote = tt.remote
			res, err := d.Init(t.Context(), "demo", nil, initBin, initCfg)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.want(res.Repo); res.Remote != want {
				t.Errorf("Remote = %q, want %q", res.Remote, want)
			}
			if !filepath.IsAbs(res.Repo) {
				t.Errorf("Repo %q is not absolute", res.Repo)
			}
		})
	}
}

// TestInitKeepsUnreadableApp: an app.json that does not decode is an
// error, never silently replaced by a fresh app (losing its settings).
func TestInitKeepsUnreadableApp(t *testing.T) {
	root := t.TempDir()
	d := newInitDeployer(t, root)
	if _, err := d.Init(t.Context(), "demo", []string{"demo.example.org"}, initBin, initCfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(d.Config.AppsDir(), "demo", "app.json")
	bad := []byte(`{"name":"demo","branch":"prod","health_timeout":"soon"}`)
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Init(t.Context(), "demo", nil, initBin, initCfg); err == nil {
		t.Fatal("Init over an unreadable app.json succeeded")
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(bad) {
		t.Errorf("app.json was rewritten: %s", got)
	}
}
