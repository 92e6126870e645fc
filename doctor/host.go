package doctor

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// The real implementations of Doctor's host functions, for the wiring.

// ProcNames returns the command name (comm) of every process under
// procDir (/proc).
func ProcNames(procDir string) ([]string, error) {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "comm"))
		if err != nil {
			continue // it ended meanwhile
		}
		out = append(out, strings.TrimSpace(string(b)))
	}
	return out, nil
}

// LookupUser returns a user's uid and every group it is in.
func LookupUser(name string) (uid int, gids []int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, nil, err
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, nil, fmt.Errorf("user %s: uid %q is not numeric", name, u.Uid)
	}
	ids, err := u.GroupIds()
	if err != nil {
		ids = []string{u.Gid}
	}
	for _, s := range ids {
		if g, err := strconv.Atoi(s); err == nil {
			gids = append(gids, g)
		}
	}
	return uid, gids, nil
}

// Me is the identity this process runs as.
func Me() Identity {
	gids, _ := os.Getgroups()
	return Identity{UID: os.Geteuid(), GIDs: append(gids, os.Getegid())}
}

// Dial connects to addr and hangs up.
func Dial(ctx context.Context, network, addr string) error {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return err
	}
	return c.Close()
}
