package build

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// builder is what Auto chooses between.
type builder interface {
	Name() string
	Build(ctx context.Context, req Request, out io.Writer) (Image, error)
}

// pickTimeout bounds Pick's probe of buildkitd.
const pickTimeout = 3 * time.Second

// Auto builds with BuildKit when buildkitd answers, with Podman otherwise
// (config `builder = "auto"`). The choice probes the network, so it is a
// step of its own: Pick makes it, and Name and Build use it.
type Auto struct {
	BuildKit *BuildKit
	Podman   *Podman

	mu     sync.Mutex
	chosen builder
	why    string
}

// Pick probes buildkitd (for up to pickTimeout) and chooses the builder of
// the next builds; it returns the name of the one chosen.
func (a *Auto) Pick(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, pickTimeout)
	defer cancel()
	chosen, why := builder(a.BuildKit), fmt.Sprintf("buildkitd answers at %s", a.BuildKit.Address)
	if err := Available(ctx, a.BuildKit.Address); err != nil {
		chosen, why = a.Podman, fmt.Sprintf("no buildkitd answers at %s", a.BuildKit.Address)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.chosen, a.why = chosen, why
	return chosen.Name()
}

// Name is the name of the builder Pick chose, "auto" before it did.
func (a *Auto) Name() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.chosen == nil {
		return "auto"
	}
	return a.chosen.Name()
}

// Build builds with the chosen builder, after a line saying which and why.
// Without a Pick before, it picks first.
func (a *Auto) Build(ctx context.Context, req Request, out io.Writer) (Image, error) {
	a.mu.Lock()
	chosen, why := a.chosen, a.why
	a.mu.Unlock()
	if chosen == nil {
		a.Pick(ctx)
		a.mu.Lock()
		chosen, why = a.chosen, a.why
		a.mu.Unlock()
	}
	fmt.Fprintf(out, "builder auto: %s, building with %s\n", why, chosen.Name())
	return chosen.Build(ctx, req, out)
}
