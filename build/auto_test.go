package build

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestAutoFallsBackToPodman: with no buildkitd at the address, auto picks
// Podman and says why.
func TestAutoFallsBackToPodman(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	a := &Auto{BuildKit: &BuildKit{Address: addr}, Podman: &Podman{Socket: "unix:///nonexistent/podman.sock"}}
	if got := a.Name(); got != "podman" {
		t.Fatalf("Name = %q, want podman", got)
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
