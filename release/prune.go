package release

import (
	"context"
	"fmt"
	"io"

	"github.com/gitship/gitship/build"
)

// CachePruner is a build cache with a size budget (BuildKit's).
type CachePruner interface {
	CacheUsage(ctx context.Context) (build.CacheUsage, error)
	PruneCache(ctx context.Context, budget int64) (freed int64, after build.CacheUsage, err error)
}

// PruneBuildCache brings the build cache within budget bytes, removing
// least recently used entries and nothing the budget does not require
// (0: no budget). With dryRun it only says what it would do. Without a
// Cache there is nothing to prune.
func (d *Deployer) PruneBuildCache(ctx context.Context, budget int64, dryRun bool, out io.Writer) error {
	c := d.Cache
	if c == nil {
		return nil
	}
	p := &Progress{W: out, Now: d.Now}
	u, err := c.CacheUsage(ctx)
	if err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	switch {
	case budget == 0:
		p.Say("Build cache: %s in %d entries; no budget set, nothing pruned", size(u.Bytes), u.Entries)
		return nil
	case u.Bytes <= budget:
		p.Say("Build cache: %s in %d entries, within its budget of %s; nothing pruned", size(u.Bytes), u.Entries, size(budget))
		return nil
	case dryRun:
		p.Say("Build cache: %s in %d entries, over its budget of %s: would free at least %s (dry run)", size(u.Bytes), u.Entries, size(budget), size(u.Bytes-budget))
		return nil
	}
	freed, after, err := c.PruneCache(ctx, budget)
	if err != nil {
		return fmt.Errorf("prune build cache: %w", err)
	}
	p.Say("Build cache: freed %s; %s in %d entries left (budget %s)", size(freed), size(after.Bytes), after.Entries, size(budget))
	return nil
}

// size prints bytes for people.
func size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
