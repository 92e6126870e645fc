package build

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/containers/buildah/define"
	"github.com/containers/podman/v4/pkg/bindings"
	"github.com/containers/podman/v4/pkg/util"
	"github.com/containers/storage/pkg/fileutils"
	"github.com/docker/docker/pkg/jsonmessage"
)

// The build request, sent by gitship itself rather than by the bindings'
// images.Build: that one gzips the context at the default level, which
// cost a push of a 6 MB binary 0.15 s of gitship's CPU (half of all it
// used), and the service then spends as long unpacking it, on the same
// two cores the build needs. The service takes a plain tar as well (it
// sniffs the compression). Everything else is what images.Build sends for
// Podman.Build's options: the same query (podman_request_test.go
// compares the two against one fake service), the same tar entries in the
// same order, the same .dockerignore/.containerignore handling, the same
// reading of the answer.

// buildParams is the query images.Build sends for Podman.Build's options.
// containerfile is relative to the context, slash-separated.
func buildParams(req Request, containerfile string) (url.Values, error) {
	params := url.Values{}
	params.Set("t", req.Tag)
	if len(req.Args) > 0 {
		b, err := json.Marshal(req.Args)
		if err != nil {
			return nil, err
		}
		params.Set("buildargs", string(b))
	}
	params.Set("networkmode", "0")
	params.Set("outputformat", define.OCIv1ImageManifest)
	params.Set("forcerm", "1")
	params.Set("rm", "1")
	params.Set("omithistory", "0")
	params.Set("isolation", "0")
	if labels := labelList(req.Labels); len(labels) > 0 {
		b, err := json.Marshal(labels)
		if err != nil {
			return nil, err
		}
		params.Set("labels", string(b))
	}
	params.Set("layers", "1")
	params.Set("output", req.Tag)
	params.Set("pullpolicy", define.PullIfMissing.String())
	b, err := json.Marshal([]string{containerfile})
	if err != nil {
		return nil, err
	}
	params.Set("dockerfile", string(b))
	return params, nil
}

// containerfileIn resolves the Dockerfile at path (absolute) the way
// images.Build does, to a slash path relative to contextDir (absolute,
// symlinks resolved). A Dockerfile that resolves outside the context is
// an error here (images.Build would add it to the tar under its absolute
// path; gitship's are always inside).
func containerfileIn(contextDir, path string) (string, error) {
	c := filepath.Clean(path)
	cfDir := filepath.Dir(c)
	if absDir, err := filepath.EvalSymlinks(cfDir); err == nil {
		c = filepath.Join(absDir, filepath.Base(c))
	}
	abs, err := filepath.Abs(c)
	if err != nil {
		return "", err
	}
	rel, ok := strings.CutPrefix(abs, contextDir+string(filepath.Separator))
	if !ok {
		return "", fmt.Errorf("dockerfile %s is not inside the build context %s", path, contextDir)
	}
	return filepath.ToSlash(rel), nil
}

// contextExcludes are the patterns of the context's ignore file (as
// images.Build reads it) plus the files that are never excluded.
func contextExcludes(contextDir, containerfile string) ([]string, error) {
	excludes, _, err := util.ParseDockerignore([]string{containerfile}, contextDir)
	if err != nil {
		return nil, err
	}
	return append(excludes, "!Dockerfile", "!Containerfile", "!.dockerignore", "!.containerignore",
		"!"+containerfile, "!"+containerfile+".dockerignore", "!"+containerfile+".containerignore"), nil
}

// writeContextTar writes the tar images.Build would send for the context
// dir (before its gzip): every file, directory and symlink the excludes
// leave, in WalkDir order, owned by 0:0; a second name of an inode
// already written is a hard link to the first.
func writeContextTar(w io.Writer, dir string, excludes []string) error {
	pm, err := fileutils.NewPatternMatcher(excludes)
	if err != nil {
		return fmt.Errorf("processing excludes list %v: %w", excludes, err)
	}
	type devino struct{ dev, ino uint64 }
	seen := map[devino]string{}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil // as images.Build for a non-empty context
		}
		name := filepath.ToSlash(strings.TrimPrefix(path, dir+string(filepath.Separator)))
		excluded, err := pm.Matches(name) //nolint:staticcheck // as images.Build
		if err != nil {
			return fmt.Errorf("checking if %q is excluded: %w", name, err)
		}
		if excluded {
			return nil // not SkipDir: an exception may include what is below
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type().IsRegular():
			hdr, err := tar.FileInfoHeader(info, "")
			if err != nil {
				return err
			}
			hdr.Name, hdr.Uid, hdr.Gid = name, 0, 0
			st := info.Sys().(*syscall.Stat_t)
			di, linked := devino{uint64(st.Dev), st.Ino}, st.Nlink > 1 //nolint:unconvert
			if orig, ok := seen[di]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, orig, 0
				return tw.WriteHeader(hdr)
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
			if linked {
				seen[di] = name
			}
		case d.IsDir():
			hdr, err := tar.FileInfoHeader(info, name)
			if err != nil {
				return err
			}
			hdr.Name, hdr.Uid, hdr.Gid = name, 0, 0
			return tw.WriteHeader(hdr)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			hdr, err := tar.FileInfoHeader(info, link)
			if err != nil {
				return err
			}
			hdr.Name, hdr.Uid, hdr.Gid = name, 0, 0
			return tw.WriteHeader(hdr)
		}
		return nil // sockets, fifos, devices: not in a context
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// buildID is how the service's stream names the image built.
var buildID = regexp.MustCompile(`^[0-9a-f]{12}`)

// buildResponse is one message of the build stream (images.BuildResponse).
type buildResponse struct {
	Stream string                 `json:"stream,omitempty"`
	Error  *jsonmessage.JSONError `json:"errorDetail,omitempty"`
}

// postBuild sends the build of req over the connection in cctx, with
// the context as a plain tar, copies the stream to out and returns the
// image ID. Its errors read as images.Build's.
func postBuild(cctx context.Context, req Request, out io.Writer) (string, error) {
	contextDir := req.ContextDir
	if d, err := filepath.EvalSymlinks(contextDir); err == nil {
		contextDir = d
	}
	contextDir, err := filepath.Abs(contextDir)
	if err != nil {
		return "", err
	}
	containerfile, err := containerfileIn(contextDir, filepath.Join(req.ContextDir, req.Dockerfile))
	if err != nil {
		return "", err
	}
	params, err := buildParams(req, containerfile)
	if err != nil {
		return "", err
	}
	excludes, err := contextExcludes(contextDir, containerfile)
	if err != nil {
		return "", err
	}
	conn, err := bindings.GetClient(cctx)
	if err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeContextTar(pw, contextDir, excludes)) }()
	defer pr.Close() // ends the writer if the request stopped reading
	resp, err := conn.DoRequest(cctx, pr, http.MethodPost, "/build", params, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if !resp.IsSuccess() {
		return "", resp.Process(err)
	}
	dec := json.NewDecoder(resp.Body)
	var id string
	for {
		var s buildResponse
		if err := dec.Decode(&s); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return "", fmt.Errorf("server probably quit: %w", err)
			}
			if errors.Is(err, io.EOF) && id != "" {
				return id, nil
			}
			return id, fmt.Errorf("decoding stream: %w", err)
		}
		switch {
		case s.Stream != "":
			out.Write([]byte(s.Stream))
			if buildID.MatchString(s.Stream) {
				id = strings.TrimSuffix(s.Stream, "\n")
			}
		case s.Error != nil:
			return id, errors.New(s.Error.Message)
		default:
			return id, errors.New("unexpected message in the build stream")
		}
	}
}
