package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildContextKept: each build's export becomes the context the next
// build reuses; a swap that was interrupted (no tree file) offers
// nothing; destroy removes it.
func TestBuildContextKept(t *testing.T) {
	e := newOsEnv(t)
	kept, treeFile := e.d.contextPaths("demo")
	e.mustDeploy(t, sha1)
	if e.src.prevs[0] != nil {
		t.Errorf("first export got a previous context %+v", e.src.prevs[0])
	}
	if b, err := os.ReadFile(treeFile); err != nil || strings.TrimSpace(string(b)) != sha1 {
		t.Fatalf("tree file after v1: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(kept, "Dockerfile")); err != nil {
		t.Errorf("kept context lacks the export: %v", err)
	}
	// same tree again: the fake reuses everything
	_, err, out := e.deploy(t, sha1)
	if err != nil {
		t.Fatal(err)
	}
	if p := e.src.prevs[1]; p == nil || p.Dir != kept || p.Tree != sha1 {
		t.Errorf("second export got %+v, want the kept context of %s", p, sha1[:7])
	}
	if !strings.Contains(out, "Exported 0123456789ab: 1 of 1 files unchanged since the last build") {
		t.Errorf("output:\n%s", out)
	}
	// only one build context is left: the kept one
	if m, _ := filepath.Glob(filepath.Join(e.d.tmpDir(), "build-demo.*")); len(m) != 0 {
		t.Errorf("build dirs left: %v", m)
	}
	// interrupted swap: the context without its tree file is not offered
	if err := os.Remove(treeFile); err != nil {
		t.Fatal(err)
	}
	e.mustDeploy(t, sha2)
	if p := e.src.prevs[2]; p != nil {
		t.Errorf("export after an interrupted swap got %+v", p)
	}
	if err := e.d.Destroy(context.Background(), "demo", false, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{kept, treeFile} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s after destroy: %v", p, err)
		}
	}
}
