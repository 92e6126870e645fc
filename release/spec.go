package release

import (
	"strconv"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/state"
)

// releaseSpec is what every container of release rec has in common, its
// web process, a one-off run or a cron job alike: the image (by ID), the
// environment, /data with the app's data group dataGID, the labels and
// the limits. The caller names it and adds what its kind needs (a socket
// dir and nginx's group for a web process).
func (d *Deployer) releaseSpec(rec *state.Record, dataGID int, mem int64, cpus float64) container.Spec {
	return container.Spec{
		Image: rec.StartImage(), DataDir: d.dataDir(rec.App),
		Env: releaseEnv(rec),
		Labels: map[string]string{
			container.LabelApp: rec.App, container.LabelRelease: rec.Name(),
			container.LabelCommit: rec.Commit, container.LabelRoot: d.Config.Root,
		},
		Network: d.Config.Podman.Network,
		Groups:  []string{strconv.Itoa(dataGID)},
		Memory:  mem,
		CPUs:    cpus,
	}
}

// releaseEnv is release rec's environment: the app's own, then gitship's,
// which always wins (GITSHIP_* keys are reserved).
func releaseEnv(rec *state.Record) map[string]string {
	env := make(map[string]string, len(rec.Env)+5)
	for k, v := range rec.Env {
		env[k] = v
	}
	env["GITSHIP_APP"] = rec.App
	env["GITSHIP_RELEASE"] = rec.Name()
	env["GITSHIP_COMMIT"] = rec.Commit
	env["GITSHIP_SOCKET"] = container.SocketPath
	env["GITSHIP_DATA"] = container.DataMount
	return env
}
