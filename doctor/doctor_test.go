package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitship/gitship/certbot"
	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/nginx"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

type fakePodman struct {
	err  error
	list []container.State
}

var _ Podman = (*fakePodman)(nil)

func (f *fakePodman) Info(context.Context) (container.Info, error) {
	return container.Info{Version: "4.3.1", GraphRoot: "/var/lib/containers/storage"}, f.err
}

func (f *fakePodman) List(_ context.Context, labels map[string]string) ([]container.State, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []container.State
	for _, s := range f.list {
		if s.Labels[container.LabelRoot] == labels[container.LabelRoot] && s.Labels[container.LabelApp] == labels[container.LabelApp] {
			out = append(out, s)
		}
	}
	return out, nil
}

type fakeNginx struct{ check, master, include error }

var _ Nginx = (*fakeNginx)(nil)

func (f *fakeNginx) Check(context.Context) error { return f.check }
func (f *fakeNginx) Master(context.Context) (int, string, error) {
	return 42, "/run/nginx.pid", f.master
}
func (f *fakeNginx) ConfDirInclude() (string, error) { return "/etc/nginx/nginx.conf:30", f.include }

type fakeCerts map[string]time.Time

func (f fakeCerts) Lookup(name string) (certbot.Cert, bool, error) {
	t, ok := f[name]
	return certbot.Cert{Name: name, Fullchain: "/etc/letsencrypt/live/" + name + "/fullchain.pem", NotAfter: t}, ok, nil
}

// healthy is a Doctor whose every check passes: an instance with one app
// "web" live at v2 on a socket, nginx's user uid 33.
func healthy(t *testing.T) *Doctor {
	t.Helper()
	cfg := config.Default()
	cfg.Path = "/etc/gitship/config.toml"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	fs := ownedFs{afero.NewMemMapFs()}
	for _, d := range []string{cfg.Root, cfg.RunDir, cfg.Nginx.ConfDir, cfg.Certbot.ConfigDir, "/home/git/.ssh"} {
		if err := fs.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, content string, perm uint32) {
		t.Helper()
		if err := afero.WriteFile(fs, path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := fs.Chmod(path, fsMode(perm)); err != nil {
			t.Fatal(err)
		}
	}
	write(cfg.Nginx.Conf, "http {}\n", 0o644)
	write(cfg.SSH.AuthorizedKeys, "", 0o600)
	write(cfg.CronFile, "0 3 * * * root /usr/bin/gitship --config /etc/gitship/config.toml prune\n", 0o644)
	if err := state.SaveApp(fs, cfg.AppsDir(), &state.App{Name: "web", Settings: state.Settings{Domains: []string{"www.example.org"}}}); err != nil {
		t.Fatal(err)
	}
	sockDir := cfg.RunDir + "/web/v2"
	if err := fs.MkdirAll(sockDir, 0o770); err != nil {
		t.Fatal(err)
	}
	write(sockDir+"/web.sock", "", 0o770)
	rec := &state.Record{Version: 2, App: "web", Status: state.StatusLive,
		Listen: state.ListenSocket,
		// a socket app's $PORT is published too, and nothing listens there
		Procs: []state.Proc{{Type: "web", Index: 1, Name: "gitship-web-v2-abc", Socket: sockDir + "/web.sock", Port: 40001}}}
	if err := (&state.Store{Fs: fs, AppsDir: cfg.AppsDir()}).Save(rec); err != nil {
		t.Fatal(err)
	}
	return &Doctor{
		Config: &cfg,
		Fs:     fs,
		Podman: &fakePodman{list: []container.State{{Name: "gitship-web-v2-abc", Running: true, Status: "running",
			Labels: map[string]string{container.LabelRoot: cfg.Root, container.LabelApp: "web"}}}},
		Nginx:     &fakeNginx{},
		Certs:     fakeCerts{"web": now.Add(60 * 24 * time.Hour)},
		BuildKit:  func(context.Context, string) error { return errors.New("should not be asked") },
		LookPath:  func(f string) (string, error) { return f, nil },
		Statfs:    func(string) (Disk, error) { return Disk{Free: 50 << 30, Total: 100 << 30}, nil },
		Procs:     func() ([]string, error) { return []string{"systemd", "cron", "nginx"}, nil },
		Clock:     func() (bool, bool) { return true, true },
		NginxUser: func(string) (int, []int, error) { return 33, []int{33}, nil },
		Dial: func(_ context.Context, network, addr string) error {
			if network != "unix" {
				return errors.New("connection refused")
			}
			return nil
		},
		Readlink: func(path string) (string, error) {
			if path != cfg.LiveLink("web") {
				return "", fmt.Errorf("readlink %s: no such file or directory", path)
			}
			return "v2", nil
		},
		Me:        Identity{UID: 0, GIDs: []int{0}},
		Self:      "/usr/bin/gitship",
		Now:       func() time.Time { return now },
		BuildDate: now.Add(-24 * time.Hour),
	}
}

func run(d *Doctor) *Report {
	return d.Run(context.Background(), ok("config", "loaded "+d.Config.Path))
}

func find(r *Report, name string) *Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}

func TestHealthy(t *testing.T) {
	r := run(healthy(t))
	if !r.OK {
		var b bytes.Buffer
		r.Write(&b)
		t.Fatalf("report not ok:\n%s", b.String())
	}
	for _, name := range []string{"config", "path.root", "path.run_dir", "path.nginx.conf_dir", "path.nginx.conf",
		"path.certbot.webroot", "path.ssh.authorized_keys", "podman", "buildkit", "nginx.test", "nginx.master",
		"nginx.include", "certbot", "cert:web", "cron.file", "cron.daemon", "disk.storage", "disk.root", "apps",
		"app.containers:web", "app.listen:web", "app.link:web", "clock"} {
		c := find(r, name)
		if c == nil {
			t.Errorf("no check %s", name)
			continue
		}
		if c.Status != OK {
			t.Errorf("%s: %s %s", name, c.Status, c.Detail)
		}
	}
}

// TestBroken breaks one thing at a time: the named check has the status
// and says the fix; a failure makes the report fail, a warning does not.
func TestBroken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		breaks func(d *Doctor)
		check  string
		want   Status
		detail string // part of the detail
		fix    string // part of the fix
	}{
		{"podman down", func(d *Doctor) { d.Podman = &fakePodman{err: errors.New("podman API at /x.sock: connection refused")} },
			"podman", Fail, "connection refused", "podman.socket"},
		{"nginx -t rejects", func(d *Doctor) {
			d.Nginx = &fakeNginx{check: &nginx.RejectedError{Line: "nginx: [emerg] unknown directive \"bogus\""}}
		}, "nginx.test", Fail, "bogus", "correct or remove"},
		{"two blocks claim a name", func(d *Doctor) { d.Nginx = &fakeNginx{check: &nginx.ConflictError{Line: "conflicting server name"}} },
			"nginx.test", Warn, "conflicting", "domains remove"},
		{"no master", func(d *Doctor) { d.Nginx = &fakeNginx{master: errors.New("process 9 is not running")} },
			"nginx.master", Fail, "not running", "start nginx"},
		{"no include", func(d *Doctor) {
			d.Nginx = &fakeNginx{include: nginx.ErrNoInclude}
		}, "nginx.include", Fail, "never serves", "include /etc/nginx/gitship/*.conf;"},
		{"buildkit configured and down", func(d *Doctor) { d.Config.Builder = "buildkit"; d.BuildKit = fakeBK(errors.New("refused")) },
			"buildkit", Fail, "refused", "start buildkitd"},
		{"auto with a socket that does not answer", func(d *Doctor) {
			d.Config.Builder = "auto"
			d.BuildKit = fakeBK(errors.New("refused"))
			afero.WriteFile(d.Fs, "/run/buildkit/buildkitd.sock", nil, 0o600)
		}, "buildkit", Warn, "fall back to Podman", "start buildkitd"},
		{"no certbot", func(d *Doctor) { d.LookPath = func(string) (string, error) { return "", errors.New("nope") } },
			"certbot", Warn, "no certbot", "apt install certbot"},
		{"cert expired", func(d *Doctor) { d.Certs = fakeCerts{"web": now.Add(-time.Hour)} },
			"cert:web", Fail, "expired", "certs renew web"},
		{"cert under a week", func(d *Doctor) { d.Certs = fakeCerts{"www.example.org": now.Add(3 * 24 * time.Hour)} },
			"cert:www.example.org", Fail, "expires in 3 days", "certs renew web"},
		{"cert under 30 days", func(d *Doctor) { d.Certs = fakeCerts{"web": now.Add(20 * 24 * time.Hour)} },
			"cert:web", Warn, "20 days", "certs renew web"},
		{"no cron file", func(d *Doctor) { d.Fs.Remove(d.Config.CronFile) },
			"cron.file", Warn, "no cron file", "gitship cron install"},
		{"cron file of another binary", func(d *Doctor) { d.Self = "/opt/gitship/bin/gitship" },
			"cron.file", Warn, "does not name this binary /opt/gitship/bin/gitship", "gitship cron install"},
		{"no cron daemon", func(d *Doctor) { d.Procs = func() ([]string, error) { return []string{"init", "nginx"}, nil } },
			"cron.daemon", Warn, "no cron daemon", "cron"},
		{"disk low", func(d *Doctor) {
			d.Statfs = func(string) (Disk, error) { return Disk{Free: 800 << 20, Total: 8 << 30}, nil }
		},
			"disk.root", Warn, "800 MiB free under /var/lib/gitship (10% of 8.0 GiB)", "prune"},
		{"disk full", func(d *Doctor) {
			d.Statfs = func(string) (Disk, error) { return Disk{Free: 4 << 30, Total: 100 << 30}, nil }
		},
			"disk.storage", Fail, "4.0 GiB free under /var/lib/containers/storage (4%", "prune"},
		{"container stopped", func(d *Doctor) {
			d.Podman.(*fakePodman).list[0].Running = false
			d.Podman.(*fakePodman).list[0].Status = "exited"
		},
			"app.containers:web", Fail, "gitship-web-v2-abc is exited", "gitship boot"},
		{"container of another instance", func(d *Doctor) { d.Podman.(*fakePodman).list[0].Labels[container.LabelRoot] = "/elsewhere" },
			"app.containers:web", Fail, "gitship-web-v2-abc is gone", "gitship boot"},
		{"socket world-writable", func(d *Doctor) { d.Fs.Chmod("/run/gitship/web/v2/web.sock", 0o777) },
			"app.listen:web", Fail, "world-writable (0777)", "2770"},
		{"socket nginx cannot connect", func(d *Doctor) { d.Fs.Chmod("/run/gitship/web/v2/web.sock", 0o755) },
			"app.listen:web", Fail, "cannot connect", "gitship deploy web"},
		{"socket does not answer", func(d *Doctor) {
			d.Dial = func(context.Context, string, string) error { return errors.New("connection refused") }
		}, "app.listen:web", Fail, "connection refused", "gitship logs web"},
		{"port app not listening", func(d *Doctor) {
			rec, _ := (&state.Store{Fs: d.Fs, AppsDir: d.Config.AppsDir()}).Live("web")
			rec.Listen = state.ListenPort
			(&state.Store{Fs: d.Fs, AppsDir: d.Config.AppsDir()}).Save(rec)
		}, "app.listen:web", Fail, "127.0.0.1:40001 of gitship-web-v2-abc: connection refused", "gitship boot"},
		{"live link names another release", func(d *Doctor) {
			d.Readlink = func(string) (string, error) { return "v1", nil }
		}, "app.link:web", Fail, "/run/gitship/web/live names /run/gitship/web/v1, not /run/gitship/web/v2 (the socket dir of v2)", "gitship boot"},
		{"live link gone", func(d *Doctor) {
			d.Readlink = func(p string) (string, error) { return "", fmt.Errorf("readlink %s: no such file or directory", p) }
		}, "app.link:web", Fail, "nginx cannot reach v2", "gitship boot"},
		{"authorized_keys group-writable", func(d *Doctor) { d.Fs.Chmod(d.Config.SSH.AuthorizedKeys, 0o664) },
			"path.ssh.authorized_keys", Fail, "sshd ignores it", "chmod go-w"},
		{"root world-writable", func(d *Doctor) { d.Fs.Chmod(d.Config.Root, 0o777) },
			"path.root", Fail, "world-writable", "chmod o-w /var/lib/gitship"},
		{"root not writable by gitship's user", func(d *Doctor) { d.Me = Identity{UID: 1000, GIDs: []int{1000}}; d.Fs.Chmod(d.Config.Root, 0o555) },
			"path.root", Fail, "not writable by uid 1000", "chown 1000"},
		{"main nginx config missing", func(d *Doctor) { d.Fs.Remove(d.Config.Nginx.Conf) },
			"path.nginx.conf", Fail, "does not exist", "nginx.conf"},
		{"clock before the build", func(d *Doctor) { d.BuildDate = now.Add(time.Hour) },
			"clock", Fail, "before this gitship was built", "set the clock"},
		{"clock not synchronized", func(d *Doctor) { d.Clock = func() (bool, bool) { return false, true } },
			"clock", Warn, "not synchronized", "NTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := healthy(t)
			tc.breaks(d)
			r := run(d)
			c := find(r, tc.check)
			if c == nil {
				t.Fatalf("no check %s in %+v", tc.check, r.Checks)
			}
			if c.Status != tc.want || !strings.Contains(c.Detail, tc.detail) || !strings.Contains(c.Fix, tc.fix) {
				t.Errorf("%s: got %s %q (fix %q), want %s with %q (fix with %q)", tc.check, c.Status, c.Detail, c.Fix, tc.want, tc.detail, tc.fix)
			}
			if r.OK != (tc.want != Fail) {
				t.Errorf("report ok = %v with a %s", r.OK, tc.want)
			}
			for _, other := range r.Checks {
				if other.Name != tc.check && other.Status == Fail && tc.want != Fail {
					t.Errorf("%s also failed: %s", other.Name, other.Detail)
				}
			}
		})
	}
}

func fakeBK(err error) func(context.Context, string) error {
	return func(context.Context, string) error { return err }
}

func TestWrite(t *testing.T) {
	r := &Report{OK: false, Checks: []Check{
		ok("podman", "podman 4.3.1 answers"),
		fail("nginx.test", "nginx -t rejected the configuration", "correct it"),
		warn("clock", "not synchronized", "run NTP"),
	}}
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := "ok    podman      podman 4.3.1 answers\n" +
		"FAIL  nginx.test  nginx -t rejected the configuration; fix: correct it\n" +
		"warn  clock       not synchronized; fix: run NTP\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := json.NewEncoder(&b).Encode(r); err != nil {
		t.Fatal(err)
	}
	var back struct {
		OK     bool
		Checks []struct{ Name, Status, Detail, Fix string }
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.OK || len(back.Checks) != 3 || back.Checks[1].Status != "fail" || back.Checks[1].Fix != "correct it" {
		t.Errorf("json %s: %+v %v", b.String(), back, err)
	}
}

func TestLoadConfig(t *testing.T) {
	fs := afero.NewMemMapFs()
	if _, c := LoadConfig(fs, "/etc/gitship/config.toml", false); c.Status != Warn || !strings.Contains(c.Detail, "defaults") {
		t.Errorf("no file at the default path: %+v", c)
	}
	afero.WriteFile(fs, "/x.toml", []byte("bogus = 1\n"), 0o644)
	if cfg, c := LoadConfig(fs, "/x.toml", true); cfg != nil || c.Status != Fail || !strings.Contains(c.Detail, "unknown key bogus") {
		t.Errorf("unknown key: %+v", c)
	}
	afero.WriteFile(fs, "/y.toml", []byte("root = \"/srv/gs\"\n"), 0o644)
	if cfg, c := LoadConfig(fs, "/y.toml", true); cfg == nil || c.Status != OK || c.Detail != "loaded /y.toml" {
		t.Errorf("good file: %+v", c)
	}
}

func fsMode(p uint32) fs.FileMode { return fs.FileMode(p) }

// ownedFs is a memory filesystem whose files all belong to root, group
// 33 (www-data): the permission checks need an owner.
type ownedFs struct{ afero.Fs }

func (o ownedFs) Stat(name string) (fs.FileInfo, error) {
	fi, err := o.Fs.Stat(name)
	if err != nil {
		return nil, err
	}
	return ownedInfo{fi}, nil
}

type ownedInfo struct{ fs.FileInfo }

func (ownedInfo) Sys() any { return &syscall.Stat_t{Uid: 0, Gid: 33} }

// TestKube: with no [kube] registry the check says no app can go there;
// with one, the API server and the registry must answer.
func TestKube(t *testing.T) {
	tests := []struct {
		name     string
		registry string
		kubeErr  error
		regErr   error
		want     Status
		detail   string
	}{
		{"not configured", "", nil, nil, OK, "no [kube] registry"},
		{"healthy", "127.0.0.1:5000/team", nil, nil, OK, "the API server answers (v1.33.13); the registry 127.0.0.1:5000/team answers"},
		{"API down", "127.0.0.1:5000/team", errors.New("kube: the API server at https://127.0.0.1:6443: connection refused"), nil, Fail, "connection refused"},
		{"registry down", "127.0.0.1:5000/team", nil, errors.New("registry 127.0.0.1:5000: connection refused"), Fail, "registry 127.0.0.1:5000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthy(t)
			d.Config.Kube.Registry = tt.registry
			d.Kube = func(context.Context) (string, error) { return "v1.33.13", tt.kubeErr }
			d.Registry = func(context.Context, string, bool) error { return tt.regErr }
			c := find(run(d), "kube")
			if c == nil {
				t.Fatal("no kube check")
			}
			if c.Status != tt.want || !strings.Contains(c.Detail, tt.detail) {
				t.Errorf("kube: %s %q, want %s containing %q", c.Status, c.Detail, tt.want, tt.detail)
			}
			if tt.want == Fail && c.Fix == "" {
				t.Error("a failed kube check says no fix")
			}
		})
	}
}
