package state

import (
	"testing"

	"github.com/spf13/afero"
)

// TestSnapshotIDs: numbers count up and are not given again after their
// snapshot is gone; the list is in number order (s-10 after s-9).
func TestSnapshotIDs(t *testing.T) {
	fsys := afero.NewMemMapFs()
	var ids []string
	for i := 0; i < 10; i++ {
		id, err := NextSnapshotID(fsys, "/apps", "demo")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if err := SaveSnapshot(fsys, "/apps", &Snapshot{ID: id, App: "demo", Before: "release v1"}); err != nil {
			t.Fatal(err)
		}
	}
	if ids[0] != "s-1" || ids[9] != "s-10" {
		t.Errorf("ids %v", ids)
	}
	if err := fsys.Remove("/apps/demo/snapshots/s-10.json"); err != nil {
		t.Fatal(err)
	}
	if id, err := NextSnapshotID(fsys, "/apps", "demo"); err != nil || id != "s-11" {
		t.Errorf("next after removing s-10: %s, %v", id, err)
	}
	list, err := ListSnapshots(fsys, "/apps", "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 9 || list[0].ID != "s-1" || list[8].ID != "s-9" {
		t.Errorf("list %v", list)
	}
	for _, bad := range []string{"s-0", "s-01", "s-+2", "x-1", "s-"} {
		if _, ok := SnapshotNumber(bad); ok {
			t.Errorf("SnapshotNumber(%q) ok", bad)
		}
	}
}
