package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gitship/gitship/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain makes the test binary double as the gitship command, so the
// scripts (and the post-receive hooks they trigger) run the code under test.
func TestMain(m *testing.M) {
	// main itself, signal handling included: Ctrl-C ends `logs -f`.
	testscript.Main(m, map[string]func(){"gitship": main})
}

// TestScripts runs the end-to-end scripts in testdata/script: real git,
// a real Podman API service and a real nginx, started per script.
func TestScripts(t *testing.T) {
	testenv.Need(t, "scripts/test installs them", "git", "podman", "nginx", "runc", "go", "buildkitd", "certbot", "pebble", "pebble-challtestsrv", "ssh", "ssh-keygen")
	sample := buildSample(t)
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			return setupInstance(e, sample)
		},
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"sampleapp":   cmdSampleApp,
			"fetch":       cmdFetch,
			"podman":      cmdPodman,
			"perm":        cmdPerm,
			"waitfile":    cmdWaitFile,
			"waitcount":   cmdWaitCount,
			"killpid":     cmdKillPid,
			"killgroup":   cmdKillGroup,
			"envfrom":     cmdEnvFrom,
			"load":        cmdLoad,
			"buildkitd":   cmdBuildkitd,
			"builder":     cmdBuilder,
			"nginxpid":    cmdNginxPid,
			"pebble":      cmdPebble,
			"fetchtls":    cmdFetchTLS,
			"fetchraw":    cmdFetchRaw,
			"makedue":     cmdMakeDue,
			"sshd":        cmdSSHD,
			"replacefile": cmdReplaceFile,
			"jsonfield":   cmdJSONField,
			"jsonok":      cmdJSONOK,
			"waitwatch":   cmdWaitWatch,
			"kubecluster": cmdKubeCluster,
		},
	})
}

// buildSample builds the sample app as a static binary, once per run.
func buildSample(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "web")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/apps/web")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build sample app: %v\n%s", err, b)
	}
	return out
}
