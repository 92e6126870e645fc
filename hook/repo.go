package hook

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Marker is the line prefix that marks a post-receive hook (and so its
// repository) as gitship's. InitRepo only ever rewrites a repository whose
// hook carries it.
const Marker = "# gitship-managed"

// HookScript returns the post-receive script that runs
// `<bin> --config <config> hook post-receive`, both paths single-quoted for
// the shell. exec keeps no shell around holding git's stdout and stderr.
func HookScript(bin, config string) string {
	return "#!/bin/sh\n" +
		Marker + ": written by gitship init; do not edit\n" +
		"exec " + shellQuote(bin) + " --config " + shellQuote(config) + " hook post-receive\n"
}

// shellQuote quotes s for /bin/sh: inside single quotes nothing is special
// except the quote itself, which is closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// InitRepo creates a bare repository at path with HEAD pointing at
// refs/heads/<branch>, receive.advertisePushOptions on (`git push -o`) and
// hooks/post-receive (mode 0755) holding hookScript, and reports
// created=true. If path is already a bare repository whose hook carries
// Marker, it points HEAD at branch again, turns push options on (a
// repository made before they were), rewrites the hook (the binary or
// config path may have moved) and reports created=false. Anything
// else at path is an error wrapping ErrNotOurs: gitship never adopts a
// repository someone else owns.
func InitRepo(path, branch, hookScript string) (created bool, err error) {
	head := plumbing.NewBranchReferenceName(branch)
	if err := head.Validate(); err != nil {
		return false, fmt.Errorf("init repo %s: branch %q: %w", path, branch, err)
	}
	if !hasMarker([]byte(hookScript)) {
		return false, fmt.Errorf("init repo %s: hook script lacks the %q line", path, Marker)
	}
	repo, created, err := openOrInit(path)
	if err != nil {
		return false, err
	}
	if err := setup(repo, path, head, hookScript); err != nil {
		if created {
			// Without its hook the new repo would read as not ours and the
			// retry would refuse it; remove it so the retry starts clean.
			err = errors.Join(err, os.RemoveAll(path))
		}
		return false, fmt.Errorf("init repo %s: %w", path, err)
	}
	return created, nil
}

// setup points HEAD at head, turns push options on and (re)writes the hook.
func setup(repo *git.Repository, path string, head plumbing.ReferenceName, hookScript string) error {
	if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, head)); err != nil {
		return fmt.Errorf("set HEAD to %s: %w", head, err)
	}
	if err := advertisePushOptions(repo); err != nil {
		return err
	}
	return writeHook(path, hookScript)
}

// advertisePushOptions sets receive.advertisePushOptions: without it git
// refuses `git push -o` ("the receiving end does not support push
// options") and the hook never sees GIT_PUSH_OPTION_*.
func advertisePushOptions(repo *git.Repository) error {
	cfg, err := repo.Config()
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	sec := cfg.Raw.Section("receive")
	if sec.Option("advertisePushOptions") == "true" {
		return nil
	}
	sec.SetOption("advertisePushOptions", "true")
	if err := repo.SetConfig(cfg); err != nil {
		return fmt.Errorf("set receive.advertisePushOptions: %w", err)
	}
	return nil
}

// openOrInit creates the bare repository, or opens it if it is ours.
func openOrInit(path string) (*git.Repository, bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		repo, err := git.PlainInit(path, true)
		if err != nil {
			return nil, false, fmt.Errorf("init repo %s: %w", path, err)
		}
		return repo, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("init repo %s: %w", path, err)
	}
	repo, err := openOurs(path)
	if err != nil {
		return nil, false, err
	}
	return repo, false, nil
}

// openOurs opens path only if it is a bare repository with a gitship hook.
func openOurs(path string) (*git.Repository, error) {
	notOurs := fmt.Errorf("refusing to touch %s: %w", path, ErrNotOurs)
	hook, err := os.ReadFile(filepath.Join(path, "hooks", "post-receive"))
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("init repo %s: %w", path, err)
	}
	if err != nil || !hasMarker(hook) {
		return nil, notOurs
	}
	repo, err := git.PlainOpen(path)
	if err != nil {
		return nil, notOurs
	}
	cfg, err := repo.Config()
	if err != nil {
		return nil, fmt.Errorf("init repo %s: read config: %w", path, err)
	}
	if !cfg.Core.IsBare {
		return nil, notOurs
	}
	return repo, nil
}

// hasMarker reports whether script has a line starting with Marker.
func hasMarker(script []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(script))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), Marker) {
			return true
		}
	}
	return false
}

// writeHook replaces hooks/post-receive through a rename, so a push arriving
// meanwhile runs either the old hook or the new one, never half of one.
func writeHook(repoPath, script string) error {
	dir := filepath.Join(repoPath, "hooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write hook: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".post-receive-*")
	if err != nil {
		return fmt.Errorf("write hook: %w", err)
	}
	// Only reached on a failed write: after the rename there is nothing to
	// remove, and a leftover dot file in hooks/ is harmless.
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(script); err != nil {
		tmp.Close()
		return fmt.Errorf("write hook %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return fmt.Errorf("write hook %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write hook %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, "post-receive")); err != nil {
		return fmt.Errorf("write hook: %w", err)
	}
	return nil
}
