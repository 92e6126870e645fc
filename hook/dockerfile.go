package hook

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// FindDockerfile returns the name of the build file at the root of dir:
// "Dockerfile" if present, else "Containerfile". Neither is an error
// matching ErrNoDockerfile. A build file that is not a regular file (a
// directory, or a symlink leading outside dir or nowhere) is an error too,
// rather than a silent fall-through to the other name.
func FindDockerfile(dir string) (string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("find Dockerfile: %w", err)
	}
	defer root.Close()
	for _, name := range []string{"Dockerfile", "Containerfile"} {
		ok, err := isBuildFile(root, name)
		if err != nil {
			return "", fmt.Errorf("%s at the root of %s: %w", name, dir, err)
		}
		if ok {
			return name, nil
		}
	}
	return "", fmt.Errorf("%w at the root of %s", ErrNoDockerfile, dir)
}

// isBuildFile reports whether name exists in root, and errors if it exists
// but is not (a symlink within root to) a regular file.
func isBuildFile(root *os.Root, name string) (bool, error) {
	if _, err := root.Lstat(name); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	fi, err := root.Stat(name) // follows a symlink, but only inside root
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() {
		return false, errors.New("not a regular file")
	}
	return true, nil
}
