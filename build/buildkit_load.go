package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/containers/podman/v4/pkg/bindings/images"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
)

// loader moves the docker archive BuildKit exports into Podman's store
// through images.Load, while BuildKit writes it. It starts only when
// BuildKit opens the export, so a failed build never talks to Podman.
type loader struct {
	ctx context.Context // Podman connection

	mu     sync.Mutex
	opened bool
	pw     *io.PipeWriter // nil if the load was skipped
	done   chan struct{}
	start  time.Time
	res    loaded
	err    error
}

// loaded is what became of the export in Podman.
type loaded struct {
	id    string   // set when Podman already had the image and nothing was sent
	names []string // Podman's load report
	took  time.Duration
}

// open is BuildKit's client.ExportEntry.Output.
func (l *loader) open(md map[string]string) (io.WriteCloser, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opened {
		return nil, errors.New("buildkit opened the export twice")
	}
	l.opened, l.start = true, time.Now()
	if id := l.present(md); id != "" {
		l.res = loaded{id: id, took: time.Since(l.start)}
		// BuildKit reads nil as "target already exists": it sends
		// nothing and counts the export as done.
		return nil, nil
	}
	pr, pw := io.Pipe()
	l.pw, l.done = pw, make(chan struct{})
	go func() {
		defer close(l.done)
		rep, err := images.Load(l.ctx, pr)
		if err == nil && rep == nil {
			err = errors.New("podman returned no load report")
		}
		// Unblocks BuildKit if Podman stopped reading early.
		pr.CloseWithError(fmt.Errorf("podman load ended: %v", err))
		l.mu.Lock()
		defer l.mu.Unlock()
		l.err = err
		l.res.took = time.Since(l.start)
		if rep != nil {
			l.res.names = rep.Names
		}
	}()
	return pw, nil
}

// present returns the ID of the image BuildKit is about to send if Podman
// has it already, as after an unchanged rebuild. Podman's image ID is the
// digest of the image config, which BuildKit passes with the export. If
// Podman cannot say, the image is loaded: the load reports a real problem.
func (l *loader) present(md map[string]string) string {
	id, ok := strings.CutPrefix(md[exptypes.ExporterImageConfigDigestKey], "sha256:")
	if !ok || len(id) != 64 {
		return ""
	}
	if has, err := images.Exists(l.ctx, id, nil); err != nil || !has {
		return ""
	}
	return id
}

// wait ends the stream (with solveErr, if the build failed) and waits for
// Podman. It reports nothing if BuildKit never opened the export.
func (l *loader) wait(solveErr error) (*loaded, error) {
	l.mu.Lock()
	opened, pw, done := l.opened, l.pw, l.done
	l.mu.Unlock()
	if !opened || (pw == nil && solveErr != nil) {
		return nil, nil
	}
	if pw != nil {
		// A load that ended before the build did failed on its own:
		// Podman's error is the cause, BuildKit's broken pipe the symptom.
		loadFirst := false
		if solveErr != nil {
			select {
			case <-done:
				loadFirst = true
			default:
			}
			pw.CloseWithError(solveErr)
		} else {
			pw.Close() // BuildKit has closed it already; then a no-op
		}
		<-done
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.err != nil && (solveErr == nil || loadFirst) {
			return nil, l.err
		}
		if solveErr != nil {
			return nil, nil
		}
	}
	res := l.res
	return &res, nil
}

// tagged makes sure the loaded image carries exactly tag and returns it.
// The docker archive names the image, but Podman normalises names (a short
// one becomes docker.io/library/...), so the load report is checked.
func tagged(pctx context.Context, tag string, res *loaded) (Image, error) {
	src := res.id
	for _, n := range res.names {
		if n == tag {
			src = ""
			break
		}
		if src == "" {
			src = n
		}
	}
	if src == "" && len(res.names) == 0 {
		return Image{}, errors.New("podman loaded no image")
	}
	if src != "" {
		repo, t := splitTag(tag)
		if err := images.Tag(pctx, src, t, repo, nil); err != nil {
			return Image{}, fmt.Errorf("tag %.19s: %w", src, err)
		}
	}
	img, err := images.GetImage(pctx, tag, nil)
	if err != nil {
		return Image{}, fmt.Errorf("inspect loaded image: %w", err)
	}
	return Image{ID: img.ID, Tag: tag}, nil
}

// splitTag splits "host:5000/a/b:tag" into "host:5000/a/b" and "tag".
func splitTag(ref string) (repo, tag string) {
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "latest"
	}
	return ref[:i], ref[i+1:]
}
