package state

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
)

func newStore() *Store { return &Store{Fs: afero.NewMemMapFs(), AppsDir: "/srv/gitship/apps"} }

func TestStoreNext(t *testing.T) {
	s := newStore()
	for want := 1; want <= 3; want++ {
		r := &Record{App: "demo", Kind: "push", Commit: "abc", Status: StatusLive}
		if err := s.Next(r); err != nil {
			t.Fatal(err)
		}
		if r.Version != want {
			t.Errorf("Next allocated v%d, want v%d", r.Version, want)
		}
		if r.Status != StatusBuilding {
			t.Errorf("Next set status %q, want %q", r.Status, StatusBuilding)
		}
		got, err := s.Get("demo", want)
		if err != nil {
			t.Fatalf("Next did not store v%d: %v", want, err)
		}
		if got.Status != StatusBuilding {
			t.Errorf("stored v%d has status %q, want building", want, got.Status)
		}
	}
	// Apps are numbered on their own.
	r := &Record{App: "other"}
	if err := s.Next(r); err != nil {
		t.Fatal(err)
	}
	if r.Version != 1 {
		t.Errorf("first release of another app is v%d, want v1", r.Version)
	}
}

func TestStoreNextAfterGap(t *testing.T) {
	s := newStore()
	// Only v9 exists (older records pruned): the next is v10, not v2.
	if err := s.Save(&Record{App: "demo", Version: 9, Status: StatusRetired}); err != nil {
		t.Fatal(err)
	}
	r := &Record{App: "demo"}
	if err := s.Next(r); err != nil {
		t.Fatal(err)
	}
	if r.Version != 10 {
		t.Errorf("Next allocated v%d, want v10", r.Version)
	}
}

func TestStoreSaveGet(t *testing.T) {
	s := newStore()
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	want := &Record{
		Version: 4, App: "demo", Kind: "push", Commit: "0123456789abcdef0123456789abcdef01234567",
		Image: "localhost/gitship/demo:0123456789ab", ImageID: "sha256:1", Builder: "podman",
		Container: "gitship-demo-v4", Socket: "/run/gitship/demo/v4/web.sock",
		Status: StatusLive, Reason: "", Created: created,
		Finished: created.Add(12 * time.Second), LiveSince: created.Add(12 * time.Second),
	}
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	if ok, _ := afero.Exists(s.Fs, "/srv/gitship/apps/demo/releases/v4.json"); !ok {
		t.Fatal("Save did not write apps/demo/releases/v4.json")
	}
	got, err := s.Get("demo", 4)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if got.Name() != "v4" {
		t.Errorf("Name() = %q, want v4", got.Name())
	}
	if got.Duration() != 12*time.Second {
		t.Errorf("Duration() = %v, want 12s", got.Duration())
	}
	if _, err := s.Get("demo", 5); err == nil || !strings.Contains(err.Error(), "v5") {
		t.Errorf("Get of a missing release = %v, want an error naming v5", err)
	}
}

func TestRecordDurationWhileRunning(t *testing.T) {
	r := &Record{Created: time.Now()}
	if d := r.Duration(); d != 0 {
		t.Errorf("Duration of an unfinished record = %v, want 0", d)
	}
}

func TestStoreList(t *testing.T) {
	s := newStore()
	dir := "/srv/gitship/apps/demo/releases"
	for _, v := range []int{2, 10, 1} {
		if err := s.Save(&Record{App: "demo", Version: v, Status: StatusRetired}); err != nil {
			t.Fatal(err)
		}
	}
	// Leftovers of an interrupted write and files that are not records.
	for _, name := range []string{".v3.json.tmp-123", "v3.json.tmp-9", "notes.txt", "v.json", "vx.json", "v0.json", "v-1.json"} {
		if err := afero.WriteFile(s.Fs, dir+"/"+name, []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List("demo")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range list {
		got = append(got, r.Version)
	}
	if want := []int{1, 2, 10}; !reflect.DeepEqual(got, want) {
		t.Errorf("List versions = %v, want %v (oldest first, non-records ignored)", got, want)
	}

	list, err = s.List("nothing")
	if err != nil || len(list) != 0 {
		t.Errorf("List of an app without releases = %v, %v; want none, nil", list, err)
	}
}

func TestStoreListCorrupt(t *testing.T) {
	s := newStore()
	if err := s.Save(&Record{App: "demo", Version: 1}); err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(s.Fs, "/srv/gitship/apps/demo/releases/v3.json", []byte(`{"version": 3,`), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"List": func() error { _, err := s.List("demo"); return err },
		"Live": func() error { _, err := s.Live("demo"); return err },
		"Next": func() error { return s.Next(&Record{App: "demo"}) },
	} {
		err := f()
		if err == nil {
			t.Errorf("%s with a corrupt v3.json succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), "demo v3") {
			t.Errorf("%s: error %q does not name release demo v3", name, err)
		}
	}
}

func TestStoreLive(t *testing.T) {
	tests := []struct {
		name     string
		statuses []Status // of v1, v2, ...
		want     int      // 0: none
	}{
		{"no releases", nil, 0},
		{"only failed", []Status{StatusFailed, StatusFailed}, 0},
		{"single live", []Status{StatusLive}, 1},
		{"live then failed", []Status{StatusRetired, StatusLive, StatusFailed, StatusBuilding}, 2},
		{"two live picks newest", []Status{StatusLive, StatusLive, StatusRetired}, 2},
		{"retired only", []Status{StatusRetired}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			for i, st := range tt.statuses {
				if err := s.Save(&Record{App: "demo", Version: i + 1, Status: st}); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Live("demo")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == 0 && got != nil:
				t.Errorf("Live = %s, want nil", got.Name())
			case tt.want != 0 && got == nil:
				t.Errorf("Live = nil, want v%d", tt.want)
			case tt.want != 0 && got.Version != tt.want:
				t.Errorf("Live = %s, want v%d", got.Name(), tt.want)
			}
		})
	}
}

// TestVersionOfCanonicalOnly: only "vN.json" names a record, so a stray
// "v+2.json" or "v01.json" cannot alias v2 or v1.
func TestVersionOfCanonicalOnly(t *testing.T) {
	for name, want := range map[string]bool{
		"v1.json": true, "v12.json": true, "v+2.json": false, "v01.json": false,
		"v0.json": false, "v-1.json": false, "v1.json.tmp": false, ".v1.json.tmp-1": false,
	} {
		if _, ok := versionOf(name); ok != want {
			t.Errorf("versionOf(%q) ok = %v, want %v", name, ok, want)
		}
	}
}
