package release

import (
	"strings"
	"testing"

	"github.com/gitship/gitship/state"
)

// TestDiskGuardRefusesBeforeBuilding: too little free space under
// Podman's storage refuses the deploy before the build; the live release
// stays.
func TestDiskGuardRefusesBeforeBuilding(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	builds := len(e.b.reqs)
	e.d.Config.Podman.Storage, e.d.Config.Podman.MinFreeBytes = "/var/lib/containers/storage", 2e9
	e.d.FreeDisk = func(string) (int64, error) { return 5e8, nil }
	r, err, out := e.deploy(t, sha2)
	if err == nil || r.Status != state.StatusFailed {
		t.Fatalf("deploy = %v, status %s; want a refusal", err, r.Status)
	}
	if len(e.b.reqs) != builds {
		t.Error("it built anyway")
	}
	if !strings.Contains(out, "only 500.0 MB free under /var/lib/containers/storage, 2.0 GB needed: free disk space") {
		t.Errorf("output:\n%s", out)
	}
	if e.live(t) != "v1" {
		t.Errorf("live %s, want v1", e.live(t))
	}
	// enough space: no refusal
	e.d.FreeDisk = func(string) (int64, error) { return 3e9, nil }
	e.mustDeploy(t, sha2)
}
