package release

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// fakePruner is an image store: RemoveImage drops one name, and the image
// goes when its last name does (podman rmi NAME without force).
type fakePruner struct {
	mu      sync.Mutex
	images  []container.Image
	removed []string
	// onRemove, if set, runs before each removal.
	onRemove func(name string)
}

var _ ImagePruner = (*fakePruner)(nil)

func (f *fakePruner) Images(ctx context.Context, labels map[string]string) ([]container.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []container.Image
	for _, im := range f.images {
		if hasLabels(im.Labels, labels) && len(im.Names) > 0 {
			out = append(out, im)
		}
	}
	return out, nil
}

func (f *fakePruner) RemoveImage(ctx context.Context, name string) (bool, error) {
	if f.onRemove != nil {
		f.onRemove(name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, name)
	for i, im := range f.images {
		for j, n := range im.Names {
			if n == name {
				f.images[i].Names = append(append([]string(nil), im.Names[:j]...), im.Names[j+1:]...)
				if len(f.images[i].Names) > 0 {
					return false, nil
				}
				f.images = append(f.images[:i], f.images[i+1:]...)
				return true, nil
			}
		}
	}
	return false, fmt.Errorf("remove image %s: image not known", name)
}

// PruneDangling drops the images without names that carry labels,
// except those keep keeps.
func (f *fakePruner) PruneDangling(ctx context.Context, labels map[string]string, keepIt func(container.Image) bool, dryRun bool) (int, int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, size := 0, int64(0)
	var keep []container.Image
	for _, im := range f.images {
		if len(im.Names) == 0 && hasLabels(im.Labels, labels) && (keepIt == nil || !keepIt(im)) {
			n, size = n+1, size+im.Size
			if !dryRun {
				f.removed = append(f.removed, im.ID)
				continue
			}
		}
		keep = append(keep, im)
	}
	f.images = keep
	return n, size, nil
}

func (f *fakePruner) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, im := range f.images {
		out = append(out, im.ID)
	}
	sort.Strings(out)
	return out
}

func (f *fakePruner) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, im := range f.images {
		out = append(out, im.Names...)
	}
	sort.Strings(out)
	return out
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// pruneRuntime lists the containers it is given, filtered by labels (the
// shared fakeRuntime lists only running ones, without labels).
type pruneRuntime struct {
	*fakeRuntime
	states []container.State
}

func (rt *pruneRuntime) List(ctx context.Context, labels map[string]string) ([]container.State, error) {
	var out []container.State
	for _, s := range rt.states {
		if hasLabels(s.Labels, labels) {
			out = append(out, s)
		}
	}
	return out, nil
}

var pruneT0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// pruneRec is release v of app demo with image img; wentLive says whether it
// ever went live.
func pruneRec(v int, kind string, img string, status state.Status, wentLive bool) *state.Record {
	r := &state.Record{Version: v, App: "demo", Kind: kind, Image: img, Status: status,
		Container: fmt.Sprintf("gitship-demo-v%d", v), Created: pruneT0.Add(time.Duration(v) * time.Minute)}
	if wentLive {
		r.LiveSince = r.Created.Add(time.Second)
	}
	return r
}

func pruneImg(n int) string { return fmt.Sprintf("localhost/gitship/demo:%012d", n) }

func TestPlanKeep(t *testing.T) {
	tests := []struct {
		name string
		list []*state.Record
		keep int
		want []string // kept images
	}{
		{"none", nil, 1, nil},
		{"live only", []*state.Record{pruneRec(1, state.KindPush, pruneImg(1), state.StatusLive, true)}, 1, []string{pruneImg(1)}},
		{"keep 1 of 3 older", []*state.Record{
			pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true),
			pruneRec(2, state.KindPush, pruneImg(2), state.StatusRetired, true),
			pruneRec(3, state.KindPush, pruneImg(3), state.StatusRetired, true),
			pruneRec(4, state.KindPush, pruneImg(4), state.StatusLive, true),
		}, 1, []string{pruneImg(3), pruneImg(4)}},
		{"keep 2", []*state.Record{
			pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true),
			pruneRec(2, state.KindPush, pruneImg(2), state.StatusRetired, true),
			pruneRec(3, state.KindPush, pruneImg(3), state.StatusRetired, true),
			pruneRec(4, state.KindPush, pruneImg(4), state.StatusLive, true),
		}, 2, []string{pruneImg(2), pruneImg(3), pruneImg(4)}},
		{"keep 0", []*state.Record{
			pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true),
			pruneRec(2, state.KindPush, pruneImg(2), state.StatusLive, true),
		}, 0, []string{pruneImg(2)}},
		{"never-live releases are no targets", []*state.Record{
			pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true),
			pruneRec(2, state.KindPush, pruneImg(2), state.StatusFailed, false),
			pruneRec(3, state.KindPush, pruneImg(3), state.StatusLive, true),
		}, 1, []string{pruneImg(1), pruneImg(3)}},
		{"rollback shares the live image", []*state.Record{
			pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true),
			pruneRec(2, state.KindPush, pruneImg(2), state.StatusRetired, true),
			pruneRec(3, state.KindPush, pruneImg(3), state.StatusRetired, true),
			pruneRec(4, state.KindRollback, pruneImg(1), state.StatusLive, true),
		}, 1, []string{pruneImg(1), pruneImg(3)}},
		{"rollback and its target count once", []*state.Record{
			pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true),
			pruneRec(2, state.KindPush, pruneImg(2), state.StatusRetired, true),
			pruneRec(3, state.KindRollback, pruneImg(1), state.StatusRetired, true),
			pruneRec(4, state.KindPush, pruneImg(4), state.StatusLive, true),
		}, 2, []string{pruneImg(1), pruneImg(2), pruneImg(4)}},
		{"the warm release is the one rollback target kept", []*state.Record{
			pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true),
			pruneRec(2, state.KindPush, pruneImg(2), state.StatusWarm, true),
			pruneRec(3, state.KindPush, pruneImg(3), state.StatusLive, true),
		}, 1, []string{pruneImg(2), pruneImg(3)}},
		{"the warm release keeps its image with keep 0", []*state.Record{
			pruneRec(1, state.KindPush, pruneImg(1), state.StatusWarm, true),
			pruneRec(2, state.KindPush, pruneImg(2), state.StatusLive, true),
		}, 0, []string{pruneImg(1), pruneImg(2)}},
		{"in-flight deploy keeps its image", []*state.Record{
			pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true),
			pruneRec(2, state.KindPush, pruneImg(2), state.StatusLive, true),
			pruneRec(3, state.KindPush, pruneImg(3), state.StatusStarting, false),
		}, 0, []string{pruneImg(2), pruneImg(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for im := range planKeep(tt.list, tt.keep).images {
				got = append(got, im)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("kept %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPruneImages(t *testing.T) {
	const otherRoot = "/srv/other"
	label := func(app, root string) map[string]string {
		return map[string]string{container.LabelApp: app, container.LabelRoot: root}
	}
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry-run=%v", dry), func(t *testing.T) {
			e := newMemEnv(t)
			root := e.d.Config.Root
			for _, r := range []*state.Record{
				pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true),
				pruneRec(2, state.KindPush, pruneImg(2), state.StatusRetired, true),
				pruneRec(3, state.KindPush, pruneImg(3), state.StatusRetired, true),
				pruneRec(4, state.KindPush, pruneImg(4), state.StatusLive, true),
			} {
				if err := e.store.Save(r); err != nil {
					t.Fatal(err)
				}
			}
			ip := &fakePruner{images: []container.Image{
				{ID: "i1", Names: []string{pruneImg(1)}, Size: 1e6, Labels: label("demo", root)},
				// someone else's name on a gitship image: the image stays
				{ID: "i2", Names: []string{pruneImg(2), "localhost/other/thing:1"}, Size: 2e6, Labels: label("demo", root)},
				{ID: "i3", Names: []string{pruneImg(3)}, Size: 3e6, Labels: label("demo", root)},
				{ID: "i4", Names: []string{pruneImg(4)}, Size: 4e6, Labels: label("demo", root)},
				// an app without records any more (destroyed)
				{ID: "g1", Names: []string{"localhost/gitship/gone:000000000001"}, Size: 5e6, Labels: label("gone", root)},
				// another instance on the same host, and not gitship at all
				{ID: "o1", Names: []string{"localhost/gitship/demo:999999999999"}, Size: 6e6, Labels: label("demo", otherRoot)},
				{ID: "x1", Names: []string{"docker.io/library/alpine:3"}, Size: 7e6},
				// build leftovers: this instance's go, another's stay
				{ID: "d1", Size: 8e6, Labels: label("demo", root)},
				{ID: "d2", Size: 9e6, Labels: label("demo", otherRoot)},
			}}
			rt := &pruneRuntime{fakeRuntime: e.rt, states: []container.State{
				{Name: "gitship-demo-v4", Status: "running", Running: true, Labels: label("demo", root)},
				{Name: "gitship-demo-v3", Status: "exited", Labels: label("demo", root)},
				{Name: "gitship-demo-v1", Status: "exited", Labels: label("demo", otherRoot)},
				{Name: "unrelated", Status: "exited"},
			}}
			e.d.Runtime = rt
			e.d.Images = ip
			var out strings.Builder
			if err := e.d.PruneImages(context.Background(), 1, dry, &out); err != nil {
				t.Fatal(err)
			}
			t.Log(out.String())
			want := []string{"docker.io/library/alpine:3", pruneImg(3), pruneImg(4), "localhost/gitship/demo:999999999999", "localhost/other/thing:1"}
			if dry {
				want = []string{"docker.io/library/alpine:3", pruneImg(1), pruneImg(2), pruneImg(3), pruneImg(4),
					"localhost/gitship/demo:999999999999", "localhost/gitship/gone:000000000001", "localhost/other/thing:1"}
				if len(ip.removed) > 0 {
					t.Errorf("dry run removed images %v", ip.removed)
				}
			}
			sort.Strings(want)
			if got := ip.names(); !reflect.DeepEqual(got, want) {
				t.Errorf("images left %v\nwant %v", got, want)
			}
			var removedCtrs []string
			for _, c := range e.rt.callList() {
				if strings.HasPrefix(c, "remove ") {
					removedCtrs = append(removedCtrs, strings.TrimPrefix(c, "remove "))
				}
			}
			wantCtrs := []string{"gitship-demo-v3"}
			if dry {
				wantCtrs = nil
			}
			if !reflect.DeepEqual(removedCtrs, wantCtrs) {
				t.Errorf("removed containers %v, want %v", removedCtrs, wantCtrs)
			}
			verb := "Removed"
			if dry {
				verb = "Would remove"
			}
			if got := fmt.Sprint(ip.ids()); got != fmt.Sprint(map[bool][]string{false: {"d2", "i2", "i3", "i4", "o1", "x1"},
				true: {"d1", "d2", "g1", "i1", "i2", "i3", "i4", "o1", "x1"}}[dry]) {
				t.Errorf("images left: %s", got)
			}
			// i1 and gone's image are deleted; i2 only loses its gitship name;
			// d1 is a build leftover.
			wantSummary := verb + " 2 images, 1 build leftovers and 1 containers, freeing 14.0 MB (1 more images only lost gitship's name"
			if !strings.Contains(out.String(), wantSummary) {
				t.Errorf("output lacks %q:\n%s", wantSummary, out.String())
			}
		})
	}
}

// pruneEnv is an instance whose app demo has records list and whose
// store holds imgs (labelled demo of this instance), no containers.
func pruneEnv(t *testing.T, list []*state.Record, imgs ...container.Image) (*env, *fakePruner) {
	t.Helper()
	e := newMemEnv(t)
	for _, r := range list {
		if err := e.store.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	labels := map[string]string{container.LabelApp: "demo", container.LabelRoot: e.d.Config.Root}
	for i := range imgs {
		imgs[i].Labels = labels
	}
	e.d.Runtime = &pruneRuntime{fakeRuntime: e.rt}
	return e, &fakePruner{images: imgs}
}

// withID is r recording the image ID id.
func withID(r *state.Record, id string) *state.Record { r.ImageID = "sha256:" + id; return r }

func (e *env) prune(t *testing.T, ip *fakePruner, keep int) string {
	t.Helper()
	e.d.Images = ip
	var out strings.Builder
	if err := e.d.PruneImages(t.Context(), keep, false, &out); err != nil {
		t.Fatalf("prune: %v\n%s", err, out.String())
	}
	return out.String()
}

// A release keeps its image by the ID it recorded as well as by name: an
// image whose name a later build took (before builds stopped taking
// names) is not a build leftover, whatever keep says about rollbacks.
func TestPruneKeepsImagesByID(t *testing.T) {
	list := []*state.Record{
		withID(pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true), "aaa1"),
		withID(pruneRec(2, state.KindPush, pruneImg(2), state.StatusLive, true), "aaa2"),
	}
	imgs := func() []container.Image {
		return []container.Image{
			{ID: "aaa1"}, // v1's, its name taken by bbb1
			{ID: "bbb1", Names: []string{pruneImg(1)}},
			{ID: "aaa2"}, // the live one lost its name too, and no container runs it (a reboot)
			{ID: "ccc3"}, // a build leftover
		}
	}
	for _, tt := range []struct {
		keep int
		want []string
	}{
		{1, []string{"aaa1", "aaa2", "bbb1"}},
		{0, []string{"aaa2"}},
	} {
		t.Run(fmt.Sprintf("keep=%d", tt.keep), func(t *testing.T) {
			e, ip := pruneEnv(t, list, imgs()...)
			out := e.prune(t, ip, tt.keep)
			if got := ip.ids(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("images left %v, want %v\n%s", got, tt.want, out)
			}
		})
	}
}

// Only a missing app is gone: an app whose state cannot be read keeps
// every image, and prune says so.
func TestPruneSkipsUnreadableApp(t *testing.T) {
	list := []*state.Record{
		withID(pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true), "aaa1"),
		withID(pruneRec(2, state.KindPush, pruneImg(2), state.StatusLive, true), "aaa2"),
	}
	t.Run("unreadable", func(t *testing.T) {
		e, ip := pruneEnv(t, list, container.Image{ID: "aaa1", Names: []string{pruneImg(1)}},
			container.Image{ID: "aaa2", Names: []string{pruneImg(2)}}, container.Image{ID: "ddd1"})
		if err := afero.WriteFile(e.d.Fs, state.AppPath(e.d.Config.AppsDir(), "demo"), []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		out := e.prune(t, ip, 0)
		if got, want := ip.ids(), []string{"aaa1", "aaa2", "ddd1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("images left %v, want all of %v\n%s", got, want, out)
		}
		if !strings.Contains(out, "!     skipped demo, its images are kept: read app demo: ") {
			t.Errorf("no warning about demo:\n%s", out)
		}
	})
	t.Run("missing", func(t *testing.T) {
		e, ip := pruneEnv(t, list, container.Image{ID: "aaa1", Names: []string{pruneImg(1)}},
			container.Image{ID: "aaa2", Names: []string{pruneImg(2)}}, container.Image{ID: "ddd1"})
		if err := e.d.Fs.Remove(state.AppPath(e.d.Config.AppsDir(), "demo")); err != nil {
			t.Fatal(err)
		}
		out := e.prune(t, ip, 0)
		if got := ip.ids(); len(got) != 0 {
			t.Errorf("images of a destroyed app left: %v\n%s", got, out)
		}
	})
}

// The command line's --keep wins over the app's keep setting, even when
// it equals the config's; without it the app's setting wins, and keep=0
// keeps the live image only.
func TestPruneKeepPrecedence(t *testing.T) {
	list := []*state.Record{
		withID(pruneRec(1, state.KindPush, pruneImg(1), state.StatusRetired, true), "aaa1"),
		withID(pruneRec(2, state.KindPush, pruneImg(2), state.StatusRetired, true), "aaa2"),
		withID(pruneRec(3, state.KindPush, pruneImg(3), state.StatusRetired, true), "aaa3"),
		withID(pruneRec(4, state.KindPush, pruneImg(4), state.StatusLive, true), "aaa4"),
	}
	for _, tt := range []struct {
		name         string
		config, flag int // flag -1: not given
		app          *int
		want         []string
	}{
		{"flag equal to the config beats the app's 0", 1, 1, ptr(0), []string{"aaa3", "aaa4"}},
		{"flag beats the app's 3", 1, 0, ptr(3), []string{"aaa4"}},
		{"app's 0 beats the config", 2, -1, ptr(0), []string{"aaa4"}},
		{"app's 2 beats the config", 0, -1, ptr(2), []string{"aaa2", "aaa3", "aaa4"}},
		{"config without an app setting", 1, -1, nil, []string{"aaa3", "aaa4"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var imgs []container.Image
			for i := 1; i <= 4; i++ {
				imgs = append(imgs, container.Image{ID: fmt.Sprintf("aaa%d", i), Names: []string{pruneImg(i)}})
			}
			e, ip := pruneEnv(t, list, imgs...)
			e.d.Config.Keep = tt.config
			e.editApp(t, func(a *state.App) { a.Keep = tt.app })
			out := e.prune(t, ip, tt.flag)
			if got := ip.ids(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("images left %v, want %v\n%s", got, tt.want, out)
			}
		})
	}
}

func ptr(n int) *int { return &n }
