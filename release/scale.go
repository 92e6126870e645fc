package release

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
)

// TypeCount is how many containers a process type runs.
type TypeCount struct {
	Type  string
	Count int
}

// processTypes are the types a release runs containers of: web first,
// then its workers (without a Procfile, web alone).
func processTypes(rec *state.Record) []string {
	return append([]string{hook.TypeWeb}, workerTypes(rec.Processes)...)
}

// Scale sets how many containers process types of app run, from TYPE=N
// pairs, all or none, and releases the change at once with the live
// image (a config release, as Reconfigure: no build). A type the live
// release does not have is refused with one line naming those it has.
func (d *Deployer) Scale(ctx context.Context, app string, pairs []string, out io.Writer) error {
	what := "scale " + strings.Join(pairs, " ")
	return d.Reconfigure(ctx, app, what, out, func(a *state.App) error {
		live, err := d.Store().Live(app)
		if err != nil {
			return err
		}
		if live == nil {
			return fmt.Errorf("no release of %s is live: push first, then scale its processes", app)
		}
		types := processTypes(live)
		for _, kv := range pairs {
			typ, n, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("invalid scale %q: use TYPE=N, e.g. worker=2", kv)
			}
			if !slices.Contains(types, typ) {
				return fmt.Errorf("%s has no process type %q: its types are %s", app, typ, strings.Join(types, ", "))
			}
			if typ == hook.TypeWeb && n == "0" {
				return fmt.Errorf("invalid scale web=0: nginx needs at least one web container (destroy the app to stop it)")
			}
			if err := a.Settings.Set("scale." + typ + "=" + n); err != nil {
				return err
			}
		}
		return nil
	})
}

// ScaleOf is how many containers each process type of app's live release
// runs, web first.
func (d *Deployer) ScaleOf(app string) ([]TypeCount, error) {
	live, err := d.liveOf(app)
	if err != nil {
		return nil, err
	}
	var out []TypeCount
	for _, typ := range processTypes(live) {
		out = append(out, TypeCount{Type: typ, Count: live.Settings.Count(typ)})
	}
	return out, nil
}

// FormatScale shows counts as `gitship scale` takes them: web=1 worker=2.
func FormatScale(counts []TypeCount) string {
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = c.Type + "=" + strconv.Itoa(c.Count)
	}
	return strings.Join(parts, " ")
}

// liveOf is app's live release, or an error saying there is none.
func (d *Deployer) liveOf(app string) (*state.Record, error) {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return nil, err
	}
	live, err := d.Store().Live(app)
	if err != nil {
		return nil, err
	}
	if live == nil {
		return nil, fmt.Errorf("%s has no live release: push to deploy it", app)
	}
	return live, nil
}
