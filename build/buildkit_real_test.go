package build

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containers/podman/v4/pkg/bindings"
	"github.com/containers/podman/v4/pkg/bindings/images"
	"github.com/gitship/gitship/config"

	"github.com/gitship/gitship/internal/testenv"
)

// TestBuildKitReal builds through a buildkitd and a Podman service of its
// own, both under t.TempDir(); the image store is the host's, so every
// image is named after the test run and removed by tag at the end.
func TestBuildKitReal(t *testing.T) {
	// RUN steps need a static shell: Debian's busybox-static.
	testenv.Need(t, "scripts/lib.sh: install_buildkitd, install_packages", "buildkitd", "podman", "runc", "/bin/busybox")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	// the subtests up to the relay's test the load path
	b := &BuildKit{Address: startBuildkitd(t, dir), Podman: startPodmanService(t, dir), noRelay: true}
	pctx, err := bindings.NewConnection(ctx, b.Podman)
	if err != nil {
		t.Fatal(err)
	}
	name := randomName(t)
	repo := "localhost/gitship-bktest/" + name
	var tags []string
	t.Cleanup(func() { removeImages(t, b.Podman, tags) })
	build := func(t *testing.T, req Request) (Image, string, time.Duration, error) {
		t.Helper()
		tags = append(tags, req.Tag)
		var out strings.Builder
		start := time.Now()
		img, err := b.Build(ctx, req, &out)
		took := time.Since(start)
		t.Logf("build %s took %s; output:\n%s", req.Tag, took.Round(time.Millisecond), out.String())
		return img, out.String(), took, err
	}

	app := filepath.Join(dir, "app")
	writeFiles(t, app, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\nCOPY last.txt /last.txt\n",
		"hello.txt":  "hello\n",
		"last.txt":   name + "\n", // an image Podman cannot have yet
	})
	req := Request{ContextDir: app, Dockerfile: "Dockerfile", Tag: repo + ":v1",
		Labels: map[string]string{"gitship.test": "buildkit"}}

	var first Image
	t.Run("first build lands in podman with its label", func(t *testing.T) {
		img, out, _, err := build(t, req)
		first = img
		if err != nil {
			t.Fatal(err)
		}
		got, err := images.GetImage(pctx, req.Tag, nil)
		if err != nil {
			t.Fatalf("image %s not in podman's store: %v", req.Tag, err)
		}
		if got.ID != img.ID || img.Tag != req.Tag {
			t.Errorf("Build returned %+v; podman has %s under %s", img, got.ID, req.Tag)
		}
		if l := got.Config.Labels["gitship.test"]; l != "buildkit" {
			t.Errorf("label gitship.test = %q, want buildkit (labels %v)", l, got.Config.Labels)
		}
		if !regexp.MustCompile(`(?m)^Loaded into podman in [0-9.]+s$`).MatchString(out) {
			t.Error("output lacks the load time of a real load")
		}
	})

	t.Run("unchanged rebuild is all cached", func(t *testing.T) {
		req := req
		req.Tag = repo + ":v2"
		img, out, took, err := build(t, req)
		if err != nil {
			t.Fatal(err)
		}
		// Same config, same image: Podman has it, so nothing is sent.
		if img.ID != first.ID || !strings.Contains(out, "(podman already had image "+first.ID[:12]+": tagged only)") {
			t.Errorf("rebuild gave %s, first build %s; want the same image, tagged only", img.ID, first.ID)
		}
		if got, err := images.GetImage(pctx, req.Tag, nil); err != nil || got.ID != first.ID || got.Config.Labels["gitship.test"] != "buildkit" {
			t.Errorf("podman's %s: %v (err %v)", req.Tag, got, err)
		}
		steps := stepStates(out)
		if len(steps) != 2 {
			t.Fatalf("found steps %v in the output, want the 2 COPY steps", steps)
		}
		for step, cached := range steps {
			if !cached {
				t.Errorf("step %q rebuilt", step)
			}
		}
		t.Logf("cached rebuild, load included: %s", took.Round(time.Millisecond))
	})

	t.Run("a change to the last layer rebuilds only it", func(t *testing.T) {
		writeFiles(t, app, map[string]string{"last.txt": name + " two\n"})
		req := req
		req.Tag = repo + ":v3"
		if img, out, _, err := build(t, req); err != nil {
			t.Fatal(err)
		} else if img.ID == first.ID || strings.Contains(out, "already had") {
			t.Errorf("a changed layer gave the old image %s", img.ID)
		} else if steps := stepStates(out); !steps["[1/2] COPY hello.txt /hello.txt"] || steps["[2/2] COPY last.txt /last.txt"] {
			t.Errorf("want only COPY last.txt rebuilt; cached: %v", steps)
		}
	})

	t.Run("dockerfile error reaches the pusher in buildkit's words", func(t *testing.T) {
		bad := filepath.Join(dir, "bad")
		writeFiles(t, bad, map[string]string{"Dockerfile": "FROM scratch\nCOPY missing-file /x\n"})
		_, out, _, err := build(t, Request{ContextDir: bad, Dockerfile: "Dockerfile", Tag: repo + ":bad"})
		if err == nil {
			t.Fatal("COPY missing-file built")
		}
		msg := err.Error()
		t.Logf("error: %s", msg)
		if !strings.HasPrefix(msg, "build "+repo+":bad: failed to solve: ") || !strings.Contains(msg, `"/missing-file": not found`) || strings.Contains(msg, "\n") {
			t.Errorf("error = %q, want one line: build TAG: failed to solve: ... \"/missing-file\": not found", msg)
		}
		if !strings.Contains(out, "ERROR") || strings.Contains(out, "Loaded into podman") {
			t.Errorf("progress output should show the failed step and no load")
		}
		if ok, _ := images.Exists(pctx, repo+":bad", nil); ok {
			t.Error("a failed build left an image behind")
		}
	})

	// FROM scratch plus a static busybox is the only base there is (no
	// registry), and it is enough for RUN steps.
	multi := filepath.Join(dir, "multi")
	writeFiles(t, multi, map[string]string{
		"deploy/Dockerfile": `FROM scratch AS base
COPY busybox /bin/busybox
FROM base AS check
ARG STAMP
COPY . /ctx/
RUN ["/bin/busybox", "sh", "-c", "test -e /ctx/hello.txt && test ! -e /ctx/secret.txt && test ! -e /ctx/logs"]
RUN --mount=type=cache,target=/cache ["/bin/busybox", "sh", "-c", "echo previous=$(/bin/busybox cat /cache/stamp 2>/dev/null); echo $STAMP > /cache/stamp"]
FROM scratch
COPY --from=check /ctx/hello.txt /hello.txt
`,
		".dockerignore":  "secret.txt\nlogs\n",
		"hello.txt":      "hello\n",
		"secret.txt":     "do not ship\n",
		"logs/debug.log": "noise\n",
	})
	copyFile(t, "/bin/busybox", filepath.Join(multi, "busybox"))
	mreq := Request{ContextDir: multi, Dockerfile: "deploy/Dockerfile", Tag: repo + ":m1", Args: map[string]string{"STAMP": "one"}}

	t.Run("dockerignore, multi-stage, cache mount and build args", func(t *testing.T) {
		if _, _, _, err := build(t, mreq); err != nil {
			t.Fatal(err) // a shipped secret.txt fails the first RUN
		}
		// BuildKit v0.16 now and then hands a build a fresh cache mount
		// when the previous build's is still being released (seen once
		// under load, in a full parallel test run). A miss only costs
		// time, so one of two later builds must find the previous stamp.
		var outs []string
		for _, stamp := range []string{"two", "three"} {
			mreq.Tag, mreq.Args = repo+":m-"+stamp, map[string]string{"STAMP": stamp}
			_, out, _, err := build(t, mreq)
			if err != nil {
				t.Fatal(err)
			}
			outs = append(outs, out)
			if strings.Contains(out, "previous=one") || strings.Contains(out, "previous=two") {
				return
			}
		}
		t.Errorf("the cache mount never kept what a previous build wrote:\n%s", strings.Join(outs, "\n"))
	})

	t.Run("dockerignore check can fail", func(t *testing.T) {
		writeFiles(t, multi, map[string]string{".dockerignore": "logs\n"})
		mreq.Tag = repo + ":m3"
		_, out, _, err := build(t, mreq)
		if err == nil || !strings.Contains(err.Error(), "did not complete successfully: exit code: 1") {
			t.Errorf("with secret.txt not ignored: err = %v, want the check's exit code", err)
		}
		if !strings.Contains(out, "ERROR") {
			t.Error("the failing RUN is not in the progress output")
		}
	})

	t.Run("failing command's output reaches the pusher", func(t *testing.T) {
		failing := filepath.Join(dir, "failing")
		writeFiles(t, failing, map[string]string{"Dockerfile": `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "echo boom-from-the-app; exit 3"]
`})
		copyFile(t, "/bin/busybox", filepath.Join(failing, "busybox"))
		_, out, _, err := build(t, Request{ContextDir: failing, Dockerfile: "Dockerfile", Tag: repo + ":fail"})
		if err == nil || !strings.Contains(err.Error(), "did not complete successfully: exit code: 3") {
			t.Errorf("err = %v, want exit code 3 in BuildKit's words", err)
		}
		if !strings.Contains(out, "boom-from-the-app") {
			t.Error("the command's output is missing from the progress output")
		}
	})

	testRelay(t, b, pctx, filepath.Join(dir, "relayed"), repo+"-relay", build)

	if err := Available(ctx, b.Address); err != nil {
		t.Errorf("Available on the running buildkitd: %v", err)
	}
}

type buildFunc func(t *testing.T, req Request) (Image, string, time.Duration, error)

// testRelay moves images through the relay registry: only what Podman
// lacks travels, and a relay that fails falls back to the load path.
func testRelay(t *testing.T, b *BuildKit, pctx context.Context, app, repo string, build buildFunc) {
	b.noRelay = false
	defer func() { b.noRelay, b.known = true, nil }()
	writeFiles(t, app, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\nCOPY last.txt /last.txt\n",
		"hello.txt":  repo + " hello\n",
		"last.txt":   repo + " one\n",
	})
	req := Request{ContextDir: app, Dockerfile: "Dockerfile", Tag: repo + ":r1", Labels: map[string]string{"gitship.test": "relay"}}
	moved := func(sent, skipped int) *regexp.Regexp {
		return regexp.MustCompile(fmt.Sprintf(`(?m)^Loaded into podman in [0-9.]+s through a loopback registry \(%d blobs sent, %d layers podman had were not\)$`, sent, skipped))
	}
	check := func(t *testing.T, img Image) {
		t.Helper()
		got, err := images.GetImage(pctx, img.Tag, nil)
		if err != nil || got.ID != img.ID || got.Config.Labels["gitship.test"] != "relay" {
			t.Fatalf("podman's %s: %+v, %v; want %s labelled", img.Tag, got, err, img.ID)
		}
		for _, n := range append(got.RepoTags, got.RepoDigests...) {
			if strings.HasPrefix(n, "127.0.0.1:") {
				t.Errorf("the relay's name %s stayed on the image", n)
			}
		}
	}
	var first Image
	t.Run("relay: a first build sends both layers and the config", func(t *testing.T) {
		img, out, _, err := build(t, req)
		if err != nil {
			t.Fatal(err)
		}
		if !moved(3, 0).MatchString(out) {
			t.Error("want 3 blobs sent, none skipped")
		}
		check(t, img)
		first = img
	})
	t.Run("relay: an unchanged rebuild sends the config only", func(t *testing.T) {
		req.Tag = repo + ":r2"
		img, out, _, err := build(t, req)
		if err != nil {
			t.Fatal(err)
		}
		tagOnly := regexp.MustCompile(`(?m)^Loaded into podman in [0-9.]+s through a loopback registry \(1 blobs sent, 2 layers podman had were not; podman had image ` + first.ID[:12] + `: tagged only\)$`)
		if !tagOnly.MatchString(out) || img.ID != first.ID {
			t.Errorf("want the same image %s with only its config sent, and tagged only; got %s", first.ID, img.ID)
		}
		check(t, img)
	})
	t.Run("relay: one changed layer is the one layer sent", func(t *testing.T) {
		writeFiles(t, app, map[string]string{"last.txt": repo + " two\n"})
		req.Tag = repo + ":r3"
		img, out, _, err := build(t, req)
		if err != nil {
			t.Fatal(err)
		}
		if !moved(2, 1).MatchString(out) || img.ID == first.ID {
			t.Error("want a new image with one layer and its config sent")
		}
		check(t, img)
	})
	t.Run("relay: an image that is not what BuildKit built is refused", func(t *testing.T) {
		// someone else's image at the name BuildKit pushes to
		dir := t.TempDir()
		rl, err := startRelay(dir, func(string) bool { return false })
		if err != nil {
			t.Fatal(err)
		}
		defer rl.close(t.Context())
		ref := rl.ref(repo + ":intruder")
		// the intruder: the relay's first image, pushed by Podman itself
		if err := images.Push(pctx, first.Tag, ref, new(images.PushOptions).WithSkipTLSVerify(true).WithQuiet(true)); err != nil {
			t.Fatalf("push the intruder: %v", err)
		}
		want := "sha256:" + strings.Repeat("0", 64) // what BuildKit "built"
		_, err = pullFromRelay(pctx, ref, repo+":intruder", want)
		if err == nil || !strings.Contains(err.Error(), "BuildKit built 000000000000") {
			t.Fatalf("pull of another image = %v, want a refusal naming what BuildKit built", err)
		}
		if ok, _ := images.Exists(pctx, repo+":intruder", nil); ok {
			t.Error("the intruder got gitship's name")
		}
		if ok, _ := images.Exists(pctx, ref, nil); ok {
			t.Error("the intruder kept the relay's name")
		}
		got, err := images.GetImage(pctx, first.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range got.RepoTags {
			if strings.Contains(n, "intruder") {
				t.Errorf("the image pulled as the intruder is named %s", n)
			}
		}
	})
	t.Run("relay: a layer claimed but missing falls back to the load", func(t *testing.T) {
		// every layer "known": BuildKit sends none, Podman's pull misses
		// the new one, the build loads the archive instead
		b.known = func(context.Context, string) func(string) bool { return func(string) bool { return true } }
		writeFiles(t, app, map[string]string{"last.txt": repo + " three\n"})
		req.Tag = repo + ":r4"
		img, out, _, err := build(t, req)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "Podman's pull from the relay registry failed") ||
			!regexp.MustCompile(`(?m)^Loaded into podman in [0-9.]+s$`).MatchString(out) {
			t.Error("want the pull to fail and the load to take over")
		}
		check(t, img)
		if _, err := os.Stat(app + ".blobs"); !os.IsNotExist(err) {
			t.Errorf("the relay's blob dir stayed: %v", err)
		}
	})
}

var stepLine = regexp.MustCompile(`(?m)^#(\d+) (\[[^\]]*\d+/\d+\] .*)$`)

// stepStates maps each Dockerfile step in plain progress output to whether
// BuildKit reported it CACHED.
func stepStates(out string) map[string]bool {
	states := map[string]bool{}
	for _, m := range stepLine.FindAllStringSubmatch(out, -1) {
		states[m[2]] = regexp.MustCompile(`(?m)^#` + m[1] + ` CACHED$`).MatchString(out)
	}
	return states
}

// startBuildkitd runs a buildkitd with a private root and socket until the
// test ends and returns its address.
func startBuildkitd(t *testing.T, dir string) string {
	root := filepath.Join(dir, "buildkit")
	addr := "unix://" + filepath.Join(dir, "bk.sock")
	start(t, filepath.Join(dir, "buildkitd.log"), "buildkitd", "--root", root, "--addr", addr,
		"--oci-worker=true", "--containerd-worker=false")
	waitFor(t, 30*time.Second, func() error { return Available(context.Background(), addr) })
	return addr
}

// startPodmanService runs `podman system service` on a socket of its own.
func startPodmanService(t *testing.T, dir string) string {
	uri := "unix://" + filepath.Join(dir, "podman.sock")
	start(t, filepath.Join(dir, "podman.log"), "podman", "system", "service", "--time=0", uri)
	waitFor(t, 30*time.Second, func() error {
		_, err := bindings.NewConnection(context.Background(), uri)
		return err
	})
	return uri
}

// start runs argv in its own process group, logging to logPath, and stops
// the whole group when the test ends.
func start(t *testing.T, logPath string, argv ...string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own group, so the whole daemon stops in Cleanup; Pdeathsig, so a
	// test binary killed before Cleanup does not leave it running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", argv[0], err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Errorf("%s ignored SIGTERM for 15s; killing it", argv[0])
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("%s log:\n%s", argv[0], b)
			}
		}
	})
}

// waitFor polls try until it succeeds or max passes, failing with the last error.
func waitFor(t *testing.T, max time.Duration, try func() error) {
	t.Helper()
	if err := testenv.Poll(max, try); err != nil {
		t.Fatal(err)
	}
}

// removeImages removes what the test built, by tag and never forced: the
// store is shared with whatever else runs on this host, the end-to-end
// scripts' builds included, so it holds gitship's image lock as gitship's
// own removals do. It runs after the test's ctx is cancelled, so it
// dials again.
func removeImages(t *testing.T, podman string, tags []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := config.Default()
	unlock, err := lockImages(cfg.ImagesLock())
	if err != nil {
		t.Errorf("remove images %v: %v", tags, err)
		return
	}
	defer unlock()
	pctx, err := bindings.NewConnection(ctx, podman)
	if err != nil {
		t.Errorf("remove images %v: %v", tags, err)
		return
	}
	var present []string
	for _, tag := range tags {
		ok, err := images.Exists(pctx, tag, nil)
		if err != nil {
			t.Errorf("remove image %s: %v", tag, err)
		}
		if ok {
			present = append(present, tag)
		}
	}
	if len(present) == 0 {
		return
	}
	if _, errs := images.Remove(pctx, present, nil); len(errs) > 0 {
		t.Errorf("remove images %v: %v", present, errs)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatalf("%v (busybox-static provides a static /bin/busybox)", err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func randomName(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("t%s", hex.EncodeToString(b))
}

// lockImages takes the exclusive flock gitship's builds share.
func lockImages(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
