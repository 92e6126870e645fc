package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// Scheduled jobs: the app.json of a release's commit lists them, the
// release records them (state.Record.Cron), the cron file runs each as
// `gitship cron run APP ID` on its schedule, and that runs it once in a
// fresh container of the live release, keeping its last run under
// apps/APP/cron/ID.{json,log}.

// ErrNoJob is the answer for a job the live release does not have.
var ErrNoJob = errors.New("no such job")

// readCron records the jobs of the app.json in the exported commit dir:
// a malformed app.json fails the deploy before anything starts.
func (r *run) readCron(dir string) error {
	aj, _, err := hook.ReadAppJSON(dir)
	if err != nil {
		return err
	}
	r.rec.Cron = nil
	for _, j := range aj.Cron {
		r.rec.Cron = append(r.rec.Cron, state.CronJob{ID: j.ID, Schedule: j.Schedule, Command: j.Command})
	}
	if n := len(r.rec.Cron); n > 0 {
		r.p.Say("app.json: %d scheduled %s", n, plural(n, "job", "jobs"))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// AppJob is a scheduled job of an app's live release.
type AppJob struct {
	App string
	state.CronJob
}

// CronJobs are the jobs of every app's live release, by app then by
// their order in app.json.
func (d *Deployer) CronJobs() ([]AppJob, error) {
	apps, err := state.ListApps(d.Fs, d.Config.AppsDir())
	if err != nil {
		return nil, err
	}
	sort.Strings(apps)
	var out []AppJob
	for _, app := range apps {
		live, err := d.Store().Live(app)
		if err != nil {
			return nil, err
		}
		if live == nil || IsKube(live) { // a kube app's jobs are CronJobs
			continue
		}
		for _, j := range live.Cron {
			out = append(out, AppJob{App: app, CronJob: j})
		}
	}
	return out, nil
}

// cronHeader starts the cron file gitship writes: a file without it is
// someone else's, never rewritten by a deploy.
const cronHeader = "# written by `gitship cron install`"

// cronBoot is the line the command prefix is read back from.
const cronBoot = "@reboot root "

// CronFile is the cron file gitship installs: `boot` at reboot, certificate
// renewal twice a day (off the hour, as certbot asks), prune daily, the
// nightly backup of every app ([backup] dir and keep), and one line per scheduled job of a live release. bin and cfg are absolute
// paths: cron's environment is bare.
func CronFile(bin, cfg string, jobs []AppJob) string {
	return cronFile(fmt.Sprintf("%s --config %s", shellQuote(bin), shellQuote(cfg)), jobs)
}

// cronFile is CronFile with the command prefix ("BIN --config CFG").
func cronFile(cmd string, jobs []AppJob) string {
	lines := []string{
		cronHeader + "; run it again after moving gitship",
		"SHELL=/bin/sh",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		cronBoot + cmd + " boot",
		"17 3,15 * * * root " + cmd + " certs renew",
		"41 4 * * * root " + cmd + " prune",
		"23 2 * * * root " + cmd + " backup --all",
	}
	if len(jobs) > 0 {
		lines = append(lines, "# scheduled jobs of the live releases (app.json); rewritten when a release goes live")
	}
	for _, j := range jobs {
		lines = append(lines, fmt.Sprintf("%s root %s cron run %s %s", j.Schedule, cmd, j.App, j.ID))
	}
	return strings.Join(append(lines, ""), "\n")
}

// SyncCron rewrites the cron file with the jobs of the live releases,
// if it exists and gitship wrote it (`gitship cron install`), so that a
// release brings its schedule with it, and a rollback the old one back.
// It keeps the command prefix the file has (the binary and config that
// install named). It writes under a lock, atomically, and only when the
// content changes; it says whether it did.
func (d *Deployer) SyncCron(ctx context.Context) (bool, error) {
	path := d.Config.CronFile
	if path == "" {
		return false, nil
	}
	// no cron file (not installed): no lock to take
	if _, err := d.Fs.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	unlock, err := d.Locker.Lock(ctx, filepath.Join(d.Config.Root, "cron.lock"), nil)
	if err != nil {
		return false, err
	}
	defer unlock()
	cur, err := afero.ReadFile(d.Fs, path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the cron file: %w", err)
	}
	cmd, ok := cronCommandOf(string(cur))
	if !ok {
		return false, nil
	}
	jobs, err := d.CronJobs()
	if err != nil {
		return false, err
	}
	return InstallCron(d.Fs, path, cronFile(cmd, jobs))
}

// cronCommandOf reads the command prefix back from a cron file gitship
// wrote; ok is false for any other file.
func cronCommandOf(content string) (cmd string, ok bool) {
	if !strings.HasPrefix(content, cronHeader) {
		return "", false
	}
	for _, l := range strings.Split(content, "\n") {
		if rest, found := strings.CutPrefix(l, cronBoot); found {
			if cmd, found := strings.CutSuffix(rest, " boot"); found {
				return cmd, true
			}
		}
	}
	return "", false
}

// syncCron is SyncCron after a release went live: a failure is said,
// never the deploy's.
func (r *run) syncCron(ctx context.Context) {
	changed, err := r.d.SyncCron(ctx)
	if err != nil {
		r.p.Fail("could not update the cron file %s: %v", r.d.Config.CronFile, err)
		return
	}
	if changed {
		r.p.Say("Updated the scheduled jobs in %s", r.d.Config.CronFile)
	}
}

// JobRun is the last run of a scheduled job (apps/APP/cron/ID.json).
type JobRun struct {
	Release  string    `json:"release"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Exit is the job's exit status (-1: it did not run to its end; Error
	// says why).
	Exit  int    `json:"exit"`
	Error string `json:"error,omitempty"`
}

// IsFailed says whether the run finished with a failure.
func (j *JobRun) IsFailed() bool { return !j.Finished.IsZero() && (j.Exit != 0 || j.Error != "") }

func (d *Deployer) cronDir(app string) string { return filepath.Join(d.appDir(app), "cron") }

// LastRun is the last run of job id of app (nil: never run).
func (d *Deployer) LastRun(app, id string) (*JobRun, error) {
	b, err := afero.ReadFile(d.Fs, filepath.Join(d.cronDir(app), id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last run of job %s of %s: %w", id, app, err)
	}
	var jr JobRun
	if err := json.Unmarshal(b, &jr); err != nil {
		return nil, fmt.Errorf("last run of job %s of %s: %w", id, app, err)
	}
	return &jr, nil
}

func (d *Deployer) saveRun(app, id string, jr *JobRun) error {
	b, err := json.MarshalIndent(jr, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the run of job %s of %s: %w", id, app, err)
	}
	return state.WriteAtomic(d.Fs, filepath.Join(d.cronDir(app), id+".json"), append(b, '\n'), 0o600)
}

// job is job id of app's live release, and the release.
func (d *Deployer) job(ctx context.Context, app, id string) (*state.Record, state.CronJob, error) {
	rec, err := d.runRelease(ctx, app, 0)
	if err != nil {
		return nil, state.CronJob{}, err
	}
	for _, j := range rec.Cron {
		if j.ID == id {
			return rec, j, nil
		}
	}
	return nil, state.CronJob{}, &usererr.Error{Msg: fmt.Sprintf("%s %s has no scheduled job %s", app, rec.Name(), id),
		Hint: "see `gitship cron list " + app + "`", Err: ErrNoJob}
}

// RunJob runs job id of app's live release once, in a fresh container
// (as Run does), unless a run of it is still going: then it says so on
// out and returns 0, without starting another. Its output goes to out
// and to apps/APP/cron/ID.log (the last run's, bounded like the push
// log); its start, end and exit status to ID.json. It returns the job's
// exit status.
func (d *Deployer) RunJob(ctx context.Context, app, id string, out, errOut io.Writer) (int, error) {
	if err := d.onHostOnly(app, "`gitship cron run` (its jobs are CronJobs)"); err != nil {
		return -1, err
	}
	rec, job, err := d.job(ctx, app, id)
	if err != nil {
		return -1, err
	}
	dir := d.cronDir(app)
	if err := d.Fs.MkdirAll(dir, 0o700); err != nil {
		return -1, fmt.Errorf("create %s: %w", dir, err)
	}
	unlock, err := d.Locker.TryLock(filepath.Join(dir, id+".lock"))
	if errors.Is(err, ErrLocked) {
		since := "an unknown time"
		if last, lerr := d.LastRun(app, id); lerr == nil && last != nil {
			since = last.Started.Local().Format(timeFormat)
		}
		fmt.Fprintf(out, "job %s of %s is still running since %s: not started\n", id, app, since)
		return 0, nil
	}
	if err != nil {
		return -1, err
	}
	defer unlock()
	sh, err := d.Runtime.HasShell(ctx, rec.StartImage())
	if err != nil {
		return -1, err
	}
	argv, err := hook.Job{ID: job.ID, Command: job.Command, Schedule: job.Schedule}.Argv(sh)
	if err != nil {
		return -1, err
	}
	jr := &JobRun{Release: rec.Name(), Started: d.Now(), Exit: -1}
	if err := d.saveRun(app, id, jr); err != nil {
		return -1, err
	}
	logPath := filepath.Join(dir, id+".log")
	if err := d.Fs.Remove(logPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return -1, fmt.Errorf("remove the last output of job %s: %w", id, err)
	}
	log := &lockedWriter{w: &pushLog{fs: d.Fs, path: logPath}}
	name := onceName(app, ProcessCron+"-"+id, d.Instance)
	// Only a gitship killed during a run leaves this name behind: the
	// lock says no run of the job is going.
	if err := d.Runtime.Remove(ctx, name); err != nil {
		return -1, fmt.Errorf("a container named %s is in the way: %w", name, err)
	}
	code, err := d.runOnce(ctx, rec, name, ProcessCron, argv, nil,
		io.MultiWriter(out, log), io.MultiWriter(errOut, log))
	jr.Finished, jr.Exit = d.Now(), code
	if err != nil {
		jr.Error = oneLine(err.Error())
	}
	if serr := d.saveRun(app, id, jr); serr != nil && err == nil {
		err = serr
	}
	return code, err
}

// lockedWriter serialises the writes of a one-off container's stdout and
// stderr into one log.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// JobLog writes the kept output of the last run of job id of app.
func (d *Deployer) JobLog(app, id string, w io.Writer) error {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return err
	}
	f, err := d.Fs.Open(filepath.Join(d.cronDir(app), id+".log"))
	if errors.Is(err, fs.ErrNotExist) {
		return usererr.New(fmt.Sprintf("no output kept for job %s of %s (never run?)", id, app), "see `gitship cron list "+app+"`")
	}
	if err != nil {
		return fmt.Errorf("output of job %s of %s: %w", id, app, err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("output of job %s of %s: %w", id, app, err)
	}
	return nil
}

// JobStatus is a scheduled job of the live release and its last run.
type JobStatus struct {
	state.CronJob
	Last *JobRun `json:"last,omitempty"`
	// Problem says what is wrong ("" when nothing): the last run failed,
	// or the job has not run for twice its interval.
	Problem string `json:"problem,omitempty"`
}

// Jobs are the scheduled jobs of app's live release with their last runs.
func (d *Deployer) Jobs(app string) ([]JobStatus, error) {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return nil, err
	}
	live, err := d.Store().Live(app)
	if err != nil || live == nil {
		return nil, err
	}
	out := []JobStatus{}
	for _, j := range live.Cron {
		last, err := d.LastRun(app, j.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, JobStatus{CronJob: j, Last: last, Problem: d.jobProblem(live, j, last)})
	}
	return out, nil
}

// jobProblem says what is wrong with job j of the live release: its last
// run failed, or it has not run (since the release went live, or its
// last run) for twice its interval.
func (d *Deployer) jobProblem(live *state.Record, j state.CronJob, last *JobRun) string {
	if last != nil && last.IsFailed() {
		if last.Error != "" {
			return fmt.Sprintf("last run failed (%s): %s", last.Started.Local().Format(timeFormat), last.Error)
		}
		return fmt.Sprintf("last run failed with exit status %d (%s)", last.Exit, last.Started.Local().Format(timeFormat))
	}
	iv := hook.Job{ID: j.ID, Command: j.Command, Schedule: j.Schedule}.Interval()
	if iv <= 0 {
		return ""
	}
	from := live.LiveSince
	if last != nil && last.Started.After(from) {
		from = last.Started
	}
	if d.Now().Sub(from) > 2*iv {
		if last == nil {
			return fmt.Sprintf("has not run since %s went live, %s (scheduled %s: is `gitship cron install` done?)", live.Name(), since(live.LiveSince, d.Now()), j.Schedule)
		}
		return fmt.Sprintf("has not run for %s (scheduled %s)", d.Now().Sub(from).Truncate(time.Second), j.Schedule)
	}
	return ""
}

// WriteJobs prints the scheduled jobs of app's live release: id,
// schedule, last run and exit status, command.
func (d *Deployer) WriteJobs(w io.Writer, app string) error {
	jobs, err := d.Jobs(app)
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		_, err := fmt.Fprintf(w, "%s has no scheduled jobs (add an app.json with a cron list)\n", app)
		return err
	}
	fmt.Fprintf(w, "%-8s  %-16s  %-19s  %-6s  %s\n", "ID", "SCHEDULE", "LAST RUN", "EXIT", "COMMAND")
	for _, j := range jobs {
		last, exit := "never", "-"
		if j.Last != nil {
			last = j.Last.Started.Local().Format(timeFormat)
			switch {
			case j.Last.Finished.IsZero():
				exit = "running"
			case j.Last.Error != "" && j.Last.Exit < 0:
				exit = "error"
			default:
				exit = fmt.Sprint(j.Last.Exit)
			}
		}
		fmt.Fprintf(w, "%-8s  %-16s  %-19s  %-6s  %s\n", j.ID, j.Schedule, last, exit, j.Command)
	}
	return nil
}

// writeCronStatus adds the jobs of the live release that need a look to
// `gitship status`.
func writeCronStatus(w io.Writer, st *AppStatus) {
	if st.CronError != "" {
		fmt.Fprintf(w, "cron:\t%s\n", st.CronError)
		return
	}
	if len(st.Cron) == 0 {
		return
	}
	bad := 0
	for _, j := range st.Cron {
		if j.Problem != "" {
			bad++
			fmt.Fprintf(w, "cron:\tjob %s (%s) %s\n", j.ID, j.Command, j.Problem)
		}
	}
	if bad == 0 {
		fmt.Fprintf(w, "cron:\t%d %s, all well\n", len(st.Cron), plural(len(st.Cron), "job", "jobs"))
	}
}
