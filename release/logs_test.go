package release

import (
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// goneStreamer is the Podman log stream of containers that no longer
// exist, as `podman logs` says it.
type goneStreamer struct{ asked []string }

func (s *goneStreamer) Follow(ctx context.Context, name string, n int, follow bool, w io.Writer) error {
	s.asked = append(s.asked, name)
	return fmt.Errorf("logs of %s: no such container", name)
}

// TestFailedReleaseOutputKept: a release whose container exits before it
// answers is removed, but its output is kept with its record (the last
// 1000 lines) and `gitship logs --release vN` shows it.
func TestFailedReleaseOutputKept(t *testing.T) {
	e := newOsEnv(t)
	e.mustDeploy(t, sha1)
	var lines []string
	for i := 1; i <= outputLines+5; i++ {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	e.rt.logs = append(lines, "panic: database unreachable")
	e.rt.noSocket = true
	e.rt.state = container.State{Status: "exited", ExitCode: 2}
	r, err, out := e.deploy(t, sha2)
	checkFailed(t, e, r, err, out, 2, "exited", "v1")
	if !e.rt.hasCall("remove gitship-demo-v2") {
		t.Fatalf("the failed release's container was not removed: %v", e.rt.callList())
	}

	ls := &goneStreamer{}
	e.d.LogStream = ls
	var all strings.Builder
	if err := e.d.Logs(t.Context(), "demo", "v2", -1, false, &all); err != nil {
		t.Fatalf("logs --release v2 = %v, want the kept output", err)
	}
	got := strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n")
	if len(got) != outputLines || got[0] != "line 7" || got[len(got)-1] != "panic: database unreachable" {
		t.Errorf("kept output: %d lines, %q ... %q; want the last %d, line 7 ... the panic", len(got), got[0], got[len(got)-1], outputLines)
	}
	var two strings.Builder
	if err := e.d.Logs(t.Context(), "demo", "v2", 2, true, &two); err != nil {
		t.Fatal(err)
	}
	if want := "line 1005\npanic: database unreachable\n"; two.String() != want {
		t.Errorf("logs -n 2 --release v2 = %q, want %q", two.String(), want)
	}
	if len(ls.asked) != 0 {
		t.Errorf("asked Podman for the logs of %v, whose output was kept", ls.asked)
	}
	// The live release's logs still come from its container.
	if err := e.d.Logs(t.Context(), "demo", "", 10, false, io.Discard); err == nil || len(ls.asked) != 1 || ls.asked[0] != "gitship-demo-v1" {
		t.Errorf("logs of the live release: %v, asked %v; want the stream of gitship-demo-v1", err, ls.asked)
	}
}

func TestLastLines(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc\n", -1, "a\nb\nc\n"},
		{"a\nb\nc\n", 5, "a\nb\nc\n"},
		{"a\nb\nc\n", 0, ""},
		{"", 3, ""},
	} {
		if got := lastLines(tt.s, tt.n); got != tt.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// TestTeePusherGone: once a write to the pusher fails (EPIPE: the client
// went away), the pusher is written to no more, but every line still goes
// to the kept log and Progress goes on.
func TestTeePusherGone(t *testing.T) {
	fsys := afero.NewMemMapFs()
	out := &failWriter{ok: 2, err: syscall.EPIPE}
	p := &Progress{W: &tee{out: out, log: &pushLog{fs: fsys, path: "/v1.log"}}, Now: newClock().Now}
	for i := 1; i <= 5; i++ {
		p.Say("step %d", i)
	}
	w, flush := p.Indent()
	io.WriteString(w, "build output\nlast")
	flush()
	if err := p.Err(); err != nil {
		t.Errorf("Progress.Err = %v: a gone pusher must not stop the output", err)
	}
	if got, want := string(out.buf), "-----> step 1\n-----> step 2\n"; got != want {
		t.Errorf("pusher got %q, want %q", got, want)
	}
	if out.writes != 3 {
		t.Errorf("%d writes to the pusher, want 3 (none after the failed one)", out.writes)
	}
	kept, err := afero.ReadFile(fsys, "/v1.log")
	if err != nil {
		t.Fatal(err)
	}
	want := "-----> step 1\n-----> step 2\n-----> step 3\n-----> step 4\n-----> step 5\n       build output\n       last\n"
	if string(kept) != want {
		t.Errorf("kept log:\n%s\nwant:\n%s", kept, want)
	}
}

// TestDeployPusherGone: the pusher hangs up after the first lines (or
// before the deploy even got its lock): the deploy goes on, goes live,
// and its kept log has every line up to "is live".
func TestDeployPusherGone(t *testing.T) {
	for _, ok := range []int{0, 3} {
		t.Run(fmt.Sprintf("after %d lines", ok), func(t *testing.T) {
			e := newOsEnv(t)
			out := &failWriter{ok: ok, err: syscall.EPIPE}
			r, err := e.d.Deploy(t.Context(), "demo", "refs/heads/main", "push", out)
			if err != nil {
				t.Fatalf("Deploy with a gone pusher = %v\npusher got:\n%s", err, out.buf)
			}
			if r.Status != state.StatusLive {
				t.Errorf("%s is %s, want live", r.Name(), r.Status)
			}
			var kept strings.Builder
			if err := e.d.BuildLog("demo", "v1", &kept); err != nil {
				t.Fatal(err)
			}
			wantLines(t, kept.String(),
				`-----> Built localhost/gitship/demo:0123456789ab`+dur,
				`-----> Healthy: / answered HTTP 200`+dur,
				`-----> demo v1 is live at http://demo\.example\.com/`+dur,
			)
		})
	}
}
