package nginx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/afero"
)

// debianV is what Debian's nginx -V prints (on stderr), shortened.
const debianV = `nginx version: nginx/1.22.1
built with OpenSSL 3.0.9 30 May 2023
configure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --pid-path=/run/nginx.pid --modules-path=/usr/lib/nginx/modules
`

func TestPidPath(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		pidFile string // the config's [nginx] pid
		prefix  string
		v       string // nginx -V's output; "" fails if run
		want    string
	}{
		{name: "absolute pid directive",
			files: map[string]string{"/etc/nginx/nginx.conf": "user www-data;\npid /run/custom.pid;\nevents {}\nhttp { include /etc/nginx/gitship/*.conf; }\n"},
			want:  "/run/custom.pid"},
		{name: "relative to the prefix",
			files:  map[string]string{"/srv/ngx/nginx.conf": "pid  logs/nginx.pid;\nevents {}\n"},
			prefix: "/srv/ngx", want: "/srv/ngx/logs/nginx.pid"},
		{name: "relative to the compiled prefix",
			files: map[string]string{"/etc/nginx/nginx.conf": "pid nginx.pid;\n"},
			v:     debianV, want: "/usr/share/nginx/nginx.pid"},
		{name: "in a main-context include",
			files: map[string]string{
				"/etc/nginx/nginx.conf":    "include /etc/nginx/main.d/*.conf;\nevents {}\n",
				"/etc/nginx/main.d/a.conf": "pid /run/included.pid;\n",
			},
			want: "/run/included.pid"},
		{name: "no pid directive: the compiled default",
			files: map[string]string{"/etc/nginx/nginx.conf": "events {}\nhttp { server { listen 80; } }\n"},
			v:     debianV, want: "/run/nginx.pid"},
		{name: "no pid directive nor --pid-path: nginx's own default",
			files: map[string]string{"/etc/nginx/nginx.conf": "events {}\n"},
			v:     "nginx version: nginx/1.27.0\nconfigure arguments: --prefix=/opt/ngx\n", want: "/opt/ngx/logs/nginx.pid"},
		{name: "a pid in a server block is not nginx's",
			files: map[string]string{"/etc/nginx/nginx.conf": "events {}\nhttp { server { pid /nope; } }\n"},
			v:     debianV, want: "/run/nginx.pid"},
		{name: "the key wins", pidFile: "/run/explicit.pid",
			files: map[string]string{"/etc/nginx/nginx.conf": "pid /run/custom.pid;\n"},
			want:  "/run/explicit.pid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := afero.NewMemMapFs()
			var conf string
			for name, content := range tc.files {
				if filepath.Base(name) == "nginx.conf" {
					conf = name
				}
				if err := afero.WriteFile(fs, name, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var calls [][]string
			m := &Manager{Fs: fs, Conf: conf, Prefix: tc.prefix, PidFile: tc.pidFile, Binary: "/usr/sbin/nginx",
				Run: func(_ context.Context, argv []string) ([]byte, error) {
					calls = append(calls, argv)
					if tc.v == "" {
						return nil, errors.New("nginx -V should not run here")
					}
					return []byte(tc.v), nil
				}}
			got, err := m.pidPath(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("pid file = %q, want %q", got, tc.want)
			}
			if tc.v != "" && !slices.EqualFunc(calls, [][]string{{"/usr/sbin/nginx", "-V"}}, slices.Equal[[]string]) {
				t.Errorf("commands = %q, want nginx -V once", calls)
			}
			if _, err := m.pidPath(context.Background()); err != nil || len(calls) > 1 {
				t.Errorf("second lookup: %v, %d commands: want the first answer kept", err, len(calls))
			}
		})
	}
}

func TestPidPathWithoutMainConfig(t *testing.T) {
	m := &Manager{Fs: afero.NewMemMapFs(), Conf: "/etc/nginx/nginx.conf"}
	if p, err := m.pidPath(context.Background()); err == nil || !strings.Contains(err.Error(), "/etc/nginx/nginx.conf") {
		t.Errorf("pidPath = %q, %v; want an error naming the main config", p, err)
	}
}

func TestMasterChecked(t *testing.T) {
	proc := fakeProc(t, "100", "100 (nginx) S 1 100", "nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf\x00")
	writeProc(t, proc, "101", "101 (nginx) S 100 100", "nginx: worker process\x00")
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, pidFile, want string
	}{
		{"master", write("ok.pid", "100\n"), ""},
		{"missing", filepath.Join(dir, "missing.pid"), "read nginx's pid file"},
		{"garbage", write("garbage.pid", "nginx\n"), "holds no pid"},
		{"not running", write("gone.pid", "999\n"), "process 999 of nginx's pid file " + dir + "/gone.pid is not running"},
		{"a worker", write("worker.pid", "101\n"), "is not nginx's master"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Manager{PidFile: tc.pidFile, ProcDir: proc}
			pid, err := m.master(context.Background())
			if tc.want == "" {
				if err != nil || pid != 100 {
					t.Fatalf("master = %d, %v; want 100", pid, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("master = %d, %v; want an error with %q", pid, err, tc.want)
			}
		})
	}
}

func TestReloadSaysWhenUnwatched(t *testing.T) {
	proc := fakeProc(t, "100", "100 (nginx) S 1 100", "nginx: master process\x00")
	writeProc(t, proc, "101", "101 (nginx) S 100 100", "nginx: worker process is shutting down\x00")
	fs := afero.NewMemMapFs()
	pidFile := filepath.Join(t.TempDir(), "nginx.pid")
	if err := os.WriteFile(pidFile, []byte("100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(fs, "/etc/nginx/nginx.conf", []byte("pid "+pidFile+";\nevents {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(context.Context, []string) ([]byte, error) { return nil, nil }
	m := &Manager{Fs: fs, Conf: "/etc/nginx/nginx.conf", ProcDir: proc, Run: run}
	if err := m.ReloadConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Unwatched(); err != nil {
		t.Errorf("Unwatched with the pid from the main config: %v", err)
	}
	if !slices.Equal(m.lastOld, []int{101}) {
		t.Errorf("old workers = %v, want [101]", m.lastOld)
	}
	wrong := &Manager{Fs: fs, Conf: "/etc/nginx/nginx.conf", PidFile: "/nonexistent/nginx.pid", ProcDir: proc, Run: run}
	if err := wrong.ReloadConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := wrong.Unwatched(); err == nil || !strings.Contains(err.Error(), "/nonexistent/nginx.pid") {
		t.Errorf("Unwatched with a wrong pid file = %v, want an error naming it", err)
	}
}
