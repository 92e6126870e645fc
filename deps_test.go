// Package gitship_test checks the import graph DESIGN.md draws:
// cmd → release → {hook, build, container, nginx, certbot, config}.
package gitship_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/gitship/gitship/"

// leaves never import each other: release is where they meet.
var leaves = map[string]bool{"hook": true, "build": true, "container": true, "nginx": true, "certbot": true, "config": true}

// shared packages may be imported by every package, leaves included: they
// import nothing of gitship's, so no leaf reaches another through them.
var shared = map[string]bool{"internal/usererr": true}

func TestImportGraph(t *testing.T) {
	for pkg, imports := range imports(t) {
		for _, imp := range imports {
			if strings.HasPrefix(imp, "github.com/containers/podman/") && pkg != "container" && pkg != "build" {
				t.Errorf("%s imports %s: the Podman bindings stay inside container and build", pkg, imp)
			}
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			switch {
			case shared[pkg]:
				t.Errorf("%s imports %s: a shared package imports nothing of gitship's", pkg, dep)
			case shared[dep]: // every package may
			case strings.HasPrefix(dep, "cmd/"):
				t.Errorf("%s imports %s: nothing imports the CLI", pkg, dep)
			case leaves[pkg] && dep != pkg:
				t.Errorf("%s imports %s: leaf packages never import each other; declare an interface in release", pkg, dep)
			case pkg == "release" && !leaves[dep]:
				t.Errorf("release imports %s: release depends on leaves only", dep)
			}
		}
	}
}

// imports maps each package dir (relative, e.g. "nginx", "cmd/gitship") to
// the imports of its non-test files.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(p))
		for _, s := range f.Imports {
			path, err := strconv.Unquote(s.Path.Value)
			if err != nil {
				return err
			}
			out[dir] = append(out[dir], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out["release"]) == 0 || len(out["nginx"]) == 0 {
		t.Fatalf("found no imports for release or nginx: %v", out)
	}
	return out
}
