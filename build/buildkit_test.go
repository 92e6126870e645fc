package build

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestFrontendAttrs(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want map[string]string
	}{
		{"defaults leave filename to the frontend", Request{}, map[string]string{}},
		{"everything", Request{
			Dockerfile: "deploy/Dockerfile",
			Labels:     map[string]string{"gitship.app": "web", "gitship.sha": "0123456789ab"},
			Args:       map[string]string{"GO_VERSION": "1.26"},
		}, map[string]string{
			"filename":             "deploy/Dockerfile",
			"label:gitship.app":    "web",
			"label:gitship.sha":    "0123456789ab",
			"build-arg:GO_VERSION": "1.26",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := frontendAttrs(tt.req); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("frontendAttrs = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSolveOptMounts(t *testing.T) {
	opt, err := solveOpt(Request{ContextDir: t.TempDir(), Dockerfile: "Dockerfile"})
	if err != nil {
		t.Fatal(err)
	}
	if opt.Frontend != "dockerfile.v0" || opt.LocalMounts["context"] == nil || opt.LocalMounts["dockerfile"] == nil {
		t.Errorf("solveOpt = frontend %q, mounts %v", opt.Frontend, opt.LocalMounts)
	}
	if _, err := solveOpt(Request{ContextDir: filepath.Join(t.TempDir(), "gone")}); err == nil {
		t.Error("solveOpt on a missing context: no error")
	}
}

func TestCleanBuildKitError(t *testing.T) {
	tests := []struct{ in, want string }{
		{`failed to solve: failed to compute cache key: failed to calculate checksum of ref abc::def: "/missing-file": not found`,
			`failed to solve: failed to compute cache key: failed to calculate checksum of ref abc::def: "/missing-file": not found`},
		{"failed to solve: process \"/bin/busybox sh -c exit 3\" did not complete successfully: exit code: 3\ngithub.com/moby/buildkit/solver.(*edge).exec\n\t/src/edge.go:1",
			`failed to solve: process "/bin/busybox sh -c exit 3" did not complete successfully: exit code: 3`},
		{`rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /x.sock: connect: no such file or directory"`,
			`connection error: desc = "transport: Error while dialing: dial unix /x.sock: connect: no such file or directory"`},
	}
	for _, tt := range tests {
		if got := cleanBuildKitError(errors.New(tt.in)); got != tt.want {
			t.Errorf("cleanBuildKitError(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitTag(t *testing.T) {
	tests := []struct{ in, repo, tag string }{
		{"localhost/gitship/app:0123456789ab", "localhost/gitship/app", "0123456789ab"},
		{"localhost:5000/gitship/app:v1", "localhost:5000/gitship/app", "v1"},
		{"localhost:5000/gitship/app", "localhost:5000/gitship/app", "latest"},
		{"app", "app", "latest"},
	}
	for _, tt := range tests {
		if repo, tag := splitTag(tt.in); repo != tt.repo || tag != tt.tag {
			t.Errorf("splitTag(%q) = %q, %q; want %q, %q", tt.in, repo, tag, tt.repo, tt.tag)
		}
	}
}

// A dead address must fail fast, on one line, and say how to start buildkitd.
func TestAvailableDeadAddress(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := Available(ctx, addr)
	if err == nil {
		t.Fatal("Available on a dead socket: no error")
	}
	msg := err.Error()
	for _, want := range []string{"buildkitd is not answering at " + addr + ": ", "start it (systemctl start buildkit, or buildkitd --addr " + addr + ")"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "rpc error") {
		t.Errorf("error is not one clean line: %q", msg)
	}
	if d := time.Since(start); d > answerTimeout {
		t.Errorf("Available took %s on a dead socket", d)
	}
	b := &BuildKit{Address: addr, Podman: "unix:///nonexistent/podman.sock"}
	if _, err := b.Build(ctx, Request{ContextDir: t.TempDir(), Tag: "localhost/gitship/x:1"}, &strings.Builder{}); err == nil || !strings.HasPrefix(err.Error(), "buildkitd is not answering at ") {
		t.Errorf("Build with buildkitd down: %v", err)
	}
}

// A build that never reached its export has nothing to load, and a failed
// build leaves Podman alone.
func TestLoaderNeverOpened(t *testing.T) {
	for _, solveErr := range []error{nil, errors.New("failed to solve: x")} {
		res, err := (&loader{}).wait(solveErr)
		if res != nil || err != nil {
			t.Errorf("wait(%v) on an unopened export = %v, %v", solveErr, res, err)
		}
	}
	if id := (&loader{}).present(map[string]string{"containerimage.config.digest": "sha256:short"}); id != "" {
		t.Errorf("present with a malformed digest = %q", id)
	}
}
