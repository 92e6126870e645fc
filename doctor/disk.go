package doctor

import (
	"fmt"
	"path/filepath"
	"syscall"
)

// Disk is the space of the filesystem holding a path.
type Disk struct {
	Free  uint64 // available to unprivileged writers
	Total uint64
}

// Free-space thresholds: below either of the warn figures a warning,
// below either of the fail figures a failure. A deploy needs room for an
// image and a data snapshot; the data of a live app needs room to grow.
const (
	diskWarnBytes   = 1 << 30   // 1 GiB
	diskWarnPercent = 10.0      //
	diskFailBytes   = 512 << 20 // 512 MiB
	diskFailPercent = 5.0       //
)

// disk checks the free space under path.
func (d *Doctor) disk(name, path string) Check {
	if path == "" {
		return ok(name, "no path to measure")
	}
	// measure the nearest existing directory: the store may not exist yet
	at := path
	for {
		if _, err := d.Fs.Stat(at); err == nil || at == filepath.Dir(at) {
			break
		}
		at = filepath.Dir(at)
	}
	st, err := d.Statfs(at)
	if err != nil {
		return warn(name, err.Error(), "check that "+path+" exists and is mounted")
	}
	return diskCheck(name, path, st)
}

func diskCheck(name, path string, st Disk) Check {
	pct := 100.0
	if st.Total > 0 {
		pct = float64(st.Free) * 100 / float64(st.Total)
	}
	detail := fmt.Sprintf("%s free under %s (%.0f%% of %s)", size(st.Free), path, pct, size(st.Total))
	fix := "free space: `gitship prune --keep 0` removes old images; move or delete old backups"
	switch {
	case st.Free < diskFailBytes || pct < diskFailPercent:
		return fail(name, detail, fix)
	case st.Free < diskWarnBytes || pct < diskWarnPercent:
		return warn(name, detail, fix)
	}
	return ok(name, detail)
}

func size(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// Statfs measures the filesystem holding path (syscall.Statfs).
func Statfs(path string) (Disk, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return Disk{}, fmt.Errorf("free space under %s: %w", path, err)
	}
	return Disk{Free: st.Bavail * uint64(st.Bsize), Total: st.Blocks * uint64(st.Bsize)}, nil
}
