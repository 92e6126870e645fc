package hook

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// minShortSHA is git's shortest abbreviated object name.
const minShortSHA = 4

// noRevisionError reads `revision "x" not found in <repo>` and matches
// ErrNoRevision.
type noRevisionError struct {
	rev, repo string
	err       error
}

func (e *noRevisionError) Error() string {
	return fmt.Sprintf("revision %q not found in %s", e.rev, e.repo)
}

func (e *noRevisionError) Is(target error) bool { return target == ErrNoRevision }

func (e *noRevisionError) Unwrap() error { return e.err }

// Resolve turns rev (a branch or tag name, a full or abbreviated sha, HEAD,
// refs/heads/x, main~1, ...) into the full sha of a commit in the repository
// at repoPath. A revision that names no commit is an error matching
// ErrNoRevision.
//
// Like git, and unlike go-git alone, a name that is both a ref and a hex
// prefix means the ref, and an abbreviated sha that matches several commits
// is an error rather than a guess: a deployer must not build the wrong one.
func Resolve(repoPath, rev string) (string, error) {
	repo, err := git.PlainOpen(repoPath)
	if err != nil {
		return "", fmt.Errorf("resolve %q: open %s: %w", rev, repoPath, err)
	}
	full, err := resolve(repo, rev)
	// go-git reports walking past the root commit (main~5 of a 3-commit
	// history) as io.EOF.
	if errors.Is(err, plumbing.ErrReferenceNotFound) || errors.Is(err, plumbing.ErrObjectNotFound) || errors.Is(err, io.EOF) {
		return "", &noRevisionError{rev: rev, repo: repoPath, err: err}
	}
	if err != nil {
		return "", fmt.Errorf("resolve %q in %s: %w", rev, repoPath, err)
	}
	return full, nil
}

// resolve applies git's precedence: full sha, ref, abbreviated sha, then
// go-git's revision grammar for everything else.
func resolve(repo *git.Repository, rev string) (string, error) {
	if rev == "" || !isLowerHex(rev) || isSHA(rev) {
		h, err := repo.ResolveRevision(plumbing.Revision(rev))
		if err != nil {
			return "", err
		}
		return h.String(), nil
	}
	if ref, err := expandRef(repo, rev); err == nil {
		h, err := repo.ResolveRevision(plumbing.Revision(ref))
		if err != nil {
			return "", err
		}
		return h.String(), nil
	}
	return resolvePrefix(repo, rev)
}

// expandRef finds the ref a short name means, by git's rev-parse rules.
func expandRef(repo *git.Repository, name string) (plumbing.ReferenceName, error) {
	for _, rule := range plumbing.RefRevParseRules {
		full := plumbing.ReferenceName(fmt.Sprintf(rule, name))
		if _, err := storer.ResolveReference(repo.Storer, full); err == nil {
			return full, nil
		}
	}
	return "", plumbing.ErrReferenceNotFound
}

// resolvePrefix finds the one commit whose sha starts with prefix.
func resolvePrefix(repo *git.Repository, prefix string) (string, error) {
	if len(prefix) < minShortSHA {
		return "", plumbing.ErrReferenceNotFound
	}
	candidates, err := hashesWithPrefix(repo, prefix)
	if err != nil {
		return "", err
	}
	var found []string
	for _, h := range candidates {
		if _, err := repo.CommitObject(h); err == nil {
			found = append(found, h.String())
		}
	}
	switch {
	case len(found) == 0:
		return "", plumbing.ErrReferenceNotFound
	case len(found) > 1:
		return "", fmt.Errorf("short sha %s is ambiguous: %d commits match", prefix, len(found))
	}
	return found[0], nil
}

// prefixLister is what go-git's filesystem storage offers to look up an
// abbreviated sha in the pack indexes instead of reading every object.
type prefixLister interface {
	HashesWithPrefix(prefix []byte) ([]plumbing.Hash, error)
}

// hashesWithPrefix lists the objects whose sha starts with the hex prefix.
func hashesWithPrefix(repo *git.Repository, prefix string) ([]plumbing.Hash, error) {
	even, err := hex.DecodeString(prefix[:len(prefix)&^1])
	if err != nil {
		return nil, err
	}
	var all []plumbing.Hash
	if pl, ok := repo.Storer.(prefixLister); ok {
		all, err = pl.HashesWithPrefix(even)
	} else {
		all, err = scanHashes(repo, even)
	}
	if err != nil {
		return nil, err
	}
	var hashes []plumbing.Hash
	for _, h := range all {
		if strings.HasPrefix(h.String(), prefix) {
			hashes = append(hashes, h)
		}
	}
	return hashes, nil
}

// scanHashes is the slow path for storages without prefixLister.
func scanHashes(repo *git.Repository, prefix []byte) ([]plumbing.Hash, error) {
	iter, err := repo.Storer.IterEncodedObjects(plumbing.CommitObject)
	if err != nil {
		return nil, err
	}
	defer iter.Close()
	var hashes []plumbing.Hash
	err = iter.ForEach(func(o plumbing.EncodedObject) error {
		if h := o.Hash(); bytes.HasPrefix(h[:], prefix) {
			hashes = append(hashes, h)
		}
		return nil
	})
	return hashes, err
}
