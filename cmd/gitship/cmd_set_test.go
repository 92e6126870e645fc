package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitship/gitship/state"
)

// The help of set and unset names every setting of state's table, with
// its help line.
func TestSetHelpNamesEveryKey(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "config.toml")
	for _, cmd := range []string{"set", "unset"} {
		code, stdout, stderr := runMain(t, missing, cmd, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d, stderr %s", cmd, code, stderr)
		}
		for _, sp := range state.Specs() {
			k := sp.Key
			if cmd == "set" {
				k += "=" + sp.Value
			}
			if !strings.Contains(stdout, " "+k+" ") || !strings.Contains(stdout, sp.Help) {
				t.Errorf("%s --help does not name %s with its help %q:\n%s", cmd, k, sp.Help, stdout)
			}
		}
	}
}
