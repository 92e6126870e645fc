package release

import (
	"context"
	"fmt"
	"syscall"
)

// freeBytes is the space available to unprivileged writers under path.
func freeBytes(path string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, fmt.Errorf("free space under %s: %w", path, err)
	}
	return int64(st.Bavail) * st.Bsize, nil
}

// guardDisk runs before a build: with less than [podman] min_free free
// under Podman's storage it prunes what the keep policy allows, and if
// that is not enough refuses the deploy before building anything (a
// build that fills the disk could take the live release down with it).
func (r *run) guardDisk(ctx context.Context) error {
	d := r.d
	need := d.Config.Podman.MinFreeBytes
	if need <= 0 || d.Config.Podman.Storage == "" {
		return nil
	}
	free := d.FreeDisk
	if free == nil {
		free = freeBytes
	}
	have, err := free(d.Config.Podman.Storage)
	if err != nil || have >= need {
		return nil // nothing to measure is no reason to refuse
	}
	r.p.Say("Only %s free under %s (%s needed): pruning what the keep policy allows", size(have), d.Config.Podman.Storage, size(need))
	if d.Images != nil {
		w, flush := r.p.Indent()
		err := d.pruneImages(ctx, -1, false, &Progress{W: w, Now: d.Now}, r.app.Name)
		flush()
		if err != nil {
			r.p.Fail("prune: %v", err)
		}
		if have, err = free(d.Config.Podman.Storage); err == nil && have >= need {
			return nil
		}
	}
	return fmt.Errorf("only %s free under %s, %s needed: free disk space (`gitship prune --keep 0`, or lower [podman] min_free) and push again",
		size(have), d.Config.Podman.Storage, size(need))
}
