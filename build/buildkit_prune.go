package build

import (
	"context"
	"fmt"

	"github.com/moby/buildkit/client"
)

// CacheUsage is the size of buildkitd's build cache.
type CacheUsage struct {
	Bytes   int64 // sum of the sizes of all cache records
	Entries int   // number of cache records
}

// CacheUsage reports the size of buildkitd's build cache: every record
// client.DiskUsage lists, in use or not.
func (b *BuildKit) CacheUsage(ctx context.Context) (CacheUsage, error) {
	c, err := connect(ctx, b.Address)
	if err != nil {
		return CacheUsage{}, err
	}
	defer c.Close()
	return cacheUsage(ctx, c)
}

// PruneCache removes least recently used cache entries until the cache fits
// in budget bytes, and returns the bytes freed and the usage after. A cache
// that fits already is left alone, and a budget of 0 means no budget.
//
// Both are checked here, not left to buildkitd: it reads a keep-bytes of 0
// as "keep nothing" and empties the cache (the cold cache after every prune
// that peers ship), and at a usage exactly equal to the budget it still
// removes one entry. Entries a running build holds, and those buildkitd
// counts as shared with its own images, are never removed, so after may
// still exceed budget; the caller decides whether that matters.
func (b *BuildKit) PruneCache(ctx context.Context, budget int64) (freed int64, after CacheUsage, err error) {
	if budget < 0 {
		return 0, CacheUsage{}, fmt.Errorf("prune buildkit cache: budget %d bytes is negative", budget)
	}
	c, err := connect(ctx, b.Address)
	if err != nil {
		return 0, CacheUsage{}, err
	}
	defer c.Close()
	before, err := cacheUsage(ctx, c)
	if err != nil || budget == 0 || before.Bytes <= budget {
		return 0, before, err
	}

	// buildkitd removes one entry at a time, least recently and least
	// often used first (cache/manager.go sortDeleteRecords), until the
	// rest is below keep-bytes, and reports each on the stream.
	ch := make(chan client.UsageInfo)
	summed := make(chan int64, 1)
	go func() {
		var n int64
		for u := range ch {
			n += u.Size
		}
		summed <- n
	}()
	pruneErr := c.Prune(ctx, ch, client.WithKeepOpt(0, budget))
	close(ch) // Prune has returned, so it sends no more
	freed = <-summed
	if pruneErr != nil {
		return freed, CacheUsage{}, fmt.Errorf("prune buildkit cache to %d bytes: %s", budget, cleanBuildKitError(pruneErr))
	}
	after, err = cacheUsage(ctx, c)
	return freed, after, err
}

// cacheUsage sums what buildkitd reports through c.
func cacheUsage(ctx context.Context, c *client.Client) (CacheUsage, error) {
	recs, err := c.DiskUsage(ctx)
	if err != nil {
		return CacheUsage{}, fmt.Errorf("buildkit cache usage: %s", cleanBuildKitError(err))
	}
	u := CacheUsage{Entries: len(recs)}
	for _, r := range recs {
		if r.Size > 0 { // a record being written reports 0, one gone -1
			u.Bytes += r.Size
		}
	}
	return u, nil
}
