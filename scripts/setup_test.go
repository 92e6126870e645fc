// Package scripts holds the host scripts (setup, demo, test, bench) and
// the tests that run them.
package scripts

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitship/gitship/config"
	"github.com/spf13/afero"
)

// TestSetupIdempotent runs scripts/setup twice into a DESTDIR: the first
// run writes every file, the second changes nothing, and the config it
// writes loads without an unknown key.
func TestSetupIdempotent(t *testing.T) {
	dest := t.TempDir()
	first := runSetup(t, dest)
	for _, want := range []string{"containers.conf.d/gitship.conf", "usr/local/bin/gitship", "etc/gitship/config.toml", "conf.d/gitship.conf", "systemd/system/buildkit.service"} {
		if !strings.Contains(first, want) {
			t.Errorf("first run did not write %s:\n%s", want, first)
		}
	}
	before := tree(t, dest)
	second := runSetup(t, dest)
	if !strings.Contains(second, "setup: nothing to change") || strings.Contains(second, "writing") {
		t.Errorf("second run changed something:\n%s", second)
	}
	if after := tree(t, dest); !equal(before, after) {
		t.Errorf("files differ after the second run:\nbefore %v\nafter  %v", before, after)
	}
	cfg, err := config.Load(afero.NewOsFs(), filepath.Join(dest, "etc/gitship/config.toml"), true)
	if err != nil {
		t.Fatalf("the written config does not load: %v", err)
	}
	if cfg.Nginx.ConfDir != "/etc/nginx/gitship" || cfg.Podman.Socket != "unix:///run/podman/podman.sock" {
		t.Errorf("unexpected config: %+v", cfg)
	}
	conf, err := os.ReadFile(filepath.Join(dest, "etc/containers/containers.conf.d/gitship.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`runtime = "runc"`, `"nofile=`, `"nproc=`} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("containers.conf drop-in lacks %s:\n%s", want, conf)
		}
	}
}

func runSetup(t *testing.T, dest string) string {
	t.Helper()
	cmd := exec.Command("./setup")
	cmd.Env = append(os.Environ(), "DESTDIR="+dest)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/setup: %v\n%s", err, out)
	}
	return string(out)
}

// tree maps every file under dir to its checksum and mode.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[strings.TrimPrefix(p, dir)] = fi.Mode().String() + " " + hash(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hash(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestWithProgress: a long command is not silent (a line while it runs,
// one when it is done), and with_progress returns its status.
func TestWithProgress(t *testing.T) {
	run := func(cmd string) (string, error) {
		c := exec.Command("bash", "-c", ". ./lib.sh; "+cmd)
		c.Env = append(os.Environ(), "GITSHIP_PROGRESS_EVERY=1")
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := run(`with_progress "compiling" sleep 2.5`)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{"==> compiling\n", "    ... still compiling (1s)\n", "    ... still compiling (2s)\n", "==> compiling: done in "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run(`with_progress "failing" sh -c 'exit 3'; echo "status $?"`)
	if err != nil || !strings.Contains(out, "status 3") || strings.Contains(out, "done in") {
		t.Errorf("a failing command: %v\n%s", err, out)
	}
}
