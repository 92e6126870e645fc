package release

import (
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

func TestRunArgv(t *testing.T) {
	tests := []struct {
		args  []string
		shell bool
		want  []string
	}{
		{[]string{"/web", "exit", "3"}, false, []string{"/web", "exit", "3"}},
		{[]string{"/web exit 3"}, false, []string{"/web", "exit", "3"}},
		{[]string{"flask init-db && echo ok"}, true, []string{"/bin/sh", "-c", "flask init-db && echo ok"}},
		{[]string{"echo", "a b", "$HOME", "it's"}, true, []string{"/bin/sh", "-c", `echo 'a b' '$HOME' 'it'\''s'`}},
	}
	for _, tt := range tests {
		got, err := RunArgv(tt.args, tt.shell)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("RunArgv(%q, %v) = %q, %v; want %q", tt.args, tt.shell, got, err, tt.want)
		}
	}
	if _, err := RunArgv([]string{"echo $HOME"}, false); err == nil {
		t.Error("RunArgv of a shell command line without a shell: no error")
	}
}

// TestRunOneOff: a run gets the live release's image, environment, /data
// with the app's data group (not nginx's), limits, $PORT, the run label,
// no socket and no restart; stdin reaches it and its status comes back.
func TestRunOneOff(t *testing.T) {
	e := newOsEnv(t)
	e.editApp(t, func(a *state.App) {
		a.Env = map[string]string{"GREETING": "hi"}
		a.Settings.Memory = "64m"
	})
	live := e.mustDeploy(t, sha1)
	e.rt.noShell = true
	e.rt.runCode = 3
	var out strings.Builder
	code, err := e.d.Run(t.Context(), "demo", RunOptions{Args: []string{"/web", "exit", "3"}, Stdin: strings.NewReader("input"), Stdout: &out, Stderr: io.Discard})
	if err != nil || code != 3 {
		t.Fatalf("Run = %d, %v; want 3, nil", code, err)
	}
	if len(e.rt.runs) != 1 {
		t.Fatalf("%d runs, want 1", len(e.rt.runs))
	}
	s := e.rt.runs[0]
	gid := strconv.Itoa(e.app(t).GID)
	switch {
	case s.Image != live.StartImage():
		t.Errorf("image %q, want %q", s.Image, live.StartImage())
	case !reflect.DeepEqual(s.Command, []string{"/web", "exit", "3"}):
		t.Errorf("command %q", s.Command)
	case s.Process != ProcessRun || s.Labels[container.LabelApp] != "demo" || s.Labels[container.LabelRoot] != e.d.Config.Root:
		t.Errorf("process %q labels %v", s.Process, s.Labels)
	case s.Restart != "no" || s.SocketDir != "" || s.Port != 0:
		t.Errorf("restart %q socket dir %q port %d", s.Restart, s.SocketDir, s.Port)
	case s.DataDir != e.d.dataDir("demo") || !reflect.DeepEqual(s.Groups, []string{gid}):
		t.Errorf("data dir %q groups %v, want %q [%s]", s.DataDir, s.Groups, e.d.dataDir("demo"), gid)
	case s.Env["GREETING"] != "hi" || s.Env["PORT"] != "5000" || s.Env["GITSHIP_RELEASE"] != "v1" || s.Env["GITSHIP_DATA"] != "/data":
		t.Errorf("env %v", s.Env)
	case s.Memory != 64<<20:
		t.Errorf("memory %d", s.Memory)
	case !strings.HasPrefix(s.Name, "gitship-demo-run-"):
		t.Errorf("name %q", s.Name)
	case e.rt.runIn[0] != "input":
		t.Errorf("stdin %q", e.rt.runIn[0])
	}
	// through the shell when the image has one
	e.rt.noShell = false
	if _, err := e.d.Run(t.Context(), "demo", RunOptions{Args: []string{"echo", "a b"}, Stdout: io.Discard, Stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	if got := e.rt.runs[1].Command; !reflect.DeepEqual(got, []string{"/bin/sh", "-c", "echo 'a b'"}) {
		t.Errorf("command with a shell %q", got)
	}
}

func TestRunRelease(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	e.mustDeploy(t, sha2)
	run := func(v int) error {
		_, err := e.d.Run(t.Context(), "demo", RunOptions{Release: v, Args: []string{"/web"}, Stdout: io.Discard, Stderr: io.Discard})
		return err
	}
	if err := run(1); err != nil {
		t.Fatalf("run in v1: %v", err)
	}
	if got := e.rt.runs[0].Labels[container.LabelRelease]; got != "v1" {
		t.Errorf("ran in %s, want v1", got)
	}
	if err := run(9); err == nil || !strings.Contains(err.Error(), "no release v9") {
		t.Errorf("run in v9: %v", err)
	}
	e.rt.pruned = map[string]bool{ImageTag("demo", sha1): true}
	if err := run(1); err == nil || !strings.Contains(err.Error(), "pruned") {
		t.Errorf("run in pruned v1: %v", err)
	}
	if n := len(e.rt.runs); n != 1 {
		t.Errorf("%d runs, want 1", n)
	}
}
