package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// accessLogPerm is the mode of an app's access log: gitship's user and
// group read it (the watch) and write it (`nginx -t`, run as gitship's
// user, opens every log for writing), even after nginx's master made its
// worker user the owner (it does on `nginx -s reopen`, as logrotate's
// postrotate sends). Nobody else reads it: it holds clients' addresses.
const accessLogPerm fs.FileMode = 0o660

// AccessLog is the access log nginx writes for app's server blocks
// (nginx.Site.AccessLog): <root>/apps/APP/access.log, gone with the app.
func (d *Deployer) AccessLog(app string) string {
	return filepath.Join(d.appDir(app), "access.log")
}

// ensureAccessLog creates app's access log when it is missing, owned by
// gitship's user: nginx's master would create it as root, and a later
// `nginx -t` as gitship's user could then not open it.
func (d *Deployer) ensureAccessLog(app string) (string, error) {
	path := d.AccessLog(app)
	if _, err := d.Fs.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("access log of %s: %w", app, err)
	}
	if err := d.Fs.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("access log of %s: %w", app, err)
	}
	f, err := d.Fs.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, accessLogPerm)
	if err != nil {
		return "", fmt.Errorf("access log of %s: %w", app, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("access log of %s: %w", app, err)
	}
	// past the umask
	if err := d.Fs.Chmod(path, accessLogPerm); err != nil {
		return "", fmt.Errorf("access log of %s: %w", app, err)
	}
	return path, nil
}

// AccessLogOffset is where app's access log ends now: taken just before
// nginx is pointed at a new release, it is where the watch of that
// release starts reading (NewVerdict). A missing log is at 0.
func (d *Deployer) AccessLogOffset(app string) (int64, error) {
	fi, err := d.Fs.Stat(d.AccessLog(app))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("access log of %s: %w", app, err)
	}
	return fi.Size(), nil
}
