package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/nginx"
)

// podman asks the Podman API service for its version and image store.
func (d *Doctor) podman(ctx context.Context) (container.Info, Check) {
	sock := d.Config.Podman.Socket
	ctx, cancel := d.service(ctx)
	defer cancel()
	info, err := d.Podman.Info(ctx)
	if err != nil {
		return info, fail("podman", err.Error(),
			"start the Podman API service (systemctl enable --now podman.socket), or set [podman] socket to where it listens")
	}
	return info, ok("podman", fmt.Sprintf("podman %s answers at %s (image store %s)", info.Version, sock, info.GraphRoot))
}

// buildkit checks buildkitd when builds use it: always with builder =
// "buildkit"; with "auto" when its socket exists (else builds use Podman,
// as meant).
func (d *Doctor) buildkit(ctx context.Context) Check {
	addr := d.Config.Buildkit.Address
	const fix = "start buildkitd (systemctl start buildkit, or buildkitd --addr %s)"
	switch d.Config.Builder {
	case "podman":
		return ok("buildkit", `not used (builder = "podman")`)
	case "auto":
		if path, isUnix := strings.CutPrefix(addr, "unix://"); isUnix {
			if _, err := d.Fs.Stat(path); err != nil {
				return ok("buildkit", fmt.Sprintf(`no buildkitd socket at %s: builds use Podman (builder = "auto")`, path))
			}
		}
	}
	ctx, cancel := d.service(ctx)
	defer cancel()
	err := d.BuildKit(ctx, addr)
	switch {
	case err == nil:
		return ok("buildkit", "buildkitd answers at "+addr)
	case d.Config.Builder == "auto":
		return warn("buildkit", err.Error()+` (builder = "auto": builds fall back to Podman)`, fmt.Sprintf(fix, addr))
	}
	return fail("buildkit", err.Error(), fmt.Sprintf(fix, addr)+`, or set builder = "auto"`)
}

// nginx checks the configuration (nginx -t), the master process a reload
// signals (and whose workers a switch waits for), and that the main
// configuration includes the per-app files.
func (d *Doctor) nginx(ctx context.Context) []Check {
	n := d.Config.Nginx
	var out []Check
	tctx, cancel := d.service(ctx)
	err := d.Nginx.Check(tctx)
	cancel()
	var conflict *nginx.ConflictError
	switch {
	case err == nil:
		out = append(out, ok("nginx.test", "nginx -t accepts "+n.Conf))
	case errors.As(err, &conflict):
		out = append(out, warn("nginx.test", err.Error(), "give the host name to one app only (`gitship domains remove APP DOMAIN`)"))
	default:
		out = append(out, fail("nginx.test", err.Error(),
			"correct or remove the file nginx names (`gitship nginx check` shows it again); a deploy cannot switch nginx until then"))
	}
	mctx, cancel := d.service(ctx)
	pid, pidFile, err := d.Nginx.Master(mctx)
	cancel()
	if err != nil {
		out = append(out, fail("nginx.master", err.Error(),
			"start nginx (systemctl start nginx); if it runs, set [nginx] pid to the pid file its master writes"))
	} else {
		out = append(out, ok("nginx.master", fmt.Sprintf("master process %d (pid file %s)", pid, pidFile)))
	}
	at, err := d.Nginx.ConfDirInclude()
	switch {
	case err == nil:
		out = append(out, ok("nginx.include", fmt.Sprintf("%s includes %s/*.conf", at, strings.TrimSuffix(n.ConfDir, "/"))))
	case errors.Is(err, nginx.ErrNoInclude):
		out = append(out, fail("nginx.include", err.Error()+": nginx never serves the apps",
			fmt.Sprintf("add `include %s/*.conf;` inside http { } of %s and reload nginx", strings.TrimSuffix(n.ConfDir, "/"), n.Conf)))
	default:
		out = append(out, fail("nginx.include", err.Error(), "make "+n.Conf+" readable and valid (nginx -t)"))
	}
	return out
}

// certbot checks that the certbot binary is there; without it `gitship
// certs` and the renewals of the cron file fail (a warning: TLS is
// optional).
func (d *Doctor) certbot() Check {
	bin := d.Config.Certbot.Binary
	p, err := d.LookPath(bin)
	if err != nil {
		return warn("certbot", fmt.Sprintf("no certbot at %s: certificates can be neither issued nor renewed", bin),
			"apt install certbot, or set [certbot] binary")
	}
	return ok("certbot", p)
}
