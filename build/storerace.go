package build

import (
	"errors"
	"strings"
)

// ErrStoreChanged marks a build that failed because Podman's image store
// lost a layer or an image the build was using: something else (another
// gitship instance's prune, `podman rmi`, another tool sharing the store)
// removed it meanwhile. The same build may well succeed when run again.
var ErrStoreChanged = errors.New("podman's image store lost a layer the build was using (something else removed images meanwhile)")

// storeChanged says whether a build error is one of Podman's words for a
// layer or image that vanished during the build.
func storeChanged(msg string) bool {
	for _, s := range []string{"layer not known", "image not known"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
