package build

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containers/podman/v4/pkg/bindings/images"
	"github.com/containers/podman/v4/pkg/domain/entities"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// relay is a registry on loopback that lives for one build: BuildKit
// pushes the image to it and Podman pulls it from there, and both skip
// the layers Podman already has. BuildKit's docker archive (the load
// path) sends every layer, changed or not, and Podman reads them all.
//
// The layers go uncompressed, so a layer's blob digest is its diffID,
// which Podman's store indexes: when BuildKit asks whether the registry
// has a blob that is a layer of one of the app's images in Podman, the
// relay says yes without having it, BuildKit does not send it, and
// Podman's pull reuses its own copy instead of fetching it. If Podman
// does fetch such a blob after all (the image was pruned in between),
// the pull fails and the build falls back to the load path.
type relay struct {
	host string // 127.0.0.1:PORT
	// secret is the first part of every repository name: another local
	// user cannot address (or overwrite) what BuildKit pushes, and the
	// catalog that would list it is not served.
	secret string
	srv    *http.Server
	dir    string                   // blobs BuildKit did send
	known  func(digest string) bool // "sha256:..." is a layer Podman has
	sent   atomic.Int32             // blobs BuildKit sent (configs included)
	mu     sync.Mutex
	skips  int // layers BuildKit did not send
}

// startRelay serves a registry on a free loopback port, keeping the blobs
// it is sent in dir (which must exist and which the caller removes).
func startRelay(dir string, known func(digest string) bool) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("relay registry: %w", err)
	}
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		ln.Close()
		return nil, fmt.Errorf("relay registry: %w", err)
	}
	r := &relay{host: ln.Addr().String(), secret: hex.EncodeToString(secret), dir: dir, known: known}
	reg := registry.New(
		registry.WithBlobHandler(&countingBlobs{BlobHandler: registry.NewDiskBlobHandler(dir), sent: &r.sent}),
		registry.Logger(log.New(io.Discard, "", 0)),
	)
	r.srv = &http.Server{Handler: r.handler(reg), ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// handler answers "do you have this blob?" for known layers and leaves
// everything else to the registry.
func (r *relay) handler(reg http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/v2/_catalog") {
			http.NotFound(w, req)
			return
		}
		if req.Method == http.MethodHead {
			if d, ok := blobDigest(req.URL.Path); ok && r.known(d) {
				if _, err := os.Stat(r.dir + "/" + d); err != nil {
					r.mu.Lock()
					r.skips++
					r.mu.Unlock()
					w.Header().Set("Docker-Content-Digest", d)
					w.Header().Set("Content-Length", "0")
					w.WriteHeader(http.StatusOK)
					return
				}
			}
		}
		reg.ServeHTTP(w, req)
	})
}

// blobDigest is the digest in /v2/NAME/blobs/DIGEST.
func blobDigest(path string) (string, bool) {
	i := strings.LastIndex(path, "/blobs/")
	if !strings.HasPrefix(path, "/v2/") || i < 0 {
		return "", false
	}
	d := path[i+len("/blobs/"):]
	return d, strings.HasPrefix(d, "sha256:") && !strings.Contains(d, "/")
}

// ref is where BuildKit pushes tag ("localhost/gitship/app:abc").
func (r *relay) ref(tag string) string {
	return r.host + "/" + r.secret + "/" + strings.TrimPrefix(tag, "localhost/")
}

// stats says how many layers did not travel and how many blobs did.
func (r *relay) stats() (skipped, sent int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.skips, int(r.sent.Load())
}

// close shuts the relay down, within a second even when ctx has ended:
// a build cut short still stops its server.
func (r *relay) close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	r.srv.Shutdown(ctx)
}

// countingBlobs counts the blobs put into the registry.
type countingBlobs struct {
	registry.BlobHandler
	sent *atomic.Int32
}

func (c *countingBlobs) Stat(ctx context.Context, repo string, h v1.Hash) (int64, error) {
	return c.BlobHandler.(registry.BlobStatHandler).Stat(ctx, repo, h)
}

func (c *countingBlobs) Put(ctx context.Context, repo string, h v1.Hash, rc io.ReadCloser) error {
	c.sent.Add(1)
	return c.BlobHandler.(registry.BlobPutHandler).Put(ctx, repo, h, rc)
}

// knownImages is how many of an app's newest images knownLayers reads:
// each is an API call, and the next build shares its layers with the
// last ones, not with what a rollback target from long ago holds.
const knownImages = 3

// knownLayers says which digests are diffIDs of the newest images of repo
// (no tag) in Podman. Anything it cannot read leaves the set smaller:
// more is sent, that is all.
func knownLayers(pctx context.Context, repo string) func(digest string) bool {
	known := map[string]bool{}
	has := func(d string) bool { return known[d] }
	sums, err := images.List(pctx, new(images.ListOptions).WithFilters(map[string][]string{"reference": {repo}}))
	if err != nil {
		return has
	}
	slices.SortFunc(sums, func(a, b *entities.ImageSummary) int { return cmp.Compare(b.Created, a.Created) })
	for _, s := range sums[:min(len(sums), knownImages)] {
		img, err := images.GetImage(pctx, s.ID, nil)
		if err != nil || img.RootFS == nil {
			continue
		}
		for _, l := range img.RootFS.Layers {
			known[l.String()] = true
		}
	}
	return has
}

// pullFromRelay brings ref into Podman, checks that it is the image
// BuildKit built (Podman's image ID is the digest of the image config),
// names it tag and drops the relay's name.
func pullFromRelay(pctx context.Context, ref, tag, configDigest string) (Image, error) {
	ids, err := images.Pull(pctx, ref, new(images.PullOptions).WithSkipTLSVerify(true).WithQuiet(true))
	if err != nil {
		return Image{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	if len(ids) != 1 {
		return Image{}, fmt.Errorf("pull %s: %d images", ref, len(ids))
	}
	id := ids[0]
	rrepo, rtag := splitTag(ref)
	untagErr := images.Untag(pctx, id, rtag, rrepo, nil)
	if want := strings.TrimPrefix(configDigest, "sha256:"); id != want {
		return Image{}, fmt.Errorf("pull %s: got image %.12s, BuildKit built %.12s", ref, id, want)
	}
	if untagErr != nil {
		return Image{}, fmt.Errorf("untag %s: %w", ref, untagErr)
	}
	repo, t := splitTag(tag)
	if err := images.Tag(pctx, id, t, repo, nil); err != nil {
		return Image{}, fmt.Errorf("tag %.12s: %w", id, err)
	}
	return Image{ID: id, Tag: tag}, nil
}
