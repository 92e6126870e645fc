package build

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestAutoFallsBackToPodman: with no buildkitd at the address, auto picks
// Podman and says why. Name does not probe: before Pick it is "auto".
func TestAutoFallsBackToPodman(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	a := &Auto{BuildKit: &BuildKit{Address: addr}, Podman: &Podman{Socket: "unix:///nonexistent/podman.sock"}}
	if got := a.Name(); got != "auto" {
		t.Fatalf("Name before Pick = %q, want auto (no probe behind Name)", got)
	}
	if got := a.Pick(t.Context()); got != "podman" {
		t.Fatalf("Pick = %q, want podman", got)
	}
	if got := a.Name(); got != "podman" {
		t.Fatalf("Name after Pick = %q, want podman", got)
	}
	var out bytes.Buffer
	if _, err := a.Build(t.Context(), Request{ContextDir: t.TempDir(), Dockerfile: "Dockerfile", Tag: "localhost/x:y"}, &out); err == nil {
		t.Fatal("build against a missing podman socket succeeded")
	}
	want := "builder auto: no buildkitd answers at " + addr + ", building with podman"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output %q lacks %q", out.String(), want)
	}
}

// TestAutoBuildPicks: Build without a Pick before picks itself.
func TestAutoBuildPicks(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	a := &Auto{BuildKit: &BuildKit{Address: addr}, Podman: &Podman{Socket: "unix:///nonexistent/podman.sock"}}
	var out bytes.Buffer
	if _, err := a.Build(t.Context(), Request{ContextDir: t.TempDir(), Dockerfile: "Dockerfile", Tag: "localhost/x:y"}, &out); err == nil {
		t.Fatal("build against a missing podman socket succeeded")
	}
	if want := "building with podman"; !strings.Contains(out.String(), want) {
		t.Errorf("output %q lacks %q", out.String(), want)
	}
}
