package release

import (
	"strings"

	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// InstallCron writes content to path unless it holds exactly that already;
// it says whether it changed anything.
func InstallCron(fsys afero.Fs, path, content string) (bool, error) {
	if cur, err := afero.ReadFile(fsys, path); err == nil && string(cur) == content {
		return false, nil
	}
	if err := state.WriteAtomic(fsys, path, []byte(content), 0o644); err != nil {
		return false, err
	}
	return true, nil
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
