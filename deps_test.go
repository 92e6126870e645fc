// Package gitship_test checks the import graph DESIGN.md draws:
// cmd → release → {state, hook, build, container, nginx, certbot, config},
// cmd → access, cmd → doctor → the same leaves; internal/* are test
// helpers, scripts/* tools beside it.
package gitship_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gitship/gitship/"

// leaves never import another gitship package: release is where they meet.
var leaves = map[string]bool{
	"state": true, "hook": true, "build": true, "container": true,
	"nginx": true, "certbot": true, "config": true,
	// kube renders and applies a release on a cluster: release (or cmd,
	// for export) hands it a kube.Release, as it hands nginx a server
	// block; it needs no other leaf.
	"kube": true,
}

// An edge is one import of a gitship package by another (dirs relative to
// the module root, e.g. "cmd/gitship", "internal/testenv").
type edge struct {
	from, to string
	test     bool // imported by a _test.go file only
}

// A rule matches edges by pattern: an exact dir, "dir/..." (dir and all
// under it), "LEAF" (any of leaves) or "*". The first rule that matches an
// edge decides; an edge of a non-test file that no rule matches is
// refused. Test files may import anything but what a rule with tests set
// refuses (a test may use a neighbour as a fixture).
type rule struct {
	from, to string
	ok       bool
	tests    bool // applies to _test.go files too
	why      string
}

var rules = []rule{
	{"*", "cmd/...", false, true, "nothing imports the CLI: it only wires the packages together"},
	{"internal/usererr", "*", false, false, "internal/usererr imports no gitship package, so that every package may import it"},
	{"*", "internal/usererr", true, false, "internal/usererr marks errors meant for the person at the terminal: every package may use it"},
	{"internal/podmanapi", "*", false, false, "internal/podmanapi imports no gitship package: the two leaves that talk to Podman share it"},
	{"container", "internal/podmanapi", true, false, "container and build talk to the Podman API and shorten its errors alike"},
	{"build", "internal/podmanapi", true, false, "container and build talk to the Podman API and shorten its errors alike"},
	{"internal/...", "internal/...", true, false, "test helpers may build on each other (pebble uses testenv)"},
	{"internal/...", "*", false, false, "test helpers stay out of the product: they import no product package"},
	{"*", "internal/...", false, false, "internal/testenv and internal/pebble are test helpers: only _test.go files import them (internal/usererr excepted, above)"},
	{"scripts/...", "*", true, false, "scripts are tools beside the chain and may use its packages"},
	{"*", "scripts/...", false, false, "scripts sit outside the chain: only scripts and tests import them"},
	{"cmd/gitship", "*", true, false, "cmd wires everything together"},
	{"*", "access", false, false, "access is the ssh door: only cmd wires it, so the policy stays in one place"},
	{"access", "*", false, false, "access imports no other gitship package: it parses, decides and logs on its own"},
	{"doctor", "LEAF", true, false, "doctor reads the leaves to check the host (config, Podman, nginx, certificates, state, BuildKit)"},
	{"doctor", "*", false, false, "doctor depends on leaves only: it checks what release runs, and only cmd wires it"},
	{"release", "LEAF", true, false, "release is where the leaves meet"},
	{"release", "*", false, false, "release depends on leaves only"},
	{"LEAF", "*", false, false, "leaf packages never import each other; declare an interface in release"},
}

func match(pattern, pkg string) bool {
	switch {
	case pattern == "*":
		return true
	case pattern == "LEAF":
		return leaves[pkg]
	case strings.HasSuffix(pattern, "/..."):
		dir := strings.TrimSuffix(pattern, "/...")
		return pkg == dir || strings.HasPrefix(pkg, dir+"/")
	}
	return pattern == pkg
}

// check returns one message per edge the rules refuse, saying why.
func check(edges []edge) []string {
	var bad []string
	for _, e := range edges {
		if e.from == e.to {
			continue // an external test package of its own package
		}
		decided := false
		for _, r := range rules {
			if (e.test && !r.tests) || !match(r.from, e.from) || !match(r.to, e.to) {
				continue
			}
			if !r.ok {
				bad = append(bad, fmt.Sprintf("%s imports %s%s: %s", e.from, e.to, testNote(e), r.why))
			}
			decided = true
			break
		}
		if !decided && !e.test {
			bad = append(bad, fmt.Sprintf("%s imports %s: not an edge of DESIGN.md's graph (cmd → release → leaves, cmd → access)", e.from, e.to))
		}
	}
	return bad
}

func testNote(e edge) string {
	if e.test {
		return " (in a test)"
	}
	return ""
}

func TestImportGraph(t *testing.T) {
	edges, external := imports(t)
	for _, msg := range check(edges) {
		t.Error(msg)
	}
	for _, e := range external {
		if strings.HasPrefix(e.to, "github.com/containers/podman/") && e.from != "container" && e.from != "build" {
			t.Errorf("%s imports %s: the Podman bindings stay inside container and build", e.from, e.to)
		}
	}
}

// TestCheck feeds check a made-up graph: each forbidden edge is reported
// with its reason, the allowed ones are not.
func TestCheck(t *testing.T) {
	tests := []struct {
		e    edge
		want string // "" if allowed, else part of the message
	}{
		{edge{"cmd/gitship", "release", false}, ""},
		{edge{"cmd/gitship", "access", false}, ""},
		{edge{"cmd/gitship", "state", false}, ""},
		{edge{"cmd/gitship", "nginx", false}, ""},
		{edge{"release", "state", false}, ""},
		{edge{"release", "nginx", false}, ""},
		{edge{"release", "access", false}, "only cmd wires it"},
		{edge{"release", "newpkg", false}, "release depends on leaves only"},
		{edge{"nginx", "config", false}, "leaf packages never import each other"},
		{edge{"state", "release", false}, "leaf packages never import each other"},
		{edge{"state", "config", false}, "leaf packages never import each other"},
		{edge{"nginx", "config", true}, ""},
		{edge{"access", "state", false}, "access imports no other gitship package"},
		{edge{"hook", "access", false}, "only cmd wires it"},
		{edge{"config", "cmd/gitship", false}, "nothing imports the CLI"},
		{edge{"release", "cmd/gitship", true}, "nothing imports the CLI"},
		{edge{"hook", "internal/testenv", false}, "only _test.go files import them"},
		{edge{"cmd/gitship", "internal/pebble", false}, "only _test.go files import them"},
		{edge{"hook", "internal/testenv", true}, ""},
		{edge{"internal/pebble", "internal/testenv", false}, ""},
		{edge{"internal/testenv", "release", false}, "test helpers stay out of the product"},
		{edge{"release", "scripts/load", false}, "scripts sit outside the chain"},
		{edge{"cmd/gitship", "scripts/load", true}, ""},
		{edge{"scripts/load/loadgen", "scripts/load", false}, ""},
		{edge{"newpkg", "hook", false}, "not an edge of DESIGN.md's graph"},
		{edge{"access", "internal/usererr", false}, ""},
		{edge{"release", "internal/usererr", false}, ""},
		{edge{"internal/usererr", "state", false}, "internal/usererr imports no gitship package"},
		{edge{"container", "internal/podmanapi", false}, ""},
		{edge{"cmd/gitship", "doctor", false}, ""},
		{edge{"doctor", "nginx", false}, ""},
		{edge{"doctor", "release", false}, "doctor depends on leaves only"},
		{edge{"release", "doctor", false}, "release depends on leaves only"},
		{edge{"nginx", "doctor", false}, "leaf packages never import each other"},
		{edge{"release", "internal/podmanapi", false}, "only _test.go files import them"},
		{edge{"internal/podmanapi", "container", false}, "internal/podmanapi imports no gitship package"},
		{edge{"release", "kube", false}, ""},
		{edge{"kube", "internal/usererr", false}, ""},
		{edge{"kube", "config", false}, "leaf packages never import each other"},
		{edge{"state", "kube", false}, "leaf packages never import each other"},
	}
	for _, tt := range tests {
		got := check([]edge{tt.e})
		switch {
		case tt.want == "" && len(got) > 0:
			t.Errorf("%+v refused: %v", tt.e, got)
		case tt.want != "" && len(got) != 1:
			t.Errorf("%+v: got %q, want one message mentioning %q", tt.e, got, tt.want)
		case tt.want != "" && !strings.Contains(got[0], tt.want):
			t.Errorf("%+v: got %q, want it to mention %q", tt.e, got[0], tt.want)
		}
	}
}

// imports returns the gitship edges of the tree, and its imports of other
// modules (with to the full import path).
func imports(t *testing.T) (gitship, external []edge) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(p))
		test := strings.HasSuffix(p, "_test.go")
		for _, s := range f.Imports {
			path, err := strconv.Unquote(s.Path.Value)
			if err != nil {
				return err
			}
			if dep, ok := strings.CutPrefix(path, module); ok {
				gitship = append(gitship, edge{dir, dep, test})
			} else if !test {
				external = append(external, edge{dir, path, false})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range gitship {
		seen[e.from+" "+e.to] = true
	}
	for _, want := range []string{"cmd/gitship release", "cmd/gitship access", "release nginx", "internal/pebble internal/testenv"} {
		if !seen[want] {
			t.Fatalf("found no import %s: is the walk broken? edges: %v", want, gitship)
		}
	}
	return gitship, external
}
