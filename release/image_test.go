package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// reboot removes every fake container and empties run_dir, as a host
// reboot does (run_dir is a tmpfs), then boots.
func (e *env) reboot(t *testing.T) string {
	t.Helper()
	for _, name := range e.runningNames() {
		if err := e.rt.Remove(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(e.d.Config.RunDir, "demo")); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := e.d.Boot(context.Background(), &out); err != nil {
		t.Fatalf("Boot: %v\n%s", err, out.String())
	}
	return out.String()
}

func (e *env) lastSpec(t *testing.T) container.Spec {
	t.Helper()
	e.rt.mu.Lock()
	defer e.rt.mu.Unlock()
	if len(e.rt.specs) == 0 {
		t.Fatal("no container was started")
	}
	return e.rt.specs[len(e.rt.specs)-1]
}

// A failed deploy of the live commit (a changed dockerfile setting) must
// not take the live release's image name, and boot and rollback start
// the image a release recorded, by ID.
func TestReleaseStartsTheImageItRecorded(t *testing.T) {
	e := newOsEnv(t)
	v1 := e.mustDeploy(t, sha1)
	if spec := e.lastSpec(t); v1.ImageID == "" || spec.Image != state.ImageID(v1.ImageID) {
		t.Fatalf("v1 started %q, want its image ID %q", spec.Image, v1.ImageID)
	}

	// The same commit again, into an image that crashes.
	e.rt.mu.Lock()
	e.rt.status, e.rt.state = 500, container.State{Status: "exited", ExitCode: 1}
	e.rt.mu.Unlock()
	v2, err, out := e.deploy(t, sha1)
	if err == nil {
		t.Fatalf("the crashing v2 went live:\n%s", out)
	}
	e.rt.mu.Lock()
	e.rt.status, e.rt.state = 0, container.State{}
	e.rt.mu.Unlock()
	tag := ImageTag("demo", sha1)
	if want := tag + "-v2"; e.b.reqs[1].Tag != want || v2.Image != want {
		t.Errorf("v2 built as %s, recorded %s; want %s: %s is v1's", e.b.reqs[1].Tag, v2.Image, want, tag)
	}
	if v2.ImageID == v1.ImageID {
		t.Fatalf("the fake built the same image twice")
	}
	e.rt.mu.Lock()
	got := e.rt.images[tag]
	e.rt.mu.Unlock()
	if got != v1.ImageID {
		t.Errorf("%s names %s after v2's build, want v1's %s", tag, got, v1.ImageID)
	}

	out = e.reboot(t)
	if spec := e.lastSpec(t); spec.Image != state.ImageID(v1.ImageID) || !strings.Contains(out, "demo v1 is back at") {
		t.Errorf("boot started %q, want v1's image %s:\n%s", spec.Image, v1.ImageID, out)
	}

	e.mustDeploy(t, sha2) // v3
	if _, err, out := e.rollback(t, "v1"); err != nil {
		t.Fatalf("rollback to v1: %v\n%s", err, out)
	}
	if spec := e.lastSpec(t); spec.Name != ContainerName("demo", 4, "") || spec.Image != state.ImageID(v1.ImageID) {
		t.Errorf("rollback started %s of %q, want %s of v1's image %s", spec.Name, spec.Image, ContainerName("demo", 4, ""), v1.ImageID)
	}
}

// Records from before image IDs were recorded start their tag.
func TestReleaseWithoutImageIDStartsItsTag(t *testing.T) {
	e := newOsEnv(t)
	v1 := e.mustDeploy(t, sha1)
	v1.ImageID = ""
	if err := e.store.Save(v1); err != nil {
		t.Fatal(err)
	}
	out := e.reboot(t)
	if spec := e.lastSpec(t); spec.Image != v1.Image {
		t.Errorf("boot started %q, want the tag %s:\n%s", spec.Image, v1.Image, out)
	}
}
