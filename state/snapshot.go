package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/afero"
)

// Snapshot is one copy of an app's data dir, as stored beside it in
// apps/APP/snapshots/ID.json (the copy itself is apps/APP/snapshots/ID/).
type Snapshot struct {
	// ID is s-N, N counting up per app and never given twice.
	ID  string `json:"id"`
	App string `json:"app"`
	// Before says what the snapshot was taken before: "release v7",
	// "restore", "rollback", "backup".
	Before string    `json:"before"`
	Time   time.Time `json:"time"`
	// Size is the bytes of the regular files copied.
	Size int64 `json:"size"`
	// Files counts what was copied: files, dirs and symlinks.
	Files int `json:"files"`
	// Skipped are the paths (relative to the data dir) of device files,
	// sockets and fifos, which are not copied.
	Skipped []string `json:"skipped,omitempty"`
	// Paused is how long the app's containers were paused for the copy.
	Paused Duration `json:"paused"`
	// Reflinked says whether the files were cloned (copy on write)
	// rather than copied.
	Reflinked bool `json:"reflinked,omitempty"`
}

// SnapshotsDir is where app's snapshots live.
func SnapshotsDir(appsDir, app string) string { return filepath.Join(appsDir, app, "snapshots") }

// SnapshotNumber is N of a snapshot ID s-N (false for anything else).
func SnapshotNumber(id string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "s-"))
	return n, err == nil && n > 0 && id == "s-"+strconv.Itoa(n)
}

// seqFile holds the last snapshot number given, so that a number is not
// given again after its snapshot was removed (a restore command printed
// once must never name another snapshot).
const seqFile = "last"

// NextSnapshotID allocates the next snapshot ID of app.
func NextSnapshotID(fsys afero.Fs, appsDir, app string) (string, error) {
	dir := SnapshotsDir(appsDir, app)
	last := 0
	if b, err := afero.ReadFile(fsys, filepath.Join(dir, seqFile)); err == nil {
		last, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("snapshot number of %s: %w", app, err)
	}
	entries, err := afero.ReadDir(fsys, dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("list snapshots of %s: %w", app, err)
	}
	for _, e := range entries {
		if n, ok := SnapshotNumber(strings.TrimSuffix(e.Name(), ".json")); ok && n > last {
			last = n
		}
	}
	if err := fsys.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("snapshot dir of %s: %w", app, err)
	}
	next := last + 1
	if err := WriteAtomic(fsys, filepath.Join(dir, seqFile), []byte(strconv.Itoa(next)+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("snapshot number of %s: %w", app, err)
	}
	return "s-" + strconv.Itoa(next), nil
}

// SaveSnapshot writes the record of s atomically: a snapshot without one
// is not listed (an interrupted copy).
func SaveSnapshot(fsys afero.Fs, appsDir string, s *Snapshot) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode snapshot %s %s: %w", s.App, s.ID, err)
	}
	return WriteAtomic(fsys, filepath.Join(SnapshotsDir(appsDir, s.App), s.ID+".json"), append(data, '\n'), 0o600)
}

// ListSnapshots returns app's snapshots, oldest first. A record that does
// not decode is an error naming it.
func ListSnapshots(fsys afero.Fs, appsDir, app string) ([]*Snapshot, error) {
	dir := SnapshotsDir(appsDir, app)
	entries, err := afero.ReadDir(fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list snapshots of %s: %w", app, err)
	}
	var out []*Snapshot
	for _, e := range entries {
		id, isJSON := strings.CutSuffix(e.Name(), ".json")
		if _, ok := SnapshotNumber(id); !ok || !isJSON || e.IsDir() {
			continue
		}
		data, err := afero.ReadFile(fsys, filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read snapshot %s %s: %w", app, id, err)
		}
		var s Snapshot
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("read snapshot %s %s: %w", app, id, err)
		}
		out = append(out, &s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := SnapshotNumber(out[i].ID)
		b, _ := SnapshotNumber(out[j].ID)
		return a < b
	})
	return out, nil
}
