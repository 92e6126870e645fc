// Package build turns a build context into an image in Podman's store.
// Podman builds through the Podman API bindings (never the podman CLI).
package build

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/containers/podman/v4/pkg/bindings"
	"github.com/gitship/gitship/internal/podmanapi"
)

// Request is one build: a directory holding the exported commit.
type Request struct {
	ContextDir string            // exported tree
	Dockerfile string            // path relative to ContextDir
	Tag        string            // e.g. localhost/gitship/app:0123456789ab
	Labels     map[string]string // put on the image
	Args       map[string]string // build args
}

// Image is a built image.
type Image struct {
	ID  string
	Tag string
}

// Podman builds through the Podman API service.
type Podman struct {
	// Socket is the service URI, e.g. unix:///run/podman/podman.sock.
	Socket string
}

// Name says which builder this is, for the push output.
func (p *Podman) Name() string { return "podman" }

// Build builds req and streams the build output to out as it happens.
func (p *Podman) Build(ctx context.Context, req Request, out io.Writer) (Image, error) {
	cctx, err := bindings.NewConnection(ctx, p.Socket)
	if err != nil {
		if short := podmanapi.Error(p.Socket, err); short != err {
			return Image{}, short
		}
		return Image{}, fmt.Errorf("connect to podman at %s: %w (is the podman API service running?)", p.Socket, err)
	}
	// What images.Build would send, with the context as a plain tar
	// (podman_request.go). Without an output format the 4.3 service never
	// hits its layer cache: buildParams always names one.
	id, err := postBuild(cctx, req, out)
	if err != nil {
		if storeChanged(err.Error()) {
			return Image{}, fmt.Errorf("build %s: %w: %s", req.Tag, ErrStoreChanged, CleanError(err.Error()))
		}
		return Image{}, fmt.Errorf("build %s: %s", req.Tag, CleanError(podmanapi.Error(p.Socket, err).Error()))
	}
	if id == "" {
		return Image{}, fmt.Errorf("build %s: podman returned no image id", req.Tag)
	}
	return Image{ID: id, Tag: req.Tag}, nil
}

func labelList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// structStart finds a Go value printed with %#v (`&imagebuilder.Step{`,
// `copier.request{`) and the words that lead to it.
var structStart = regexp.MustCompile(`(\s+for)?:?\s*&?[a-z][a-z0-9]*\.[A-Za-z_][A-Za-z0-9_]*\{`)

// CleanError trims what the Podman service puts into a build error (Go
// struct dumps such as `&imagebuilder.Step{...}` or `for
// copier.request{...}`, kilobytes long) and keeps the first line, with
// the words before and after each dump.
func CleanError(msg string) string {
	msg = strings.TrimSpace(msg)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	for {
		loc := structStart.FindStringIndex(msg)
		if loc == nil {
			break
		}
		end := closingBrace(msg, loc[1]-1)
		if end < 0 {
			msg = msg[:loc[0]]
			break
		}
		msg = msg[:loc[0]] + msg[end+1:]
	}
	return strings.TrimSpace(msg)
}

// closingBrace returns the index of the brace that closes the one at
// open, skipping quoted strings, or -1.
func closingBrace(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}
