package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containers/buildah/define"
	"github.com/containers/podman/v4/pkg/bindings"
	"github.com/containers/podman/v4/pkg/bindings/images"
	"github.com/containers/podman/v4/pkg/domain/entities"
	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/internal/testenv"
)

// TestReal drives a Podman API service of its own (under t.TempDir()) with
// images built from Debian's busybox-static: nothing is pulled. The image
// and container store is the host's: everything carries gitship.root=<the
// test's dir>, and only that is removed at the end.
func TestReal(t *testing.T) {
	testenv.Need(t, "scripts/lib.sh: install_packages", "podman", "runc", "/bin/busybox")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	c := &Client{Socket: startPodmanService(t, dir), Root: dir}
	img := buildImages(t, ctx, c, dir)
	// after the images' cleanup, so that it runs first
	t.Cleanup(func() { removeContainers(t, c) })
	labels := map[string]string{LabelRoot: dir, LabelApp: "ctest"}
	suffix := randomName(t)
	name := func(s string) string { return "gitship-ctest-" + s + "-" + suffix }

	t.Run("port", func(t *testing.T) {
		n := name("web")
		err := c.Start(ctx, Spec{Name: n, Image: img["sh"], Labels: labels, Port: 5000, Process: "web",
			Command: []string{"/bin/sh", "-c", "exec /bin/busybox httpd -f -p $PORT -h /www"}})
		if err != nil {
			t.Fatal(err)
		}
		hp, err := c.HostPort(ctx, n, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if hp == 0 || hp == 5000 {
			t.Errorf("host port %d: want one Podman picked", hp)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/index.html", hp)
		waitFor(t, 20*time.Second, func() error {
			body, err := get(url)
			if err == nil && body != "hello from www\n" {
				return fmt.Errorf("GET %s: %q", url, body)
			}
			return err
		})
		st, err := c.Inspect(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if st.Labels[LabelProcess] != "web" {
			t.Errorf("labels %v: want %s=web", st.Labels, LabelProcess)
		}
		// nothing on the host's other addresses answers
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			ip, ok := a.(*net.IPNet)
			if !ok || ip.IP.IsLoopback() || ip.IP.IsLinkLocalUnicast() {
				continue
			}
			addr := net.JoinHostPort(ip.IP.String(), fmt.Sprint(hp))
			if conn, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
				conn.Close()
				t.Errorf("the app's port answers on %s", addr)
			}
		}
		if _, err := c.HostPort(ctx, n, 6000); err == nil || !strings.Contains(err.Error(), "not published") {
			t.Errorf("HostPort of an unpublished port: %v", err)
		}
	})

	t.Run("listening", func(t *testing.T) {
		n := name("listen")
		err := c.Start(ctx, Spec{Name: n, Image: img["sh"], Labels: labels, Port: 5000, Command: []string{"/bin/sh", "-c",
			"/bin/busybox httpd -p 7000 -h /www && /bin/busybox httpd -p 127.0.0.1:7001 -h /www && exec /bin/busybox httpd -f -p $PORT -h /www"}})
		if err != nil {
			t.Fatal(err)
		}
		var got []Listener
		waitFor(t, 20*time.Second, func() error {
			got, err = c.Listening(ctx, n)
			if err != nil {
				return err
			}
			var ports []int
			for _, l := range got {
				ports = append(ports, l.Port)
			}
			if !slices.Equal(ports, []int{5000, 7000, 7001}) {
				return fmt.Errorf("listening on %v", got)
			}
			return nil
		})
		if got[0].Loopback() || got[1].Loopback() || !got[2].Loopback() {
			t.Errorf("listeners %v: want only 7001 on loopback", got)
		}
		if err := c.Stop(ctx, n, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Listening(ctx, n); err == nil || !strings.Contains(err.Error(), "not running") {
			t.Errorf("Listening on a stopped container: %v", err)
		}
	})

	t.Run("shell", func(t *testing.T) {
		for image, want := range map[string]bool{"sh": true, "link": true, "nosh": false} {
			got, err := c.HasShell(ctx, img[image])
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("HasShell(%s) = %v, want %v", image, got, want)
			}
		}
		left, err := c.List(ctx, map[string]string{LabelRoot: dir, LabelProbe: "shell"})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) > 0 {
			t.Errorf("probe containers left: %v", left)
		}
	})

	t.Run("run", func(t *testing.T) {
		data := filepath.Join(dir, "data")
		if err := os.Mkdir(data, 0o755); err != nil {
			t.Fatal(err)
		}
		run := func(t *testing.T, rctx context.Context, s Spec, stdin io.Reader, stdout io.Writer) (int, string, error) {
			t.Helper()
			s.Name, s.Image, s.Labels, s.DataDir = name("run"), img["sh"], labels, data
			var stderr strings.Builder
			code, err := c.Run(rctx, s, stdin, stdout, &stderr)
			if left, lerr := c.List(ctx, map[string]string{LabelRoot: dir, LabelProcess: "run"}); lerr != nil || len(left) > 0 {
				t.Errorf("containers left after Run: %v %v", left, lerr)
			}
			return code, stderr.String(), err
		}
		t.Run("status streams stdin data", func(t *testing.T) {
			var out strings.Builder
			code, stderr, err := run(t, ctx, Spec{Process: "run", Port: 5000,
				Command: []string{"/bin/sh", "-c", "cat; echo oops >&2; echo $PORT > /data/run.txt; exit 7"}},
				strings.NewReader("input\n"), &out)
			if err != nil || code != 7 || out.String() != "input\n" || stderr != "oops\n" {
				t.Errorf("Run = %d, %v; stdout %q stderr %q; want 7, nil, %q, %q", code, err, out.String(), stderr, "input\n", "oops\n")
			}
			// the file is there; $PORT is not: a one-off run publishes nothing
			if b, err := os.ReadFile(filepath.Join(data, "run.txt")); err != nil || string(b) != "\n" {
				t.Errorf("data/run.txt = %q, %v", b, err)
			}
		})
		t.Run("no stdin", func(t *testing.T) {
			var out strings.Builder
			code, _, err := run(t, ctx, Spec{Process: "run", Command: []string{"/bin/sh", "-c", "cat; echo done"}}, nil, &out)
			if err != nil || code != 0 || out.String() != "done\n" {
				t.Errorf("Run = %d, %v; stdout %q", code, err, out.String())
			}
		})
		t.Run("image command", func(t *testing.T) {
			var out strings.Builder
			code, _, err := run(t, ctx, Spec{Process: "run"}, nil, &out)
			if err != nil || code != 0 || out.String() != "entrypoint default cmd\n" {
				t.Errorf("Run = %d, %v; stdout %q", code, err, out.String())
			}
		})
		t.Run("command replaces the entrypoint", func(t *testing.T) {
			var out strings.Builder
			code, _, err := run(t, ctx, Spec{Process: "run", Command: []string{"/bin/busybox", "echo", "replaced"}}, nil, &out)
			if err != nil || code != 0 || out.String() != "replaced\n" {
				t.Errorf("Run = %d, %v; stdout %q", code, err, out.String())
			}
		})
		t.Run("cancel sends SIGINT", func(t *testing.T) {
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			out := &watchWriter{want: "ready\n", seen: make(chan struct{})}
			go func() {
				select {
				case <-out.seen:
					cancel()
				case <-rctx.Done():
				}
			}()
			code, _, err := run(t, rctx, Spec{Process: "run", Command: []string{"/bin/sh", "-c",
				`trap "echo got INT; exit 3" INT; echo ready; while :; do /bin/busybox sleep 0.1; done`}}, nil, out)
			if code != 3 || !errors.Is(err, context.Canceled) || !strings.Contains(out.String(), "got INT") {
				t.Errorf("Run = %d, %v; stdout %q; want 3, context canceled, got INT", code, err, out.String())
			}
		})
	})
}

// watchWriter collects output and closes seen once want appeared.
type watchWriter struct {
	mu   sync.Mutex
	b    strings.Builder
	want string
	seen chan struct{}
	once sync.Once
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if strings.Contains(w.b.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func get(url string) (string, error) {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// buildImages builds the test's images from busybox-static: "sh" (a
// shell, an ENTRYPOINT and a CMD), "link" (/bin/sh a symlink) and "nosh"
// (no /bin/sh). They are removed by tag at the end.
func buildImages(t *testing.T, ctx context.Context, c *Client, dir string) map[string]string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	dockerfiles := map[string]string{
		"sh": "FROM scratch\nCOPY busybox /bin/sh\nCOPY busybox /bin/busybox\nCOPY index.html /www/index.html\n" +
			`ENTRYPOINT ["/bin/busybox", "echo", "entrypoint"]` + "\n" + `CMD ["default cmd"]` + "\n",
		"link": "FROM scratch\nCOPY busybox /bin/busybox\n" + `RUN ["/bin/busybox", "ln", "-s", "busybox", "/bin/sh"]` + "\n",
		"nosh": "FROM scratch\nCOPY busybox /bin/busybox\n" + `CMD ["/bin/busybox", "true"]` + "\n",
	}
	cctx, err := bindings.NewConnection(ctx, c.Socket)
	if err != nil {
		t.Fatal(err)
	}
	suffix := randomName(t)
	img := map[string]string{}
	t.Cleanup(func() { removeImages(t, c.Socket, img) })
	for name, df := range dockerfiles {
		ctxDir := filepath.Join(dir, "img-"+name)
		for f, b := range map[string][]byte{"Dockerfile": []byte(df), "busybox": bb, "index.html": []byte("hello from www\n")} {
			if err := os.MkdirAll(ctxDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ctxDir, f), b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		tag := "localhost/gitship-ctest/" + name + ":" + suffix
		var out strings.Builder
		opts := entities.BuildOptions{BuildOptions: define.BuildOptions{
			ContextDirectory: ctxDir, Output: tag, Labels: []string{LabelRoot + "=" + dir},
			Out: &out, Err: &out, ReportWriter: &out,
			OutputFormat: define.OCIv1ImageManifest, Layers: true,
			RemoveIntermediateCtrs: true, ForceRmIntermediateCtrs: true,
			CommonBuildOpts: &define.CommonBuildOptions{},
		}}
		// The store is shared: another instance's removal can take a
		// cached layer mid-build (what build.ErrStoreChanged retries).
		for try := 1; ; try++ {
			out.Reset()
			_, err := images.Build(cctx, []string{filepath.Join(ctxDir, "Dockerfile")}, opts)
			if err == nil {
				break
			}
			if try == 3 || !(strings.Contains(err.Error(), "layer not known") || strings.Contains(err.Error(), "image not known")) {
				t.Fatalf("build %s: %v\n%s", tag, err, out.String())
			}
			t.Logf("build %s: %v; again", tag, err)
		}
		img[name] = tag
	}
	return img
}

// removeContainers removes every container of the test's instance.
func removeContainers(t *testing.T, c *Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := c.List(ctx, map[string]string{LabelRoot: c.Root})
	if err != nil {
		t.Error(err)
		return
	}
	for _, s := range list {
		if err := c.Remove(ctx, s.Name); err != nil {
			t.Error(err)
		}
	}
}

// removeImages removes the test's images by tag, never forced, holding
// gitship's image lock as gitship's own removals do (the store is shared
// with builds running beside).
func removeImages(t *testing.T, socket string, img map[string]string) {
	if len(img) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := config.Default()
	f, err := os.OpenFile(cfg.ImagesLock(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Errorf("lock images: %v", err)
		return
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Errorf("lock images: %v", err)
		return
	}
	cctx, err := bindings.NewConnection(ctx, socket)
	if err != nil {
		t.Error(err)
		return
	}
	var tags []string
	for _, tag := range img {
		tags = append(tags, tag)
	}
	if _, errs := images.Remove(cctx, tags, nil); len(errs) > 0 {
		t.Errorf("remove images %v: %v", tags, errs)
	}
}

// startPodmanService runs `podman system service` on a socket of its own
// until the test ends.
func startPodmanService(t *testing.T, dir string) string {
	uri := "unix://" + filepath.Join(dir, "podman.sock")
	logPath := filepath.Join(dir, "podman.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("podman", "system", "service", "--time=0", uri)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	// its own group, so the whole service stops at the end; Pdeathsig, so
	// a test binary killed before Cleanup does not leave it running
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Errorf("podman service ignored SIGTERM for 15s; killing it")
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("podman service log:\n%s", b)
			}
		}
	})
	waitFor(t, 30*time.Second, func() error {
		_, err := bindings.NewConnection(context.Background(), uri)
		return err
	})
	return uri
}

func waitFor(t *testing.T, max time.Duration, try func() error) {
	t.Helper()
	if err := testenv.Poll(max, try); err != nil {
		t.Fatal(err)
	}
}

func randomName(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b)
}
