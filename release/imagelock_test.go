package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// watchWriter collects output and closes seen once it contains want.
type watchWriter struct {
	mu   sync.Mutex
	buf  strings.Builder
	want string
	seen chan struct{}
}

func newWatchWriter(want string) *watchWriter {
	return &watchWriter{want: want, seen: make(chan struct{})}
}

func (w *watchWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.want)
	n, err := w.buf.Write(b)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return n, err
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// heldAs says how the real flock on path is held by others now:
// "exclusive", "shared" or "" (probing with non-blocking flocks).
func heldAs(t *testing.T, path string) string {
	t.Helper()
	done, cancel := context.WithCancel(t.Context())
	cancel()
	if unlock, err := (FileLock{}).Lock(done, path, nil); err == nil {
		unlock()
		return ""
	}
	if unlock, err := (FileLock{}).RLock(done, path, nil); err == nil {
		unlock()
		return "shared"
	}
	return "exclusive"
}

// TestBuildHoldsImageLockShared: a build runs under the shared image
// lock, and it is released by the end of the deploy.
func TestBuildHoldsImageLockShared(t *testing.T) {
	e, _ := newLockEnv(t)
	path := e.d.imagesLockPath()
	var during string
	e.b.during = func() { during = heldAs(t, path) }
	e.mustDeploy(t, sha1)
	if during != "shared" {
		t.Errorf("image lock during the build: %q, want shared", during)
	}
	if now := heldAs(t, path); now != "" {
		t.Errorf("image lock after the deploy: %q, want free", now)
	}
}

// TestBuildWaitsForImageRemoval: while an image removal holds the lock,
// a push says it waits and builds only once the removal is done.
func TestBuildWaitsForImageRemoval(t *testing.T) {
	e, _ := newLockEnv(t)
	unlock, err := FileLock{}.Lock(t.Context(), e.d.imagesLockPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := newWatchWriter("Waiting for an image prune to finish")
	errc := make(chan error, 1)
	go func() {
		_, err := e.d.Deploy(t.Context(), "demo", "refs/heads/main", "push", w)
		errc <- err
	}()
	select {
	case <-w.seen:
	case err := <-errc:
		unlock()
		t.Fatalf("deploy ended (%v) while the image lock was held:\n%s", err, w)
	case <-time.After(lockWait):
		unlock()
		t.Fatalf("deploy never said it waits:\n%s", w)
	}
	if n := len(e.b.reqs); n != 0 {
		t.Errorf("%d builds while the image lock was held exclusively", n)
	}
	unlock()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("deploy: %v\n%s", err, w)
		}
	case <-time.After(lockWait):
		t.Fatal("deploy did not go on after the lock was released")
	}
	if e.live(t) != "v1" {
		t.Errorf("live %s, want v1", e.live(t))
	}
}

// TestImageRemovalsHoldImageLock: prune and destroy remove images only
// under the exclusive image lock; a prune with nothing to remove never
// takes it (it would wait for every build in progress).
func TestImageRemovalsHoldImageLock(t *testing.T) {
	e, _ := newLockEnv(t)
	e.mustDeploy(t, sha1)
	e.mustDeploy(t, sha2)
	path := e.d.imagesLockPath()
	labels := map[string]string{container.LabelApp: "demo", container.LabelRoot: e.d.Config.Root}
	ip := &fakePruner{images: []container.Image{
		{ID: "i1", Names: []string{ImageTag("demo", sha1)}, Labels: labels},
		{ID: "i2", Names: []string{ImageTag("demo", sha2)}, Labels: labels},
	}}
	var modes []string
	ip.onRemove = func(name string) { modes = append(modes, name+" "+heldAs(t, path)) }
	e.d.Images = ip
	var out strings.Builder
	// keep 1: both stay, nothing is removed, no lock is needed
	if err := e.d.PruneImages(t.Context(), 1, false, &out); err != nil {
		t.Fatal(err)
	}
	if len(modes) != 0 {
		t.Fatalf("keep 1 removed %v", modes)
	}
	// a build holds the lock shared: a prune that removes waits for it
	build, err := FileLock{}.RLock(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	err = e.d.PruneImages(ctx, 0, false, &out)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || len(modes) != 0 {
		t.Fatalf("prune during a build = %v, removed %v; want it to wait", err, modes)
	}
	if !strings.Contains(out.String(), "Waiting for the builds in progress to finish before removing images") {
		t.Errorf("prune did not say why it waits:\n%s", out.String())
	}
	build()
	if err := e.d.PruneImages(t.Context(), 0, false, &out); err != nil {
		t.Fatal(err)
	}
	if want := []string{ImageTag("demo", sha1) + " exclusive"}; fmt.Sprint(modes) != fmt.Sprint(want) {
		t.Errorf("prune removed %v, want %v", modes, want)
	}
	modes = nil
	if err := e.d.Destroy(t.Context(), "demo", false, &out); err != nil {
		t.Fatal(err)
	}
	if want := []string{ImageTag("demo", sha2) + " exclusive"}; fmt.Sprint(modes) != fmt.Sprint(want) {
		t.Errorf("destroy removed %v, want %v", modes, want)
	}
	if now := heldAs(t, path); now != "" {
		t.Errorf("image lock after destroy: %q, want free", now)
	}
}

// TestDiskGuardPrunesOwnApp: the disk guard runs inside a deploy that
// holds the app's deploy lock, and prunes that app's old images without
// waiting for that lock again (a flock is per open file: it would wait
// for itself).
func TestDiskGuardPrunesOwnApp(t *testing.T) {
	e, _ := newLockEnv(t)
	e.mustDeploy(t, sha1)
	third := "abcdefabcdefabcdefabcdefabcdefabcdefabcd"
	e.mustDeploy(t, sha2)
	labels := map[string]string{container.LabelApp: "demo", container.LabelRoot: e.d.Config.Root}
	ip := &fakePruner{images: []container.Image{
		{ID: "i1", Names: []string{ImageTag("demo", sha1)}, Size: 3e9, Labels: labels},
		{ID: "i2", Names: []string{ImageTag("demo", sha2)}, Size: 1e8, Labels: labels},
	}}
	e.d.Images = ip
	if err := os.MkdirAll(e.d.Config.Podman.Storage, 0o755); err != nil {
		t.Fatal(err)
	}
	e.d.Config.Podman.MinFreeBytes = 2e9
	e.d.FreeDisk = func(string) (int64, error) {
		if len(ip.removed) > 0 {
			return 3e9, nil
		}
		return 5e8, nil
	}
	e.d.Config.Keep = 0
	ctx, cancel := context.WithTimeout(t.Context(), lockWait)
	defer cancel()
	e.src.sha = third
	var out strings.Builder
	r, err := e.d.Deploy(ctx, "demo", "refs/heads/main", "push", &out)
	if err != nil {
		t.Fatalf("deploy with a disk guard prune: %v\n%s", err, out.String())
	}
	if r.Version != 3 || len(ip.removed) != 1 || ip.removed[0] != ImageTag("demo", sha1) {
		t.Errorf("deployed v%d, removed %v; want v3 after removing %s\n%s", r.Version, ip.removed, ImageTag("demo", sha1), out.String())
	}
}

// TestDiskGuardSkipsBusyApp: the disk guard of one app's deploy does not
// wait for another app's deploy lock (that deploy's own disk guard could
// be waiting for ours): it skips that app and says so.
func TestDiskGuardSkipsBusyApp(t *testing.T) {
	e, _ := newLockEnv(t)
	e.mustDeploy(t, sha1)
	if err := state.SaveApp(e.d.Fs, e.d.Config.AppsDir(), &state.App{Name: "other", Settings: state.Settings{Branch: "main"}}); err != nil {
		t.Fatal(err)
	}
	busy, err := FileLock{}.Lock(t.Context(), e.d.lockPath("other"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer busy()
	other := map[string]string{container.LabelApp: "other", container.LabelRoot: e.d.Config.Root}
	ip := &fakePruner{images: []container.Image{
		{ID: "o1", Names: []string{ImageTag("other", sha1)}, Size: 3e9, Labels: other},
	}}
	e.d.Images = ip
	e.d.Config.Podman.MinFreeBytes = 2e9
	e.d.FreeDisk = func(string) (int64, error) { return 5e8, nil }
	ctx, cancel := context.WithTimeout(t.Context(), lockWait)
	defer cancel()
	e.src.sha = sha2
	var out strings.Builder
	_, err = e.d.Deploy(ctx, "demo", "refs/heads/main", "push", &out)
	if err == nil || !strings.Contains(err.Error(), "free disk space") {
		t.Fatalf("deploy = %v, want the disk guard's refusal\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "skipped other: a deploy of it is in progress") || len(ip.removed) != 0 {
		t.Errorf("removed %v; output:\n%s", ip.removed, out.String())
	}
	if ctx.Err() != nil {
		t.Error("the disk guard waited for the other app's lock")
	}
}
