package release

import (
	"context"
	"strings"
	"testing"

	"github.com/gitship/gitship/build"
)

type fakeCache struct {
	usage  build.CacheUsage
	pruned []int64 // budgets PruneCache was called with
}

var _ CachePruner = (*fakeCache)(nil)

func (f *fakeCache) CacheUsage(ctx context.Context) (build.CacheUsage, error) { return f.usage, nil }

func (f *fakeCache) PruneCache(ctx context.Context, budget int64) (int64, build.CacheUsage, error) {
	f.pruned = append(f.pruned, budget)
	freed := f.usage.Bytes - budget
	f.usage = build.CacheUsage{Bytes: budget, Entries: 1}
	return freed, f.usage, nil
}

func TestPruneBuildCache(t *testing.T) {
	tests := []struct {
		name   string
		usage  int64
		budget int64
		dryRun bool
		prunes bool
		want   string
	}{
		{"no budget", 5e9, 0, false, false, "no budget set, nothing pruned"},
		{"within", 5e9, 10e9, false, false, "5.0 GB in 3 entries, within its budget of 10.0 GB; nothing pruned"},
		{"exactly at", 10e9, 10e9, false, false, "within its budget"},
		{"dry run", 12e9, 10e9, true, false, "would free at least 2.0 GB (dry run)"},
		{"over", 12e9, 10e9, false, true, "freed 2.0 GB; 10.0 GB in 1 entries left (budget 10.0 GB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMemEnv(t)
			c := &fakeCache{usage: build.CacheUsage{Bytes: tt.usage, Entries: 3}}
			e.d.Cache = c
			var out strings.Builder
			if err := e.d.PruneBuildCache(context.Background(), tt.budget, tt.dryRun, &out); err != nil {
				t.Fatal(err)
			}
			if got := len(c.pruned) > 0; got != tt.prunes {
				t.Errorf("pruned %v, want %v", c.pruned, tt.prunes)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("output %q lacks %q", out.String(), tt.want)
			}
		})
	}
}
