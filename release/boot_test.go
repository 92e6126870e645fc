package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitship/gitship/state"
)

func TestBootRestartsWhatIsDown(t *testing.T) {
	e := newOsEnv(t)
	v1 := e.mustDeploy(t, sha1)
	var out strings.Builder
	if err := e.d.Boot(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "demo v1 runs") {
		t.Errorf("all running: output %q", out.String())
	}
	starts := len(e.rt.specs)
	// the reboot: the container is gone, run_dir is empty
	if err := e.rt.Remove(context.Background(), v1.Container); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(e.d.Config.RunDir, "demo")); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := e.d.Boot(context.Background(), &out); err != nil {
		t.Fatalf("Boot: %v\n%s", err, out.String())
	}
	if len(e.rt.specs) != starts+1 || !e.rt.isRunning(v1.Container) {
		t.Errorf("v1 not started again: %d starts, running %v", len(e.rt.specs)-starts, e.rt.isRunning(v1.Container))
	}
	if e.px.reloads == 0 || !strings.Contains(out.String(), "demo v1 is back at") {
		t.Errorf("reloads %d, output %q", e.px.reloads, out.String())
	}
	if r, _ := e.store.Get("demo", 1); r.Status != state.StatusLive {
		t.Errorf("v1 is %s after boot", r.Status)
	}
	if got := e.link(t); got != "v1" {
		t.Errorf("after the reboot the live link names %q, want v1", got)
	}
}

// All runs, but the live link is gone (or names another dir): nginx
// answers 502 until boot points it back.
func TestBootRelinks(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	for _, wrong := range []string{"", "v9"} {
		if err := os.Remove(e.d.liveLink("demo")); err != nil {
			t.Fatal(err)
		}
		if wrong != "" {
			if err := os.Symlink(wrong, e.d.liveLink("demo")); err != nil {
				t.Fatal(err)
			}
		}
		var out strings.Builder
		if err := e.d.Boot(context.Background(), &out); err != nil {
			t.Fatalf("Boot: %v\n%s", err, out.String())
		}
		if got := e.link(t); got != "v1" {
			t.Errorf("live link %q: after boot it names %q, want v1", wrong, got)
		}
		if !strings.Contains(out.String(), "Pointed demo's live link back at v1") || !strings.Contains(out.String(), "demo v1 runs") {
			t.Errorf("output %q", out.String())
		}
	}
}

func TestDestroyKeepsData(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	data := filepath.Join(e.d.dataDir("demo"), "keep.txt")
	if err := os.WriteFile(data, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Destroy(context.Background(), "demo", false, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	if e.rt.isRunning("gitship-demo-v1") || e.px.removes != 1 {
		t.Errorf("container running %v, nginx removes %d", e.rt.isRunning("gitship-demo-v1"), e.px.removes)
	}
	if _, err := os.Stat(data); err != nil {
		t.Errorf("data lost: %v", err)
	}
	if _, err := os.Stat(state.AppPath(e.d.Config.AppsDir(), "demo")); !os.IsNotExist(err) {
		t.Errorf("app.json still there: %v", err)
	}
	if err := e.d.Destroy(context.Background(), "demo", true, &strings.Builder{}); err == nil {
		t.Error("destroying an app that is gone succeeded")
	}
}
