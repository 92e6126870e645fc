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

// Auto builds with BuildKit when buildkitd answers, with Podman otherwise
// (config `builder = "auto"`). It decides once, on first use, and says
// why in the build output.
type Auto struct {
	BuildKit *BuildKit
	Podman   *Podman

	once   sync.Once
	chosen builder
	why    string
}

func (a *Auto) choose() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := Available(ctx, a.BuildKit.Address); err != nil {
		a.chosen, a.why = a.Podman, fmt.Sprintf("no buildkitd answers at %s", a.BuildKit.Address)
		return
	}
	a.chosen, a.why = a.BuildKit, fmt.Sprintf("buildkitd answers at %s", a.BuildKit.Address)
}

// Name is the name of the builder chosen.
func (a *Auto) Name() string {
	a.once.Do(a.choose)
	return a.chosen.Name()
}

// Build builds with the chosen builder, after a line saying which and why.
func (a *Auto) Build(ctx context.Context, req Request, out io.Writer) (Image, error) {
	a.once.Do(a.choose)
	fmt.Fprintf(out, "builder auto: %s, building with %s\n", a.why, a.chosen.Name())
	return a.chosen.Build(ctx, req, out)
}
