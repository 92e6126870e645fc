package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/state"
)

const timeFormat = "2006-01-02 15:04:05"

// ReleaseInfo is one release as `gitship releases` lists it (and prints
// with --json).
type ReleaseInfo struct {
	Release    string    `json:"release"` // v3
	Version    int       `json:"version"`
	Status     string    `json:"status"`
	Kind       string    `json:"kind"`
	RollbackOf int       `json:"rollback_of,omitempty"`
	Commit     string    `json:"commit"`
	Image      string    `json:"image"`
	Pruned     bool      `json:"pruned"`
	Created    time.Time `json:"created"`
	Finished   time.Time `json:"finished,omitzero"`
	// DurationSeconds is how long the deploy took (0 while it runs).
	DurationSeconds float64 `json:"duration_seconds"`
	Reason          string  `json:"reason,omitempty"`
	// Pushed is the image by digest in the [kube] registry (a release
	// of an app with target=kube).
	Pushed string `json:"pushed,omitempty"`
}

// Releases lists app's releases, newest first.
func (d *Deployer) Releases(app string) ([]ReleaseInfo, error) {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return nil, err
	}
	list, err := d.Store().List(app)
	if err != nil {
		return nil, err
	}
	out := make([]ReleaseInfo, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		r := list[i]
		out = append(out, ReleaseInfo{Release: r.Name(), Version: r.Version, Status: string(r.Status), Kind: r.Kind,
			RollbackOf: r.RollbackOf, Commit: r.Commit, Image: r.Image, Pushed: r.Pushed, Pruned: r.Pruned, Created: r.Created,
			Finished: r.Finished, DurationSeconds: r.Duration().Seconds(), Reason: r.Reason})
	}
	return out, nil
}

// WriteReleases prints the history of app, newest first.
func (d *Deployer) WriteReleases(w io.Writer, app string) error {
	list, err := d.Releases(app)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		_, err := fmt.Fprintf(w, "%s has no releases yet: push to deploy it\n", app)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tSTATUS\tKIND\tCOMMIT\tIMAGE\tCREATED\tDURATION\tREASON")
	for _, r := range list {
		image := r.Image
		if r.Pushed != "" {
			image = r.Pushed // what the cluster runs
		}
		dur := "-"
		if r.DurationSeconds > 0 {
			dur = fmt.Sprintf("%.1fs", r.DurationSeconds)
		}
		what := (&state.Record{Kind: r.Kind, RollbackOf: r.RollbackOf}).What()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Release, r.Status, what,
			hook.Short(r.Commit), dash(image)+prunedMark(&state.Record{Pruned: r.Pruned}), r.Created.Local().Format(timeFormat), dur, dash(r.Reason))
	}
	return tw.Flush()
}

// AppInfo is one app as `gitship apps` lists it (and prints with
// --json). Release, Commit, Container and LiveSince are empty when no
// release is live.
type AppInfo struct {
	Name    string `json:"name"`
	Release string `json:"release,omitempty"`
	Commit  string `json:"commit,omitempty"`
	// Target is where the live release runs (the app's setting when none
	// is live): "podman" (this host) or "kube".
	Target string `json:"target"`
	// Container is the state of the live release's container: "running",
	// "gone", ...; for target=kube its Deployments' "kube: 2/2 available".
	Container string    `json:"container,omitempty"`
	LiveSince time.Time `json:"live_since,omitzero"`
	URL       string    `json:"url"`
}

// Apps lists every app with its live release. When the container of a
// live release is gone the list is whole and the error names them and
// the command that brings them back.
func (d *Deployer) Apps(ctx context.Context) ([]AppInfo, error) {
	names, err := state.ListApps(d.Fs, d.Config.AppsDir())
	if err != nil {
		return nil, err
	}
	out := make([]AppInfo, 0, len(names))
	var gone []string
	var kubeErr error // the first read of the cluster that failed
	for _, n := range names {
		a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), n)
		if err != nil {
			return nil, err
		}
		live, err := d.Store().Live(n)
		if err != nil {
			return nil, err
		}
		info := AppInfo{Name: n, URL: URL(a.ServedDomains(d.Config.Domain)[0], d.Config.Nginx.Listen),
			Target: a.Settings.EffectiveTarget()}
		if IsKube(live) {
			info.Target = state.TargetKube
			info.Release, info.Commit, info.LiveSince = live.Name(), live.Commit, live.LiveSince
			ks, err := d.kubeStatus(ctx, live)
			info.Container = "kube: " + ks.summary()
			if err != nil {
				info.Container = "kube: unknown"
				if kubeErr == nil {
					kubeErr = err
				}
			}
		} else if live != nil {
			info.Target = state.TargetPodman
			cs, err := d.containerState(ctx, live, live.Container)
			if err != nil {
				gone = append(gone, n+" "+live.Name())
			}
			info.Release, info.Commit, info.Container, info.LiveSince = live.Name(), live.Commit, cs, live.LiveSince
		}
		out = append(out, info)
	}
	switch len(gone) {
	case 0:
		return out, kubeErr
	case 1:
		return out, usererr.New(fmt.Sprintf("the container of %s is gone", gone[0]), "`gitship boot` starts it again")
	}
	return out, usererr.New(fmt.Sprintf("the containers of %s are gone", strings.Join(gone, ", ")), "`gitship boot` starts them again")
}

// WriteApps prints every app with its live release. It lists every app,
// and then fails when the container of any live release is gone, naming
// them and the command that brings them back.
func (d *Deployer) WriteApps(ctx context.Context, w io.Writer) error {
	list, gone := d.Apps(ctx)
	if list == nil {
		return gone
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "no apps yet: create one with `gitship init APP`")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tRELEASE\tCOMMIT\tCONTAINER\tLIVE SINCE\tURL")
	for _, a := range list {
		if a.Release == "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\n", a.Name, a.URL)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, a.Release, hook.Short(a.Commit),
			a.Container, since(a.LiveSince, d.Now()), a.URL)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return gone
}

// AppStatus is what runs for an app, as `gitship status` shows it (and
// prints with --json). The fields from Release on are empty when no
// release is live.
type AppStatus struct {
	App         string            `json:"app"`
	Domains     []string          `json:"domains"`
	URL         string            `json:"url"`
	Certificate string            `json:"certificate"`
	Settings    []string          `json:"settings"`
	Release     string            `json:"release,omitempty"`
	Kind        string            `json:"kind,omitempty"`
	Commit      string            `json:"commit,omitempty"`
	LiveSince   time.Time         `json:"live_since,omitzero"`
	Image       string            `json:"image,omitempty"`
	Listens     string            `json:"listens,omitempty"`
	Containers  []ContainerStatus `json:"containers,omitempty"`
	Socket      string            `json:"socket,omitempty"`
	// Cron is the live release's scheduled jobs (CronError when they
	// could not be read).
	Cron      []JobStatus `json:"cron,omitempty"`
	CronError string      `json:"cron_error,omitempty"`
	// Warm is the release switched from that still runs for an instant
	// rollback (nil: none).
	Warm *WarmStatus `json:"warm,omitempty"`
	// Watch is the detached process that finishes the last switch
	// (nil: none runs).
	Watch *WatchStatus `json:"watch,omitempty"`
	// Target is where the live release runs (the app's setting when none
	// is live): "podman" (this host) or "kube". Kube is what the cluster
	// runs of a release with target=kube (KubeError when the cluster
	// could not be read).
	Target    string      `json:"target"`
	Kube      *KubeStatus `json:"kube,omitempty"`
	KubeError string      `json:"kube_error,omitempty"`
}

// ContainerStatus is one container of the live release in AppStatus.
type ContainerStatus struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Number int    `json:"number"`
	State  string `json:"state"` // "running, restarted 2 times", "gone", ...
}

// Status says what runs for app. When the live release's container is
// gone the status is whole and the error says so, with the command that
// brings it back.
func (d *Deployer) Status(ctx context.Context, app string) (*AppStatus, error) {
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return nil, err
	}
	live, err := d.Store().Live(app)
	if err != nil {
		return nil, err
	}
	domains := a.ServedDomains(d.Config.Domain)
	st := &AppStatus{App: a.Name, Domains: domains, URL: URL(domains[0], d.Config.Nginx.Listen),
		Certificate: d.certExpiry(a.Name, domains), Settings: a.Settings.Describe(), Target: a.Settings.EffectiveTarget()}
	if live == nil {
		return st, nil
	}
	st.Release, st.Kind, st.Commit, st.LiveSince = live.Name(), live.Kind, live.Commit, live.LiveSince
	if IsKube(live) {
		// on the cluster: its Deployments and Ingress, through the API
		st.Target, st.Image, st.Listens = state.TargetKube, live.Pushed, fmt.Sprintf("port %d", WebPort)
		st.Kube, err = d.kubeStatus(ctx, live)
		if err != nil {
			st.KubeError = oneLine(err.Error())
		}
		return st, err
	}
	st.Target = state.TargetPodman
	st.Image, st.Listens, st.Socket = live.Image, listens(live), live.Socket
	var gone error
	for _, p := range procsOf(live) {
		cs, err := d.containerState(ctx, live, p.Name)
		if gone == nil {
			gone = err
		}
		st.Containers = append(st.Containers, ContainerStatus{Name: p.Name, Type: p.Type, Number: p.Index, State: cs})
	}
	if st.Warm, err = d.warmOf(ctx, app); err != nil {
		return nil, err
	}
	st.Watch = d.watchStatus(app)
	if len(live.Cron) > 0 {
		jobs, err := d.Jobs(live.App)
		if err != nil {
			st.CronError = oneLine(err.Error())
		}
		st.Cron = jobs
	}
	return st, gone
}

// WriteStatus prints what runs for app: live release, since when, its
// container's state, domains and URL. When the live release's container
// is gone it says so and fails with the command that brings it back.
func (d *Deployer) WriteStatus(ctx context.Context, w io.Writer, app string) error {
	st, gone := d.Status(ctx, app)
	if st == nil {
		return gone
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "app:\t%s\n", st.App)
	fmt.Fprintf(tw, "domains:\t%s\n", strings.Join(st.Domains, ", "))
	fmt.Fprintf(tw, "url:\t%s\n", st.URL)
	fmt.Fprintf(tw, "certificate:\t%s\n", st.Certificate)
	fmt.Fprintf(tw, "settings:\t%s\n", strings.Join(st.Settings, " "))
	if st.Release == "" {
		fmt.Fprintf(tw, "release:\tnone live (push to deploy)\n")
		return tw.Flush()
	}
	fmt.Fprintf(tw, "release:\t%s (%s, %s)\n", st.Release, st.Kind, hook.Short(st.Commit))
	fmt.Fprintf(tw, "live since:\t%s (%s)\n", st.LiveSince.Local().Format(timeFormat), since(st.LiveSince, d.Now()))
	if st.Kube != nil {
		writeKubeStatus(tw, st)
		if err := tw.Flush(); err != nil {
			return err
		}
		return gone
	}
	fmt.Fprintf(tw, "image:\t%s\n", st.Image)
	fmt.Fprintf(tw, "listens:\t%s\n", st.Listens)
	for _, c := range st.Containers {
		cs := c.State
		if len(st.Containers) > 1 {
			cs += fmt.Sprintf(" (%s.%d)", c.Type, c.Number)
		}
		fmt.Fprintf(tw, "container:\t%s %s\n", c.Name, cs)
	}
	fmt.Fprintf(tw, "socket:\t%s\n", st.Socket)
	writeWarmStatus(tw, st, d.Now())
	writeCronStatus(tw, st)
	if err := tw.Flush(); err != nil {
		return err
	}
	return gone
}

// listens says what the release's web containers listen on: "port 5000
// (published on 127.0.0.1:41234)" or "socket".
func listens(rec *state.Record) string {
	if rec.Listen != state.ListenPort {
		return "socket"
	}
	var on []string
	for _, p := range webProcsOf(rec) {
		on = append(on, fmt.Sprintf("127.0.0.1:%d", p.Port))
	}
	return fmt.Sprintf("port %d (published on %s)", WebPort, strings.Join(on, ", "))
}

// containerState describes the container of the live release rec. When
// the container is gone (a reboot that lost it, someone's `podman rm`)
// it says "gone" and returns an error that says which command brings it
// back: boot starts the live release again from its record.
func (d *Deployer) containerState(ctx context.Context, rec *state.Record, name string) (string, error) {
	st, err := d.Runtime.Inspect(ctx, name)
	if errors.Is(err, container.ErrNotFound) {
		return "gone", &usererr.Error{Msg: fmt.Sprintf("%s %s's container %s is gone", rec.App, rec.Name(), name),
			Hint: "`gitship boot` starts it again", Err: err}
	}
	if err != nil {
		return "unknown (" + oneLine(err.Error()) + ")", nil
	}
	return describeState(st), nil
}

// describeState is a container's status and how often its restart
// policy restarted it: "running, restarted 2 times". (Podman 4.3 with
// runc on cgroup v1 never sets OOMKilled, so the reason is not shown:
// `gitship logs` has the app's last words, or their absence.)
func describeState(st container.State) string {
	s := st.Status
	switch {
	case st.Restarts == 1:
		s += ", restarted 1 time"
	case st.Restarts > 1:
		s += fmt.Sprintf(", restarted %d times", st.Restarts)
	}
	return s
}

func since(t, now time.Time) string {
	return now.Sub(t).Truncate(time.Second).String() + " ago"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
