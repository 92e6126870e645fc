package build

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/internal/testenv"
)

func TestPruneCacheNegativeBudget(t *testing.T) {
	b := &BuildKit{Address: "unix://" + filepath.Join(t.TempDir(), "none.sock")}
	if _, _, err := b.PruneCache(context.Background(), -1); err == nil || !strings.Contains(err.Error(), "budget -1 bytes is negative") {
		t.Errorf("PruneCache(-1) error = %v, want it refused before dialling", err)
	}
}

func TestPruneCacheNoDaemon(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "none.sock")
	b := &BuildKit{Address: addr}
	if _, err := b.CacheUsage(context.Background()); err == nil || !strings.Contains(err.Error(), "buildkitd is not answering at "+addr) {
		t.Errorf("CacheUsage error = %v, want buildkitd is not answering", err)
	}
	if _, _, err := b.PruneCache(context.Background(), 1<<20); err == nil || !strings.Contains(err.Error(), "buildkitd is not answering at "+addr) {
		t.Errorf("PruneCache error = %v, want buildkitd is not answering", err)
	}
}

// TestPruneCacheReal fills a private buildkitd's cache with three images of
// known size, built one after another, and prunes it to budgets that do and
// do not require removing anything. The images land in the host's Podman
// store, so they are named after the run and removed by tag at the end.
func TestPruneCacheReal(t *testing.T) {
	testenv.Need(t, "scripts/lib.sh: install_buildkitd, install_packages", "buildkitd", "podman", "runc")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	b := &BuildKit{Address: startBuildkitd(t, dir), Podman: startPodmanService(t, dir)}
	repo := "localhost/gitship-bkprune/" + randomName(t)
	var tags []string
	t.Cleanup(func() { removeImages(t, b.Podman, tags) })
	build := func(t *testing.T, name, tag string) map[string]bool {
		t.Helper()
		req := Request{ContextDir: filepath.Join(dir, name), Dockerfile: "Dockerfile", Tag: repo + ":" + tag}
		tags = append(tags, req.Tag)
		var out strings.Builder
		if _, err := b.Build(ctx, req, &out); err != nil {
			t.Fatalf("build %s: %v\n%s", req.Tag, err, out.String())
		}
		t.Logf("build %s:\n%s", req.Tag, out.String())
		return stepStates(out.String())
	}
	usage := func(t *testing.T, when string) CacheUsage {
		t.Helper()
		u, err := b.CacheUsage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes in %d entries%s", when, u.Bytes, u.Entries, records(ctx, t, b.Address))
		return u
	}

	// Oldest first. Each image is one COPY of random data, which no
	// compression shrinks, to a path of its own, so that its cache entry
	// can be told apart from the others'.
	images := []struct{ name, step string }{
		{"a", "[1/1] COPY data /a.bin"}, {"b", "[1/1] COPY data /b.bin"}, {"c", "[1/1] COPY data /c.bin"},
	}
	for i, img := range images {
		writeFiles(t, filepath.Join(dir, img.name), map[string]string{
			"Dockerfile": "FROM scratch\nCOPY data /" + img.name + ".bin\n",
			"data":       randomData(t, (3-i)<<20), // 3, 2, 1 MiB
		})
		build(t, img.name, img.name)
	}
	full := usage(t, "after building a, b and c")
	sizes := entrySizes(ctx, t, b.Address)
	sa, sb, sc := sizes[images[0].step], sizes[images[1].step], sizes[images[2].step]
	if sa < 3<<20 || sb < 2<<20 || sc < 1<<20 {
		t.Fatalf("cache entries of a, b, c hold %d, %d, %d bytes; want at least the 3, 2, 1 MiB copied", sa, sb, sc)
	}

	for _, tt := range []struct {
		name   string
		budget int64
	}{
		{"a budget larger than the cache", full.Bytes + 1<<20},
		{"a budget the cache fills exactly", full.Bytes}, // buildkitd alone removes an entry here
		{"no budget", 0}, // buildkitd alone empties the cache here
	} {
		t.Run(tt.name+" removes nothing", func(t *testing.T) {
			freed, after, err := b.PruneCache(ctx, tt.budget)
			if err != nil {
				t.Fatal(err)
			}
			now := usage(t, "after")
			if freed != 0 || after != full || now != full {
				t.Errorf("PruneCache(%d) freed %d bytes, usage after %+v (now %+v); want 0 freed and %+v unchanged",
					tt.budget, freed, after, now, full)
			}
		})
	}

	// Enough to keep c and the build contexts, not enough to keep b too:
	// least recently used first means a and b go and c stays.
	budget := full.Bytes - sa - sb + sc/2
	t.Run("a budget smaller than the cache removes the oldest entries", func(t *testing.T) {
		freed, after, err := b.PruneCache(ctx, budget)
		if err != nil {
			t.Fatal(err)
		}
		usage(t, fmt.Sprintf("after PruneCache(%d) freed %d", budget, freed))
		if after.Bytes > budget || freed <= 0 {
			t.Errorf("PruneCache(%d) freed %d bytes and left %+v; want something freed and at most %d bytes left",
				budget, freed, after, budget)
		}
		if freed != full.Bytes-after.Bytes {
			t.Errorf("PruneCache reports %d bytes freed, but usage went from %d to %d", freed, full.Bytes, after.Bytes)
		}
		left := entrySizes(ctx, t, b.Address)
		for _, img := range images {
			_, kept := left[img.step]
			if want := img.name == "c"; kept != want {
				t.Errorf("cache entry of %s (%s) kept: %v, want %v", img.name, img.step, kept, want)
			}
		}
	})

	t.Run("the newest image is still cached", func(t *testing.T) {
		if steps := build(t, "c", "c-again"); len(steps) != 1 || !steps[images[2].step] {
			t.Errorf("rebuild of c after the prune: steps %v, want %q CACHED", steps, images[2].step)
		}
	})
	t.Run("the oldest image is not", func(t *testing.T) {
		if steps := build(t, "a", "a-again"); len(steps) != 1 || steps[images[0].step] {
			t.Errorf("rebuild of a after the prune: steps %v, want %q rebuilt", steps, images[0].step)
		}
	})
}

// randomData is n bytes that no compression or deduplication shrinks.
func randomData(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// entrySizes maps the description of each of buildkitd's cache entries
// (e.g. "[1/1] COPY data /a.bin") to its size.
func entrySizes(ctx context.Context, t *testing.T, address string) map[string]int64 {
	t.Helper()
	c, err := connect(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recs, err := c.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	for _, r := range recs {
		sizes[r.Description] += r.Size
	}
	return sizes
}

// records lists buildkitd's cache entries, least recently used first, for
// the log.
func records(ctx context.Context, t *testing.T, address string) string {
	c, err := connect(ctx, address)
	if err != nil {
		return fmt.Sprintf(" (list entries: %v)", err)
	}
	defer c.Close()
	recs, err := c.DiskUsage(ctx)
	if err != nil {
		return fmt.Sprintf(" (list entries: %v)", err)
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].LastUsedAt == nil || recs[j].LastUsedAt == nil {
			return recs[j].LastUsedAt != nil
		}
		return recs[i].LastUsedAt.Before(*recs[j].LastUsedAt)
	})
	var s strings.Builder
	for _, r := range recs {
		used := "never"
		if r.LastUsedAt != nil {
			used = r.LastUsedAt.Format("15:04:05.000")
		}
		fmt.Fprintf(&s, "\n  %.12s %9d bytes, used %d times, last %s, in use %v, shared %v, %s %q",
			r.ID, r.Size, r.UsageCount, used, r.InUse, r.Shared, r.RecordType, r.Description)
	}
	return s.String()
}
