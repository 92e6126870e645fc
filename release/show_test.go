package release

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/internal/usererr"
)

// A live release whose container is gone is not "unknown": status and
// apps say so, fail, and name the command that brings it back.
func TestShowSaysLiveContainerGone(t *testing.T) {
	e := newOsEnv(t)
	v1 := e.mustDeploy(t, sha1)
	ctx := context.Background()
	var out strings.Builder
	if err := e.d.WriteStatus(ctx, &out, "demo"); err != nil {
		t.Fatalf("status of a running release: %v", err)
	}
	if err := e.d.WriteApps(ctx, &out); err != nil {
		t.Fatalf("apps with a running release: %v", err)
	}
	if err := e.rt.Remove(ctx, v1.Container); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	err := e.d.WriteStatus(ctx, &out, "demo")
	want := "demo v1's container " + v1.Container + " is gone: `gitship boot` starts it again"
	if err == nil || err.Error() != want {
		t.Errorf("status: error %v, want %q", err, want)
	}
	if ue := (*usererr.Error)(nil); !errors.As(err, &ue) || ue.Hint != "`gitship boot` starts it again" || !errors.Is(err, container.ErrNotFound) {
		t.Errorf("status: error %#v, want a user error with the boot hint, from container.ErrNotFound", err)
	}
	if !strings.Contains(out.String(), " "+v1.Container+" gone\n") {
		t.Errorf("status output:\n%s", out.String())
	}

	out.Reset()
	err = e.d.WriteApps(ctx, &out)
	want = "the container of demo v1 is gone: `gitship boot` starts it again"
	if err == nil || err.Error() != want {
		t.Errorf("apps: error %v, want %q", err, want)
	}
	if !strings.Contains(out.String(), "demo ") || !strings.Contains(out.String(), " gone ") {
		t.Errorf("apps output:\n%s", out.String())
	}
}
