package release

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gitship/gitship/container"
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
	var all strings.Builder
	if err := e.d.Logs(t.Context(), ls, "demo", "v2", -1, false, &all); err != nil {
		t.Fatalf("logs --release v2 = %v, want the kept output", err)
	}
	got := strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n")
	if len(got) != outputLines || got[0] != "line 7" || got[len(got)-1] != "panic: database unreachable" {
		t.Errorf("kept output: %d lines, %q ... %q; want the last %d, line 7 ... the panic", len(got), got[0], got[len(got)-1], outputLines)
	}
	var two strings.Builder
	if err := e.d.Logs(t.Context(), ls, "demo", "v2", 2, true, &two); err != nil {
		t.Fatal(err)
	}
	if want := "line 1005\npanic: database unreachable\n"; two.String() != want {
		t.Errorf("logs -n 2 --release v2 = %q, want %q", two.String(), want)
	}
	if len(ls.asked) != 0 {
		t.Errorf("asked Podman for the logs of %v, whose output was kept", ls.asked)
	}
	// The live release's logs still come from its container.
	if err := e.d.Logs(t.Context(), ls, "demo", "", 10, false, io.Discard); err == nil || len(ls.asked) != 1 || ls.asked[0] != "gitship-demo-v1" {
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
