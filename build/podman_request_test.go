package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/containers/buildah/define"
	"github.com/containers/podman/v4/pkg/bindings"
	"github.com/containers/podman/v4/pkg/bindings/images"
	"github.com/containers/podman/v4/pkg/domain/entities"
)

// fakeBuildService is a Podman API service on a unix socket that records
// each build request (its query and body) and answers with a build
// stream that names image id.
type fakeBuildService struct {
	sock string
	mu   sync.Mutex
	reqs []recordedBuild
}

type recordedBuild struct {
	query url.Values
	body  []byte
}

func newFakeBuildService(t *testing.T, id string) *fakeBuildService {
	t.Helper()
	f := &fakeBuildService{sock: filepath.Join(t.TempDir(), "podman.sock")}
	ln, err := net.Listen("unix", f.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("Libpod-Api-Version", "4.3.1")
			w.Write([]byte("OK"))
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/build") || r.Method != http.MethodPost {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, recordedBuild{query: r.URL.Query(), body: body})
		f.mu.Unlock()
		enc := json.NewEncoder(w)
		enc.Encode(map[string]string{"stream": "STEP 1/1: FROM scratch\n"})
		enc.Encode(map[string]string{"stream": id + "\n"})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return f
}

// bindingsBuild is how Podman.Build called the bindings before it sent the
// request itself: the reference its request must match.
func bindingsBuild(ctx context.Context, socket string, req Request, out io.Writer) (string, error) {
	cctx, err := bindings.NewConnection(ctx, socket)
	if err != nil {
		return "", err
	}
	opts := entities.BuildOptions{BuildOptions: define.BuildOptions{
		ContextDirectory:        req.ContextDir,
		Output:                  req.Tag,
		Labels:                  labelList(req.Labels),
		Args:                    req.Args,
		Out:                     out,
		Err:                     out,
		ReportWriter:            out,
		OutputFormat:            define.OCIv1ImageManifest,
		Layers:                  true,
		RemoveIntermediateCtrs:  true,
		ForceRmIntermediateCtrs: true,
		CommonBuildOpts:         &define.CommonBuildOptions{},
	}}
	rep, err := images.Build(cctx, []string{filepath.Join(req.ContextDir, req.Dockerfile)}, opts)
	if err != nil {
		return "", err
	}
	return rep.ID, nil
}

// tarEntry is what a build context tar says about one entry.
type tarEntry struct {
	Hdr     tar.Header
	Content string
}

func readContextTar(t *testing.T, body []byte) (entries []tarEntry, gzipped bool) {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r, gzipped = zr, true
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return entries, gzipped
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, tarEntry{Hdr: *h, Content: string(b)})
	}
}

// jsonParams decodes the query parameters whose values are JSON (a map's
// key order is the encoder's choice).
func jsonParams(t *testing.T, q url.Values) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, vs := range q {
		for _, v := range vs {
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil || (!strings.HasPrefix(v, "[") && !strings.HasPrefix(v, "{")) {
				x = v
			}
			out[k] = append(asSlice(out[k]), x)
		}
	}
	return out
}

func asSlice(x any) []any {
	if x == nil {
		return nil
	}
	return x.([]any)
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// Podman.Build sends what the bindings' images.Build sent for the same
// request (the same query, the same tar entries in the same order: files,
// directories, symlinks, hard links, .dockerignore with an exception, a
// Dockerfile in a subdirectory) except that the tar is not gzipped: the
// gzip cost half of gitship's CPU in a push of a 6 MB binary.
func TestPodmanBuildSendsWhatTheBindingsSentUncompressed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dockerfile string
		files      map[string]string
		args       map[string]string
	}{
		{name: "root dockerfile", dockerfile: "Dockerfile", files: map[string]string{
			"Dockerfile":       "FROM scratch\nCOPY . /\n",
			"web":              strings.Repeat("binary\x00", 50000),
			"run.sh":           "#!/bin/sh\n",
			"sub/dir/file.txt": "deep\n",
			"secret.env":       "KEY=1\n",
			"logs/a.log":       "a\n",
			"logs/keep.log":    "keep\n",
			".dockerignore":    "secret.env\nlogs/*.log\n!logs/keep.log\n# a comment\n",
		}, args: map[string]string{"B": "2", "A": "1", "C": "x y"}},
		{name: "dockerfile in a subdirectory with its own ignore file", dockerfile: "docker/Dockerfile.web", files: map[string]string{
			"docker/Dockerfile.web":              "FROM scratch\n",
			"docker/Dockerfile.web.dockerignore": "big\n",
			"big":                                "ignored",
			"small":                              "kept",
		}},
		{name: "no args, no ignore file", dockerfile: "Containerfile", files: map[string]string{
			"Containerfile": "FROM scratch\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tc.files)
			if _, ok := tc.files["web"]; ok {
				if err := os.Symlink("web", filepath.Join(dir, "link")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("/etc/passwd", filepath.Join(dir, "sub", "abs")); err != nil {
					t.Fatal(err)
				}
				if err := os.Link(filepath.Join(dir, "web"), filepath.Join(dir, "sub", "web2")); err != nil {
					t.Fatal(err)
				}
			}
			const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			svc := newFakeBuildService(t, id)
			socket := "unix://" + svc.sock
			req := Request{ContextDir: dir, Dockerfile: tc.dockerfile, Tag: "localhost/gitship/demo:0123456789ab",
				Labels: map[string]string{"gitship.app": "demo", "gitship.root": "/var/lib/gitship"}, Args: tc.args}
			var outOld, outNew strings.Builder
			oldID, err := bindingsBuild(context.Background(), socket, req, &outOld)
			if err != nil {
				t.Fatalf("bindings: %v", err)
			}
			img, err := (&Podman{Socket: socket}).Build(context.Background(), req, &outNew)
			if err != nil {
				t.Fatalf("Podman.Build: %v", err)
			}
			if img.ID != oldID || img.ID != id || img.Tag != req.Tag {
				t.Errorf("image %+v, bindings said %s", img, oldID)
			}
			if outNew.String() != outOld.String() {
				t.Errorf("output %q, bindings wrote %q", outNew.String(), outOld.String())
			}
			if len(svc.reqs) != 2 {
				t.Fatalf("%d build requests, want 2", len(svc.reqs))
			}
			old, got := svc.reqs[0], svc.reqs[1]
			if w, g := jsonParams(t, old.query), jsonParams(t, got.query); !reflect.DeepEqual(w, g) {
				t.Errorf("query\n got  %v\n want %v", g, w)
			}
			oldEntries, oldGz := readContextTar(t, old.body)
			gotEntries, gotGz := readContextTar(t, got.body)
			if !oldGz {
				t.Errorf("the bindings' tar was not gzipped: the reference changed")
			}
			if gotGz {
				t.Errorf("the context tar is gzipped")
			}
			if !reflect.DeepEqual(gotEntries, oldEntries) {
				t.Errorf("tar entries differ:\n got  %s\n want %s", entryList(gotEntries), entryList(oldEntries))
			}
		})
	}
}

func entryList(es []tarEntry) string {
	var b strings.Builder
	w := bufio.NewWriter(&b)
	for _, e := range es {
		w.WriteString(e.Hdr.Name + "(" + string(e.Hdr.Typeflag) + " " + e.Hdr.Linkname + ") ")
	}
	w.Flush()
	return b.String()
}
