package nginx_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/afero"

	"github.com/gitship/gitship/nginx"
)

const (
	confDir  = "/etc/nginx/gitship"
	mainConf = "/etc/nginx/nginx.conf"
	rejected = "nginx: [emerg] unknown directive \"foo\" in /etc/nginx/gitship/myapp.conf:3\n" +
		"nginx: configuration file /etc/nginx/nginx.conf test failed\n"
)

// fakeNginx records argv and fails -t or reload on demand.
type fakeNginx struct {
	calls     [][]string
	testOut   string // non-empty: -t fails with this output
	reloadOut string // non-empty: reload fails with this output
	seen      []string
	fs        afero.Fs
}

func (f *fakeNginx) run(_ context.Context, argv []string) ([]byte, error) {
	f.calls = append(f.calls, argv)
	if slices.Contains(argv, "-t") {
		f.seen = listDir(f.fs)
		if f.testOut != "" {
			return []byte(f.testOut), errors.New("exit status 1")
		}
		return nil, nil
	}
	if f.reloadOut != "" {
		return []byte(f.reloadOut), errors.New("exit status 1")
	}
	return nil, nil
}

func listDir(fs afero.Fs) []string {
	entries, err := afero.ReadDir(fs, confDir)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func newManager(t *testing.T) (*nginx.Manager, *fakeNginx) {
	t.Helper()
	fs := afero.NewMemMapFs()
	if err := fs.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fakeNginx{fs: fs}
	return &nginx.Manager{Fs: fs, ConfDir: confDir, Binary: "/usr/sbin/nginx", Conf: mainConf, Run: f.run}, f
}

func writeConf(t *testing.T, m *nginx.Manager, name, content string) {
	t.Helper()
	if err := afero.WriteFile(m.Fs, filepath.Join(confDir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readConf(t *testing.T, m *nginx.Manager, name string) (string, bool) {
	t.Helper()
	data, err := afero.ReadFile(m.Fs, filepath.Join(confDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data), true
}

var (
	testArgv   = []string{"/usr/sbin/nginx", "-t", "-q", "-c", mainConf}
	reloadArgv = []string{"/usr/sbin/nginx", "-c", mainConf, "-s", "reload"}
)

func checkCalls(t *testing.T, f *fakeNginx, want ...[]string) {
	t.Helper()
	if !slices.EqualFunc(f.calls, want, slices.Equal[[]string]) {
		t.Errorf("commands:\n got %q\nwant %q", f.calls, want)
	}
}

func TestInstallUnchanged(t *testing.T) {
	m, f := newManager(t)
	writeConf(t, m, "myapp.conf", "server {}\n")
	changed, err := m.Install(context.Background(), "myapp", []byte("server {}\n"))
	if err != nil || changed {
		t.Fatalf("Install: changed=%v err=%v, want false, nil", changed, err)
	}
	checkCalls(t, f)
}

func TestInstallNew(t *testing.T) {
	m, f := newManager(t)
	changed, err := m.Install(context.Background(), "myapp", []byte("new\n"))
	if err != nil || !changed {
		t.Fatalf("Install: changed=%v err=%v, want true, nil", changed, err)
	}
	checkCalls(t, f, testArgv, reloadArgv)
	if got, _ := readConf(t, m, "myapp.conf"); got != "new\n" {
		t.Errorf("file: got %q", got)
	}
	if got := listDir(m.Fs); !slices.Equal(got, []string{"myapp.conf"}) {
		t.Errorf("dir after Install: %q", got)
	}
	if got := f.seen; !slices.Equal(got, []string{"myapp.conf"}) {
		t.Errorf("dir during nginx -t: %q, want only the renamed file", got)
	}
	info, err := m.Fs.Stat(filepath.Join(confDir, "myapp.conf"))
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("mode: %v %v, want 0644", info.Mode(), err)
	}
}

func TestInstallTempNeverConf(t *testing.T) {
	m, _ := newManager(t)
	rec := &recordFs{Fs: m.Fs}
	m.Fs = rec
	if _, err := m.Install(context.Background(), "myapp", []byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if len(rec.created) == 0 {
		t.Fatal("no files created")
	}
	for _, name := range rec.created {
		if strings.HasSuffix(name, ".conf") {
			t.Errorf("wrote %s directly: nginx's *.conf include could read it half-written", name)
		}
	}
}

// recordFs records the files opened for writing.
type recordFs struct {
	afero.Fs
	created []string
}

func (r *recordFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE) != 0 {
		r.created = append(r.created, name)
	}
	return r.Fs.OpenFile(name, flag, perm)
}

func (r *recordFs) Create(name string) (afero.File, error) {
	r.created = append(r.created, name)
	return r.Fs.Create(name)
}

func TestInstallRejectedRestores(t *testing.T) {
	m, f := newManager(t)
	writeConf(t, m, "myapp.conf", "old\n")
	if err := m.Fs.Chmod(filepath.Join(confDir, "myapp.conf"), 0o640); err != nil {
		t.Fatal(err)
	}
	f.testOut = rejected
	changed, err := m.Install(context.Background(), "myapp", []byte("foo bar;\n"))
	if err == nil || changed {
		t.Fatalf("Install: changed=%v err=%v, want false and an error", changed, err)
	}
	want := `nginx -t rejected myapp.conf: nginx: [emerg] unknown directive "foo" in /etc/nginx/gitship/myapp.conf:3`
	if err.Error() != want {
		t.Errorf("error:\n got %q\nwant %q", err, want)
	}
	var rej *nginx.RejectedError
	if !errors.As(err, &rej) || rej.File != "myapp.conf" {
		t.Errorf("error %T is not a *RejectedError for myapp.conf", err)
	}
	checkCalls(t, f, testArgv)
	if got, _ := readConf(t, m, "myapp.conf"); got != "old\n" {
		t.Errorf("file after rejection: got %q, want the old content", got)
	}
	if info, err := m.Fs.Stat(filepath.Join(confDir, "myapp.conf")); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("mode after restore: %v %v, want 0640", info.Mode(), err)
	}
	if got := listDir(m.Fs); !slices.Equal(got, []string{"myapp.conf"}) {
		t.Errorf("dir after rejection: %q", got)
	}
}

func TestInstallRejectedNewRemoved(t *testing.T) {
	m, f := newManager(t)
	writeConf(t, m, "other.conf", "other\n")
	f.testOut = rejected
	if _, err := m.Install(context.Background(), "myapp", []byte("foo bar;\n")); err == nil {
		t.Fatal("Install: no error")
	}
	checkCalls(t, f, testArgv)
	if got := listDir(m.Fs); !slices.Equal(got, []string{"other.conf"}) {
		t.Errorf("dir after rejection: %q, want only other.conf", got)
	}
}

func TestInstallReloadFails(t *testing.T) {
	m, f := newManager(t)
	f.reloadOut = "nginx: [error] open() \"/run/nginx.pid\" failed (2: No such file or directory)\n"
	changed, err := m.Install(context.Background(), "myapp", []byte("new\n"))
	if err == nil || !changed {
		t.Fatalf("Install: changed=%v err=%v, want true and an error", changed, err)
	}
	if !strings.Contains(err.Error(), "reload nginx") || !strings.Contains(err.Error(), "/run/nginx.pid") {
		t.Errorf("error %q lacks the reload output", err)
	}
	if got, _ := readConf(t, m, "myapp.conf"); got != "new\n" {
		t.Errorf("file: got %q, want the new (valid) content kept", got)
	}
}

func TestInstallPrefixAndReloadArgv(t *testing.T) {
	m, f := newManager(t)
	m.Prefix = "/srv/nginx"
	if _, err := m.Install(context.Background(), "a", []byte("a\n")); err != nil {
		t.Fatal(err)
	}
	m.Reload = []string{"systemctl", "reload", "nginx"}
	if _, err := m.Install(context.Background(), "b", []byte("b\n")); err != nil {
		t.Fatal(err)
	}
	checkCalls(t, f,
		[]string{"/usr/sbin/nginx", "-p", "/srv/nginx", "-t", "-q", "-c", mainConf},
		[]string{"/usr/sbin/nginx", "-p", "/srv/nginx", "-c", mainConf, "-s", "reload"},
		[]string{"/usr/sbin/nginx", "-p", "/srv/nginx", "-t", "-q", "-c", mainConf},
		[]string{"systemctl", "reload", "nginx"},
	)
}

func TestInstallBadApp(t *testing.T) {
	for _, app := range []string{"", "../x", "a/b", ".hidden", "-x"} {
		m, f := newManager(t)
		if _, err := m.Install(context.Background(), app, []byte("x\n")); err == nil {
			t.Errorf("Install(%q): no error", app)
		}
		checkCalls(t, f)
	}
}

func TestInstallCancelled(t *testing.T) {
	m, f := newManager(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Install(ctx, "myapp", []byte("x\n")); !errors.Is(err, context.Canceled) {
		t.Errorf("Install: %v, want context.Canceled", err)
	}
	checkCalls(t, f)
	if got := listDir(m.Fs); len(got) != 0 {
		t.Errorf("dir: %q, want empty", got)
	}
}

func TestRemove(t *testing.T) {
	m, f := newManager(t)
	writeConf(t, m, "myapp.conf", "old\n")
	if err := m.Remove(context.Background(), "myapp"); err != nil {
		t.Fatal(err)
	}
	if _, ok := readConf(t, m, "myapp.conf"); ok {
		t.Error("file still there")
	}
	if err := m.Remove(context.Background(), "myapp"); err != nil {
		t.Fatalf("Remove of a missing file: %v", err)
	}
	checkCalls(t, f, testArgv, reloadArgv, testArgv, reloadArgv)
}

func TestRemoveRejectedRestores(t *testing.T) {
	m, f := newManager(t)
	writeConf(t, m, "myapp.conf", "old\n")
	f.testOut = rejected
	err := m.Remove(context.Background(), "myapp")
	var rej *nginx.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("Remove: %v, want a *RejectedError", err)
	}
	checkCalls(t, f, testArgv)
	if got, _ := readConf(t, m, "myapp.conf"); got != "old\n" {
		t.Errorf("file: got %q, want it restored", got)
	}
}

func TestCheck(t *testing.T) {
	m, f := newManager(t)
	if err := m.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.testOut = "nginx: [warn] conflicting server name \"a\" on 0.0.0.0:80, ignored\n" + rejected
	err := m.Check(context.Background())
	want := `nginx -t rejected the configuration: nginx: [emerg] unknown directive "foo" in /etc/nginx/gitship/myapp.conf:3`
	if err == nil || err.Error() != want {
		t.Errorf("Check:\n got %v\nwant %s", err, want)
	}
	checkCalls(t, f, testArgv, testArgv)
}

// TestCheckConflict: nginx -t passes a host name that two server blocks
// claim, with a warning; Check fails on it, in one line.
func TestCheckConflict(t *testing.T) {
	m, _ := newManager(t)
	m.Run = func(ctx context.Context, argv []string) ([]byte, error) {
		return []byte("2026/11/25 12:11:23 [warn] 10842#10842: conflicting server name \"shop.example.org\" on 127.0.0.1:18080, ignored\n"), nil
	}
	err := m.Check(context.Background())
	var conflict *nginx.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("Check: %v, want a *ConflictError", err)
	}
	want := `nginx check: two server blocks claim one host name, only the first is served: nginx: [warn] conflicting server name "shop.example.org" on 127.0.0.1:18080, ignored`
	if err.Error() != want {
		t.Errorf("Check:\n got %v\nwant %s", err, want)
	}
	// other warnings pass
	m.Run = func(ctx context.Context, argv []string) ([]byte, error) {
		return []byte("nginx: [warn] the \"http2\" directive is deprecated\n"), nil
	}
	if err := m.Check(context.Background()); err != nil {
		t.Errorf("Check with an unrelated warning: %v", err)
	}
}

func TestCheckCannotRun(t *testing.T) {
	m, _ := newManager(t)
	m.Run = nil
	m.Binary = filepath.Join(t.TempDir(), "no-such-nginx")
	err := m.Check(context.Background())
	var rej *nginx.RejectedError
	if err == nil || errors.As(err, &rej) {
		t.Fatalf("Check: %v, want a plain error for a missing binary", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error has several lines: %q", err)
	}
}

func TestCleanTemp(t *testing.T) {
	m, _ := newManager(t)
	for _, name := range []string{"myapp.conf", ".gitship-myapp-123.tmp", ".gitship-b-9.tmp", "notes.tmp", ".other"} {
		writeConf(t, m, name, "x")
	}
	removed, err := m.CleanTemp()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if want := []string{".gitship-b-9.tmp", ".gitship-myapp-123.tmp"}; !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	if got, want := listDir(m.Fs), []string{".other", "myapp.conf", "notes.tmp"}; !slices.Equal(got, want) {
		t.Errorf("left %q, want %q", got, want)
	}
}

func TestCleanTempMissingDir(t *testing.T) {
	m, _ := newManager(t)
	m.ConfDir = "/nowhere"
	if removed, err := m.CleanTemp(); err != nil || len(removed) != 0 {
		t.Errorf("CleanTemp: %q %v, want nothing", removed, err)
	}
}

func TestCheckTidiesLogFormat(t *testing.T) {
	m, f := newManager(t)
	f.testOut = "2026/11/25 12:11:23 [emerg] 10842#10842: unknown directive \"foo\" in /etc/nginx/gitship/myapp.conf:3\n" +
		"nginx: configuration file /etc/nginx/nginx.conf test failed\n"
	err := m.Check(context.Background())
	want := `nginx -t rejected the configuration: nginx: [emerg] unknown directive "foo" in /etc/nginx/gitship/myapp.conf:3`
	if err == nil || err.Error() != want {
		t.Errorf("Check:\n got %v\nwant %s", err, want)
	}
}

// InstallSwitch calls the switch after nginx -t accepted the file and
// before the reload; with unchanged bytes the switch is all it does.
func TestInstallSwitch(t *testing.T) {
	m, f := newManager(t)
	var at [][][]string
	sw := func() error {
		at = append(at, slices.Clone(f.calls))
		return nil
	}
	changed, err := m.InstallSwitch(context.Background(), "myapp", []byte("new\n"), sw)
	if err != nil || !changed {
		t.Fatalf("InstallSwitch: changed=%v err=%v, want true, nil", changed, err)
	}
	checkCalls(t, f, testArgv, reloadArgv)
	if len(at) != 1 || !slices.EqualFunc(at[0], [][]string{testArgv}, slices.Equal[[]string]) {
		t.Errorf("switch called after %q, want once, after nginx -t only", at)
	}
	f.calls, at = nil, nil
	changed, err = m.InstallSwitch(context.Background(), "myapp", []byte("new\n"), sw)
	if err != nil || changed {
		t.Fatalf("InstallSwitch unchanged: changed=%v err=%v, want false, nil", changed, err)
	}
	checkCalls(t, f)
	if len(at) != 1 {
		t.Errorf("switch called %d times for unchanged bytes, want 1", len(at))
	}
}

// A switch that fails puts the previous file back and does not reload;
// one refused by nginx -t is never called.
func TestInstallSwitchFails(t *testing.T) {
	m, f := newManager(t)
	writeConf(t, m, "myapp.conf", "old\n")
	boom := errors.New("boom")
	changed, err := m.InstallSwitch(context.Background(), "myapp", []byte("new\n"), func() error { return boom })
	if !errors.Is(err, boom) || changed {
		t.Fatalf("InstallSwitch: changed=%v err=%v, want false and boom", changed, err)
	}
	checkCalls(t, f, testArgv)
	if got, _ := readConf(t, m, "myapp.conf"); got != "old\n" {
		t.Errorf("file after a failed switch: %q, want the old content", got)
	}
	f.calls, f.testOut = nil, rejected
	called := false
	if _, err := m.InstallSwitch(context.Background(), "myapp", []byte("foo bar;\n"), func() error { called = true; return nil }); err == nil {
		t.Fatal("InstallSwitch of a rejected file: no error")
	}
	if called {
		t.Error("switch called for a file nginx -t rejected")
	}
}
