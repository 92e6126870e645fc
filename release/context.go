package release

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitship/gitship/hook"
)

// Build contexts live under root/tmp, on the disk that holds the repos,
// not in a /tmp that may be a small tmpfs. They are on the real
// filesystem, not d.Fs: go-git writes them and the builder tars them.
//
// Each build exports into a fresh root/tmp/build-APP.* dir, which is gone
// after the build: it becomes apps/APP/context, the previous export the
// next build hard-links its unchanged files from, and apps/APP/context.tree
// names its tree. The .tree file is removed before the context changes and
// written after it is complete, so an interrupted swap leaves no context
// to reuse, never a wrong one. "." cannot be in an app name: build-APP.*
// never matches another app's.

func (d *Deployer) tmpDir() string { return filepath.Join(d.Config.Root, "tmp") }

// contextPaths are app's kept context and the file naming its tree.
func (d *Deployer) contextPaths(app string) (dir, tree string) {
	dir = filepath.Join(d.appDir(app), "context")
	return dir, dir + ".tree"
}

// newBuildDir makes an empty build context for app.
func (d *Deployer) newBuildDir(app string) (string, error) {
	if err := os.MkdirAll(d.tmpDir(), 0o700); err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	dir, err := os.MkdirTemp(d.tmpDir(), "build-"+app+".")
	if err != nil {
		return "", fmt.Errorf("build context: %w", err)
	}
	return dir, nil
}

// previousContext is app's kept context, or nil if there is none whole.
func (d *Deployer) previousContext(app string) *hook.Previous {
	dir, treeFile := d.contextPaths(app)
	b, err := os.ReadFile(treeFile)
	if err != nil {
		return nil
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil
	}
	return &hook.Previous{Dir: dir, Tree: strings.TrimSpace(string(b))}
}

// keepContext makes the build context dir, an export of tree, app's kept
// context, replacing the one before.
func (d *Deployer) keepContext(app, dir, tree string) error {
	kept, treeFile := d.contextPaths(app)
	if err := os.Remove(treeFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(kept); err != nil {
		return err
	}
	if err := os.Rename(dir, kept); err != nil {
		return err
	}
	tmp := treeFile + ".new"
	if err := os.WriteFile(tmp, []byte(tree+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, treeFile)
}

// removeContext removes app's kept context (destroy).
func (d *Deployer) removeContext(app string) error {
	kept, treeFile := d.contextPaths(app)
	for _, p := range []string{treeFile, treeFile + ".new", kept} {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
	}
	return nil
}

// exportedLine is the pusher's line for an export.
func exportedLine(sha string, st hook.Exported) string {
	if st.Reused == 0 {
		return "Exported " + hook.Short(sha)
	}
	return fmt.Sprintf("Exported %s: %d of %d files unchanged since the last build", hook.Short(sha), st.Reused, st.Files)
}
