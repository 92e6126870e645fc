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

// WriteReleases prints the history of app, newest first.
func (d *Deployer) WriteReleases(w io.Writer, app string) error {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return err
	}
	list, err := d.Store().List(app)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		_, err := fmt.Fprintf(w, "%s has no releases yet: push to deploy it\n", app)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tSTATUS\tKIND\tCOMMIT\tIMAGE\tCREATED\tDURATION\tREASON")
	for i := len(list) - 1; i >= 0; i-- {
		r := list[i]
		dur := "-"
		if r.Duration() > 0 {
			dur = fmt.Sprintf("%.1fs", r.Duration().Seconds())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name(), r.Status, r.What(),
			hook.Short(r.Commit), dash(r.Image)+prunedMark(r), r.Created.Local().Format(timeFormat), dur, dash(r.Reason))
	}
	return tw.Flush()
}

// WriteApps prints every app with its live release. It lists every app,
// and then fails when the container of any live release is gone, naming
// them and the command that brings them back.
func (d *Deployer) WriteApps(ctx context.Context, w io.Writer) error {
	names, err := state.ListApps(d.Fs, d.Config.AppsDir())
	if err != nil {
		return err
	}
	if len(names) == 0 {
		_, err := fmt.Fprintln(w, "no apps yet: create one with `gitship init APP`")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tRELEASE\tCOMMIT\tCONTAINER\tLIVE SINCE\tURL")
	var gone []string
	for _, n := range names {
		a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), n)
		if err != nil {
			return err
		}
		live, err := d.Store().Live(n)
		if err != nil {
			return err
		}
		url := URL(a.ServedDomains(d.Config.Domain)[0], d.Config.Nginx.Listen)
		if live == nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\n", n, url)
			continue
		}
		cs, err := d.containerState(ctx, live, live.Container)
		if err != nil {
			gone = append(gone, n+" "+live.Name())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n, live.Name(), hook.Short(live.Commit),
			cs, since(live.LiveSince, d.Now()), url)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch len(gone) {
	case 0:
		return nil
	case 1:
		return usererr.New(fmt.Sprintf("the container of %s is gone", gone[0]), "`gitship boot` starts it again")
	}
	return usererr.New(fmt.Sprintf("the containers of %s are gone", strings.Join(gone, ", ")), "`gitship boot` starts them again")
}

// WriteStatus prints what runs for app: live release, since when, its
// container's state, domains and URL. When the live release's container
// is gone it says so and fails with the command that brings it back.
func (d *Deployer) WriteStatus(ctx context.Context, w io.Writer, app string) error {
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return err
	}
	live, err := d.Store().Live(app)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "app:\t%s\n", a.Name)
	fmt.Fprintf(tw, "domains:\t%s\n", strings.Join(a.ServedDomains(d.Config.Domain), ", "))
	fmt.Fprintf(tw, "url:\t%s\n", URL(a.ServedDomains(d.Config.Domain)[0], d.Config.Nginx.Listen))
	fmt.Fprintf(tw, "certificate:\t%s\n", d.certExpiry(a.Name, a.ServedDomains(d.Config.Domain)))
	fmt.Fprintf(tw, "settings:\t%s\n", strings.Join(a.Settings.Describe(), " "))
	if live == nil {
		fmt.Fprintf(tw, "release:\tnone live (push to deploy)\n")
		return tw.Flush()
	}
	fmt.Fprintf(tw, "release:\t%s (%s, %s)\n", live.Name(), live.Kind, hook.Short(live.Commit))
	fmt.Fprintf(tw, "live since:\t%s (%s)\n", live.LiveSince.Local().Format(timeFormat), since(live.LiveSince, d.Now()))
	fmt.Fprintf(tw, "image:\t%s\n", live.Image)
	fmt.Fprintf(tw, "listens:\t%s\n", listens(live))
	var gone error
	procs := procsOf(live)
	for _, p := range procs {
		cs, err := d.containerState(ctx, live, p.Name)
		if gone == nil {
			gone = err
		}
		if len(procs) > 1 {
			cs += fmt.Sprintf(" (%s.%d)", p.Type, p.Index)
		}
		fmt.Fprintf(tw, "container:\t%s %s\n", p.Name, cs)
	}
	fmt.Fprintf(tw, "socket:\t%s\n", live.Socket)
	d.writeCronStatus(tw, live)
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
