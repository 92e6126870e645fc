package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/spf13/afero"
)

// cronFile checks the file `gitship cron install` writes: it exists and
// runs this binary with this config.
func (d *Doctor) cronFile() Check {
	path := d.Config.CronFile
	b, err := afero.ReadFile(d.Fs, path)
	if errors.Is(err, fs.ErrNotExist) {
		return warn("cron.file", "no cron file at "+path+": certificates are not renewed, nothing is pruned or backed up",
			"gitship cron install")
	}
	if err != nil {
		return fail("cron.file", err.Error(), "make "+path+" readable, then gitship cron install")
	}
	content := string(b)
	var missing []string
	if d.Self != "" && !mentions(content, d.Self) {
		missing = append(missing, "this binary "+d.Self)
	}
	if d.Config.Path != "" && !mentions(content, d.Config.Path) {
		missing = append(missing, "this config "+d.Config.Path)
	}
	if len(missing) > 0 {
		return warn("cron.file", fmt.Sprintf("%s does not name %s", path, strings.Join(missing, " nor ")),
			"gitship cron install (with this binary and --config)")
	}
	return ok("cron.file", path+" runs "+d.Self)
}

// mentions says whether the cron file names s as a word (plain or
// shell-quoted, as `cron install` writes it).
func mentions(content, s string) bool {
	quoted := "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	for _, f := range strings.Fields(content) {
		if f == s || f == quoted {
			return true
		}
	}
	return strings.Contains(content, quoted)
}

// cronDaemons are the process names of the usual cron daemons.
var cronDaemons = []string{"cron", "crond", "cronie", "busybox-crond", "fcron", "dcron"}

// cronDaemon checks that some cron daemon runs: without one the cron file
// does nothing.
func (d *Doctor) cronDaemon() Check {
	names, err := d.Procs()
	if err != nil {
		return warn("cron.daemon", "list processes: "+err.Error(), "check that cron runs (systemctl status cron)")
	}
	for _, n := range names {
		if slices.Contains(cronDaemons, n) {
			return ok("cron.daemon", n+" runs")
		}
	}
	return warn("cron.daemon", "no cron daemon runs ("+strings.Join(cronDaemons, ", ")+"): the cron file does nothing",
		"apt install cron && systemctl enable --now cron")
}
