// Package hook is the git side of a deploy: it parses what post-receive reads
// on stdin, picks the update to deploy, creates the bare repository with its
// hook, resolves revisions and exports a commit's tree for the image build.
//
// Everything here goes through go-git, never the git CLI. post-receive runs
// after the refs are updated, so the objects are in place and go-git (which
// ignores git's quarantine variables) sees them.
package hook

import "errors"

// ErrNotOurs means InitRepo found something at the repository path that
// gitship did not create; it refuses to touch it.
var ErrNotOurs = errors.New("not created by gitship")

// ErrNoRevision means a revision does not name a commit in the repository.
var ErrNoRevision = errors.New("revision not found")

// ErrNoDockerfile means an exported tree has no build file at its root.
var ErrNoDockerfile = errors.New("no Dockerfile or Containerfile")
