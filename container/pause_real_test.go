package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/internal/testenv"
)

// TestRealPause freezes a container that writes a counter file without a
// pause of its own: while paused the file does not change, after Unpause
// it does again. The service and the containers are the test's own, as in
// TestReal.
func TestRealPause(t *testing.T) {
	testenv.Need(t, "scripts/lib.sh: install_packages", "podman", "runc", "/bin/busybox")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	c := &Client{Socket: startPodmanService(t, dir), Root: dir}
	img := buildImages(t, ctx, c, dir)
	t.Cleanup(func() { removeContainers(t, c) })
	labels := map[string]string{LabelRoot: dir, LabelApp: "ptest"}
	suffix := randomName(t)
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o777); err != nil {
		t.Fatal(err)
	}
	n := "gitship-ptest-counter-" + suffix
	err := c.Start(ctx, Spec{Name: n, Image: img["sh"], Labels: labels, DataDir: data, Network: "none",
		Command: []string{"/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /data/n.tmp; mv /data/n.tmp /data/n; done"}})
	if err != nil {
		t.Fatal(err)
	}
	counter := func() string {
		b, _ := os.ReadFile(filepath.Join(data, "n"))
		return strings.TrimSpace(string(b))
	}
	changes := func(what string) {
		t.Helper()
		first := counter()
		waitFor(t, 20*time.Second, func() error {
			if now := counter(); now == "" || now == first {
				return fmt.Errorf("%s: the counter stays at %q", what, now)
			}
			return nil
		})
	}
	changes("before the pause")

	if err := c.Pause(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := c.Pause(ctx, n); err != nil {
		t.Errorf("pause of a paused container: %v", err)
	}
	st, err := c.Inspect(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "paused" {
		t.Errorf("status %q while paused", st.Status)
	}
	// Unchanged for a while the running loop would change it thousands of
	// times in: it is frozen. (Watched to a timer, not asserted on time.)
	frozen := counter()
	watch := time.NewTimer(500 * time.Millisecond)
	for watching := true; watching; {
		select {
		case <-watch.C:
			watching = false
		default:
			if now := counter(); now != frozen {
				t.Fatalf("counter went from %s to %s while paused", frozen, now)
			}
		}
	}

	if err := c.Unpause(ctx, n); err != nil {
		t.Fatal(err)
	}
	changes("after unpause")
	if err := c.Unpause(ctx, n); err != nil {
		t.Errorf("unpause of a running container: %v", err)
	}

	t.Run("stopped", func(t *testing.T) {
		if err := c.Stop(ctx, n, 0); err != nil {
			t.Fatal(err)
		}
		if err := c.Pause(ctx, n); !errors.Is(err, ErrNotRunning) {
			t.Errorf("pause of a stopped container: %v, want ErrNotRunning", err)
		}
		if err := c.Unpause(ctx, n); err != nil {
			t.Errorf("unpause of a stopped container: %v", err)
		}
		if err := c.Pause(ctx, "gitship-ptest-none-"+suffix); !errors.Is(err, ErrNotFound) {
			t.Errorf("pause of no container: %v, want ErrNotFound", err)
		}
	})

	t.Run("foreign", func(t *testing.T) {
		other := &Client{Socket: c.Socket, Root: dir + "-other"}
		if err := other.Pause(ctx, n); !errors.Is(err, ErrForeign) {
			t.Errorf("pause by another instance: %v, want ErrForeign", err)
		}
		if err := other.Unpause(ctx, n); !errors.Is(err, ErrForeign) {
			t.Errorf("unpause by another instance: %v, want ErrForeign", err)
		}
	})
}
