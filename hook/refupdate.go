package hook

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// RefUpdate is one line of post-receive's stdin: "<old-sha> <new-sha> <refname>".
type RefUpdate struct{ Old, New, Ref string }

// IsDelete reports whether the update deletes the ref (its new sha is all zeros).
func (u RefUpdate) IsDelete() bool { return isZero(u.New) }

// IsCreate reports whether the update creates the ref (its old sha is all zeros).
func (u RefUpdate) IsCreate() bool { return isZero(u.Old) }

// Branch returns the branch name of a refs/heads/ ref, and false for any
// other ref (tags, notes, ...).
func (u RefUpdate) Branch() (string, bool) {
	name, ok := strings.CutPrefix(u.Ref, "refs/heads/")
	if !ok || name == "" {
		return "", false
	}
	return name, true
}

// ParseRefUpdates reads every "<old-sha> <new-sha> <refname>" line of r.
// A malformed line is an error naming its number and content: it is never
// skipped, since a skipped line could be the push that should have deployed.
// Empty input gives an empty slice; a trailing newline and \r\n endings are
// tolerated.
func ParseRefUpdates(r io.Reader) ([]RefUpdate, error) {
	updates := []RefUpdate{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		u, err := parseRefLine(line)
		if err != nil {
			return nil, fmt.Errorf("ref update line %d %q: %w", n, line, err)
		}
		updates = append(updates, u)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ref update line %d: %w", n+1, err)
	}
	return updates, nil
}

// parseRefLine checks one line; git writes single spaces, so anything else
// is malformed rather than tolerated.
func parseRefLine(line string) (RefUpdate, error) {
	f := strings.Split(line, " ")
	if len(f) != 3 {
		return RefUpdate{}, fmt.Errorf(`want "<old-sha> <new-sha> <refname>", got %d fields`, len(f))
	}
	u := RefUpdate{Old: f[0], New: f[1], Ref: f[2]}
	if !isSHA(u.Old) {
		return RefUpdate{}, fmt.Errorf("old sha %q is not 40 or 64 lowercase hex digits", u.Old)
	}
	if !isSHA(u.New) {
		return RefUpdate{}, fmt.Errorf("new sha %q is not 40 or 64 lowercase hex digits", u.New)
	}
	if len(u.Old) != len(u.New) {
		return RefUpdate{}, fmt.Errorf("old and new sha differ in length (%d and %d)", len(u.Old), len(u.New))
	}
	if !strings.HasPrefix(u.Ref, "refs/") || len(u.Ref) == len("refs/") {
		return RefUpdate{}, fmt.Errorf("ref %q does not start with refs/", u.Ref)
	}
	return u, nil
}

// Pick returns the update to deploy for branch, and a message for the pusher
// about every other update. deploy is nil when nothing is to be deployed.
func Pick(updates []RefUpdate, branch string) (deploy *RefUpdate, notes []string) {
	for i := range updates {
		u := updates[i]
		if b, ok := u.Branch(); ok && b == branch && !u.IsDelete() && deploy == nil {
			deploy = &u
			continue
		}
		notes = append(notes, note(u, branch))
	}
	return deploy, notes
}

// note says why u is not deployed.
func note(u RefUpdate, branch string) string {
	if b, ok := u.Branch(); ok {
		switch {
		case u.IsDelete():
			return fmt.Sprintf("branch %s deleted: nothing deployed", b)
		case b == branch:
			return fmt.Sprintf("push to %s: already deploying another update of %q, ignored", u.Ref, branch)
		default:
			return fmt.Sprintf("push to %s: not the deploy branch %q, nothing deployed", u.Ref, branch)
		}
	}
	if tag, ok := strings.CutPrefix(u.Ref, "refs/tags/"); ok {
		if u.IsDelete() {
			return fmt.Sprintf("tag %s deleted: not deployed", tag)
		}
		return fmt.Sprintf("tag %s: not deployed", tag)
	}
	return fmt.Sprintf("push to %s: not a branch, nothing deployed", u.Ref)
}

// isSHA reports whether s is a full SHA-1 or SHA-256 object name in
// lowercase hex, as git writes them.
func isSHA(s string) bool {
	return (len(s) == 40 || len(s) == 64) && isLowerHex(s)
}

// isLowerHex reports whether s is non-empty and only 0-9a-f.
func isLowerHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isZero reports whether s is a non-empty run of zeros, git's null sha.
func isZero(s string) bool {
	return s != "" && strings.Trim(s, "0") == ""
}

// Short returns the first 12 hex digits of a sha (all of it if shorter).
func Short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
