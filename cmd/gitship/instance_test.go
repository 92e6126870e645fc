package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/internal/testenv"
	"github.com/gitship/gitship/release"
	"github.com/gitship/gitship/scripts/load"
	"github.com/rogpeppe/go-internal/testscript"
)

// setupInstance gives a script a private gitship instance: state under
// $WORK, its own Podman API service on a private socket, its own nginx on
// a free loopback port, and a config file naming them all.
func setupInstance(e *testscript.Env, sample string) error {
	work := e.WorkDir
	// nginx's workers (www-data) must traverse down to the sockets; the
	// test's temp dirs are 0700.
	for _, d := range []string{work, filepath.Dir(work)} {
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	sock := filepath.Join(work, "podman.sock")
	root := filepath.Join(work, "gs")
	if err := startPodman(e, sock, root, imagesLock(root)); err != nil {
		return err
	}
	port, err := testenv.FreePort()
	if err != nil {
		return err
	}
	ngx := filepath.Join(work, "nginx")
	if err := startNginx(e, ngx, port); err != nil {
		return err
	}
	tlsPort, err := testenv.FreePort()
	if err != nil {
		return err
	}
	cfg := filepath.Join(work, "gitship.toml")
	if err := os.WriteFile(cfg, []byte(configFile(work, root, sock, ngx, port, tlsPort)), 0o644); err != nil {
		return err
	}
	gitconfig := "[user]\n\tname = Tester\n\temail = tester@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
	if err := os.WriteFile(filepath.Join(work, ".gitconfig"), []byte(gitconfig), 0o644); err != nil {
		return err
	}
	e.Setenv("HOME", work)
	e.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	e.Setenv("GITSHIP_CONFIG", cfg)
	e.Setenv("ROOT", root)
	// INST ends the instance's container names (gitship-APP-vN-$INST).
	inst := config.Config{Root: root}
	e.Setenv("INST", inst.Instance())
	e.Setenv("RUNDIR", filepath.Join(work, "run"))
	e.Setenv("NGINX_PORT", fmt.Sprint(port))
	e.Setenv("PODMAN_URL", "unix://"+sock)
	e.Setenv("SAMPLE_BIN", sample)
	e.Setenv("TLS_PORT", fmt.Sprint(tlsPort))
	e.Values[instanceKey{}] = &instance{port: port, tlsPort: tlsPort, podman: "unix://" + sock, imagesLock: imagesLock(root)}
	// Deferred last, so it runs first: a watch process still keeping a
	// release warm ends before its Podman and nginx go.
	e.Defer(func() { endWatches(root) })
	return nil
}

// endWatches ends the `gitship watch` processes of the instance at root
// that still run (their pids are in apps/*/watch.json).
func endWatches(root string) {
	files, _ := filepath.Glob(filepath.Join(root, "apps", "*", "watch.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var w struct {
			PID int `json:"pid"`
		}
		if json.Unmarshal(b, &w) == nil && w.PID > 0 {
			syscall.Kill(w.PID, syscall.SIGKILL) //nolint:errcheck // gone already is fine
		}
	}
}

type instanceKey struct{}

type instance struct {
	port    int
	tlsPort int
	// roots trusts the ACME server's issuing CA (set by `pebble`).
	roots  *x509.CertPool
	podman string
	load   *load.Run // a load started by `load start`
	// imagesLock is gitship's lock on the shared image store: whatever
	// the test removes from the store, it removes under that lock, as
	// gitship's own prune does, or a build of another script in parallel
	// fails with "layer not known".
	imagesLock string
}

// imagesLock is the image lock of the instance at root (the scripts'
// configs leave [podman] storage at its default: one store for all).
func imagesLock(root string) string {
	cfg := config.Default()
	cfg.Root = root
	return cfg.ImagesLock()
}

// removeImages runs f under the exclusive image lock at path.
func removeImages(path string, f func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	unlock, err := release.FileLock{}.Lock(ctx, path, nil)
	if err != nil {
		return err
	}
	defer unlock()
	return f()
}

func configFile(work, root, sock, ngx string, port, tlsPort int) string {
	nginxBin, _ := exec.LookPath("nginx")
	return fmt.Sprintf(`root    = %q
run_dir = %q
# never the host's /etc/cron.d: a release going live rewrites it
cron_file = %q
domain  = "test.example"
builder = "podman"

[podman]
socket = "unix://%s"
# the disk guard has its unit test; the scripts must not depend on the
# free space of the machine they run on
min_free = "0"

[buildkit]
address = "unix://%s"

[nginx]
conf_dir = %q
conf     = %q
prefix   = %q
# no pid key: gitship reads it from the main config, as in production
binary   = %q
reload   = [%q, "-p", %q, "-c", %q, "-s", "reload"]
listen   = "127.0.0.1:%d"
listen_tls = "127.0.0.1:%d"
user     = "www-data"

[certbot]
email      = ""
server     = ""
webroot    = %q
config_dir = %q
work_dir   = %q
logs_dir   = %q

[ssh]
remote = ""
authorized_keys = %q
`, root, filepath.Join(work, "run"), filepath.Join(work, "cron.d-gitship"), sock, filepath.Join(work, "bk", "bk.sock"),
		filepath.Join(ngx, "conf.d"), filepath.Join(ngx, "nginx.conf"), ngx,
		nginxBin, nginxBin, ngx, filepath.Join(ngx, "nginx.conf"), port, tlsPort,
		filepath.Join(work, "acme"), filepath.Join(work, "le", "config"), filepath.Join(work, "le", "work"), filepath.Join(work, "le", "logs"),
		filepath.Join(work, "ssh", "authorized_keys"))
}

// startPodman starts `podman system service` on sock and, at the end of the
// script, removes every container and image of this instance, then stops it.
func startPodman(e *testscript.Env, sock, root, lock string) error {
	logf, err := os.Create(sock + ".log")
	if err != nil {
		return err
	}
	cmd := exec.Command("podman", "system", "service", "--time=0", "unix://"+sock)
	cmd.Stdout, cmd.Stderr = logf, logf
	// conmon inherits the working directory and writes a file "oom"
	// there when a container is killed at its memory limit (limits.txtar)
	cmd.Dir = filepath.Dir(sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start podman service: %w", err)
	}
	url := "unix://" + sock
	e.Defer(func() {
		label := "label=gitship.root=" + root
		// Scripts play another instance at root/elsewhere (containers of
		// a stranger that gitship must not touch): theirs go too.
		for _, l := range []string{label, label + "/elsewhere"} {
			// The store is shared with the scripts running in parallel: a
			// removal can fail while another one works, and a worker
			// killed by it may be restarting (its restart policy) when
			// the next one comes: try until none is left, for up to 10 s.
			// A listing that fails (the same races) is no proof that none
			// is left.
			for try := 0; try < 40; try++ {
				if ids, err := podmanErr(url, "ps", "-a", "-q", "--filter", l); err == nil && ids == "" {
					break
				}
				podman(url, "rm", "-f", "-t", "0", "--filter", l)
				time.Sleep(250 * time.Millisecond)
			}
		}
		if left, err := podmanErr(url, "ps", "-a", "--format", "{{.Names}}", "--filter", label); left != "" || err != nil {
			fmt.Fprintf(os.Stderr, "warning: containers of %s left behind: %s (%v)\n", root, left, err)
		}
		// Never `rmi -f`: forcing removes the containers that use an
		// image, and a cached layer shared with another script's build in
		// progress would take that build's working container with it.
		// By name, not id: an image with two tags refuses removal by id.
		err := removeImages(lock, func() error {
			for _, l := range []string{label, label + "/elsewhere"} {
				names := podman(url, "images", "--filter", l, "--filter", "dangling=false", "--format", "{{.Repository}}:{{.Tag}}")
				if names != "" {
					podman(url, append([]string{"rmi"}, strings.Fields(names)...)...)
				}
				// and the build leftovers, as `gitship prune` does; with the
				// local CLI: through the API (Podman 4.3) the prune's label
				// filter matches the key only and takes other scripts' too
				if out, err := exec.Command("podman", "image", "prune", "-f", "--filter", l).CombinedOutput(); err != nil {
					fmt.Fprintf(os.Stderr, "warning: prune build leftovers of %s: %v: %s\n", root, err, out)
				}
			}
			return nil
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "warning: images of %s left behind: %v\n", root, err)
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
		logf.Close()
	})
	return testenv.Poll(20*time.Second, func() error { return ping(sock) })
}

// podman runs the podman CLI against the instance's service (cleanup only).
func podman(url string, args ...string) string {
	out, _ := podmanErr(url, args...)
	return out
}

// podmanErr is podman that also says whether the command failed.
func podmanErr(url string, args ...string) (string, error) {
	out, err := exec.Command("podman", append([]string{"--url", url}, args...)...).Output()
	return strings.TrimSpace(string(out)), err
}

func ping(sock string) error {
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}, Timeout: time.Second}
	resp, err := c.Get("http://d/_ping")
	if err != nil {
		return fmt.Errorf("podman service at %s: %w", sock, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("podman service at %s: ping answered %s", sock, resp.Status)
	}
	return nil
}

// startNginx writes a main config of its own (pid, logs, temp paths under
// dir; workers as www-data, like Debian's) and starts nginx on port. The
// pid path is relative: nginx and gitship both take it from the prefix.
func startNginx(e *testscript.Env, dir string, port int) error {
	for _, d := range []string{"conf.d", "logs", "temp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, port)), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("nginx", "-p", dir, "-c", conf).CombinedOutput(); err != nil {
		return fmt.Errorf("start nginx: %v: %s", err, out)
	}
	e.Defer(func() {
		exec.Command("nginx", "-p", dir, "-c", conf, "-s", "stop").Run()
	})
	return testenv.Poll(10*time.Second, func() error {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err
	})
}

func nginxConf(dir string, port int) string {
	return fmt.Sprintf(`user www-data;
worker_processes 2;
pid nginx.pid;
error_log %[1]s/logs/error.log;
events { worker_connections 1024; }
http {
    access_log %[1]s/logs/access.log;
    client_body_temp_path %[1]s/temp/client_body;
    proxy_temp_path %[1]s/temp/proxy;
    fastcgi_temp_path %[1]s/temp/fastcgi;
    uwsgi_temp_path %[1]s/temp/uwsgi;
    scgi_temp_path %[1]s/temp/scgi;
    server {
        listen 127.0.0.1:%[2]d default_server;
        return 404 "no app here\n";
    }
    include %[1]s/conf.d/*.conf;
}
`, dir, port)
}
