package certbot

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// TestReason runs testdata/issue/*.txtar: certbot's combined output
// (-- output --), optionally the debug log the run wrote (-- log --), and
// the one-line reason wanted (-- want --). The outputs were recorded from
// certbot 2.1.0 (Debian 12) against Pebble, the rate limits from Let's
// Encrypt's documented problem texts.
func TestReason(t *testing.T) {
	for _, path := range globTxtar(t, "issue") {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			files := readTxtar(t, path, "output", "want")
			want := strings.TrimSpace(files["want"])
			got := reason(files["output"], files["log"])
			if got != want {
				t.Errorf("reason:\n got %q\nwant %q", got, want)
			}
			if strings.Contains(got, "\n") || strings.Contains(got, "Traceback") {
				t.Errorf("reason is not one line without a traceback: %q", got)
			}
		})
	}
}

// TestRenewFailures runs testdata/renew/*.txtar: `certbot renew` output
// and, in -- want --, one "NAME: reason" line per failed certificate.
func TestRenewFailures(t *testing.T) {
	for _, path := range globTxtar(t, "renew") {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			files := readTxtar(t, path, "output", "want")
			failed := renewFailures(files["output"])
			var got []string
			for name, r := range failed {
				got = append(got, fmt.Sprintf("%s: %s", name, r))
			}
			sort.Strings(got)
			want := strings.TrimSpace(files["want"])
			if g := strings.Join(got, "\n"); g != want {
				t.Errorf("failures:\n got %s\nwant %s", g, want)
			}
		})
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("x", maxReason+10)
	if got := clip(long); len([]rune(got)) != maxReason || !strings.HasSuffix(got, "…") {
		t.Errorf("clip(long) has %d runes, ends %q", len([]rune(got)), got[len(got)-5:])
	}
	if got := clip("a\n  b\tc "); got != "a b c" {
		t.Errorf("clip = %q, want %q", got, "a b c")
	}
}

func TestRenewErrorIsOneSortedLine(t *testing.T) {
	err := &RenewError{Failed: map[string]string{"web": "w.example: returned 404 (unauthorized)", "api": "urn:ietf:params:acme:error:rateLimited :: too many"}}
	want := "renew certificates: api: urn:ietf:params:acme:error:rateLimited :: too many; web: w.example: returned 404 (unauthorized)"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n %q\nwant\n %q", got, want)
	}
}

func globTxtar(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no testdata/%s/*.txtar", dir)
	}
	return paths
}

// readTxtar returns the files of the archive at path by name, failing
// the test if one of required is missing.
func readTxtar(t *testing.T, path string, required ...string) map[string]string {
	t.Helper()
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range ar.Files {
		files[f.Name] = string(f.Data)
	}
	for _, r := range required {
		if _, ok := files[r]; !ok {
			t.Fatalf("%s has no -- %s -- section", path, r)
		}
	}
	return files
}
