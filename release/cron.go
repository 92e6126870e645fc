package release

import (
	"fmt"
	"strings"

	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// CronFile is the cron file gitship installs: `boot` at reboot, certificate
// renewal twice a day (off the hour, as certbot asks) and prune daily.
// bin and cfg are absolute paths: cron's environment is bare.
func CronFile(bin, cfg string) string {
	cmd := fmt.Sprintf("%s --config %s", shellQuote(bin), shellQuote(cfg))
	return strings.Join([]string{
		"# written by `gitship cron install`; run it again after moving gitship",
		"SHELL=/bin/sh",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"@reboot root " + cmd + " boot",
		"17 3,15 * * * root " + cmd + " certs renew",
		"41 4 * * * root " + cmd + " prune",
		"",
	}, "\n")
}

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
