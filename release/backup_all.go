package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/state"
)

// backupStamp is the time in a nightly backup's name, in UTC: names
// sort as times do.
const backupStamp = "20060102T150405Z"

// BackupAll is the nightly backup (`gitship backup --all`, from the cron
// file): every app's data dir, as Backup writes it, into
// [backup] dir/APP/APP-YYYYMMDDTHHMMSSZ.tar.gz, keeping the newest
// [backup] keep of each app. An app with no data dir yet (never
// released) is skipped. A backup that fails does not stop the others;
// the error names every app whose backup failed.
func (d *Deployer) BackupAll(ctx context.Context, p *Progress) error {
	apps, err := state.ListApps(d.Fs, d.Config.AppsDir())
	if err != nil {
		return err
	}
	sort.Strings(apps)
	var failed []string
	for _, app := range apps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if live, err := d.Store().Live(app); err == nil && IsKube(live) {
			p.Say("%s: runs on Kubernetes, its /data is the cluster's claim: not backed up here", app)
			continue
		}
		if _, err := os.Stat(d.dataDir(app)); errors.Is(err, os.ErrNotExist) {
			p.Say("%s: no data dir yet, nothing to back up", app)
			continue
		}
		if err := d.backupInto(ctx, app, p); err != nil {
			p.Fail("backup of %s: %v", app, err)
			failed = append(failed, app)
		}
	}
	if len(failed) > 0 {
		return usererr.New(fmt.Sprintf("the backup of %d of %d apps failed: %s", len(failed), len(apps), strings.Join(failed, ", ")), "see the lines above")
	}
	return nil
}

// backupInto writes app's nightly backup and removes the oldest beyond
// [backup] keep.
func (d *Deployer) backupInto(ctx context.Context, app string, p *Progress) error {
	dir := filepath.Join(d.Config.Backup.Dir, app)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, app+"-"+d.Now().UTC().Format(backupStamp)+".tar.gz")
	if err := d.BackupToFile(ctx, app, path, p); err != nil {
		return err
	}
	p.Say("%s: backup %s", app, path)
	return rotateBackups(dir, app, d.Config.Backup.Keep)
}

// rotateBackups removes app's oldest nightly backups in dir beyond the
// newest keep; other files are left alone.
func rotateBackups(dir, app string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("rotate the backups of %s: %w", app, err)
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(app) + `-[0-9]{8}T[0-9]{6}Z\.tar\.gz$`)
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && re.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	var errs []error
	for i := 0; i < len(names)-keep; i++ {
		if err := os.Remove(filepath.Join(dir, names[i])); err != nil {
			errs = append(errs, fmt.Errorf("rotate the backups of %s: %w", app, err))
		}
	}
	return errors.Join(errs...)
}
