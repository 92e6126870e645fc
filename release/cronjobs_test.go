package release

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/container"
	"github.com/spf13/afero"
)

const (
	appJSON1 = `{"cron": [{"command": "/web report", "schedule": "*/5 * * * *"}]}`
	appJSON2 = `{"cron": [{"command": "/web cleanup", "schedule": "@daily"}]}`
)

// cronEnv is an OS env whose cron file was written by `cron install`.
func cronEnv(t *testing.T) *env {
	e := newOsEnv(t)
	e.d.Config.CronFile = filepath.Join(e.d.Config.Root, "cron.d-gitship")
	if _, err := InstallCron(e.d.Fs, e.d.Config.CronFile, CronFile("/usr/bin/gitship", "/etc/gitship/config.toml", nil)); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) cronFile(t *testing.T) string {
	t.Helper()
	b, err := afero.ReadFile(e.d.Fs, e.d.Config.CronFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCronFollowsTheLiveRelease: a release records its app.json jobs and
// rewrites the cron file gitship wrote when it goes live; a rollback
// brings the old schedule back.
func TestCronFollowsTheLiveRelease(t *testing.T) {
	e := cronEnv(t)
	e.src.files["app.json"] = appJSON1
	r1 := e.mustDeploy(t, sha1)
	if len(r1.Cron) != 1 || r1.Cron[0].Command != "/web report" || r1.Cron[0].Schedule != "*/5 * * * *" {
		t.Fatalf("v1 jobs %+v", r1.Cron)
	}
	line1 := "*/5 * * * * root /usr/bin/gitship --config /etc/gitship/config.toml cron run demo " + r1.Cron[0].ID + "\n"
	if got := e.cronFile(t); !strings.Contains(got, line1) || !strings.Contains(got, "@reboot root /usr/bin/gitship --config /etc/gitship/config.toml boot\n") {
		t.Fatalf("cron file after v1:\n%s", got)
	}
	e.src.files["app.json"] = appJSON2
	r2 := e.mustDeploy(t, sha2)
	if got := e.cronFile(t); strings.Contains(got, line1) || !strings.Contains(got, "@daily root /usr/bin/gitship --config /etc/gitship/config.toml cron run demo "+r2.Cron[0].ID+"\n") {
		t.Fatalf("cron file after v2:\n%s", got)
	}
	if _, err, out := e.rollback(t, "v1"); err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if got := e.cronFile(t); !strings.Contains(got, line1) || strings.Contains(got, "@daily") {
		t.Fatalf("cron file after the rollback:\n%s", got)
	}
}

// TestCronFileNotOurs: a cron file someone else wrote is left alone.
func TestCronFileNotOurs(t *testing.T) {
	e := newOsEnv(t)
	e.d.Config.CronFile = filepath.Join(e.d.Config.Root, "cron.d-gitship")
	if err := afero.WriteFile(e.d.Fs, e.d.Config.CronFile, []byte("* * * * * root true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.src.files["app.json"] = appJSON1
	e.mustDeploy(t, sha1)
	if got := e.cronFile(t); got != "* * * * * root true\n" {
		t.Errorf("someone else's cron file rewritten:\n%s", got)
	}
}

func TestBadAppJSONFailsTheDeploy(t *testing.T) {
	e := newOsEnv(t)
	e.src.files["app.json"] = `{"cron": [{"command": "x", "schedule": "61 * * * *"}]}`
	_, err, out := e.deploy(t, sha1)
	if err == nil || !strings.Contains(err.Error(), `app.json cron job 1 ("x"): schedule "61 * * * *"`) {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	if len(e.rt.specs) != 0 {
		t.Errorf("containers started: %d", len(e.rt.specs))
	}
}

// TestRunJob: a job runs in a cron container of the live release, its
// output and exit status are kept, a second run while the first goes
// says so and starts nothing, and status shows a failed job.
func TestRunJob(t *testing.T) {
	e := newOsEnv(t)
	e.src.files["app.json"] = appJSON1
	r := e.mustDeploy(t, sha1)
	id := r.Cron[0].ID
	e.rt.noShell = true // a FROM scratch image: the job's words run as they are
	var second strings.Builder
	var secondCode int
	e.rt.runFn = func(ctx context.Context, s container.Spec, stdout io.Writer) (int, error) {
		io.WriteString(stdout, "reporting\n")
		code, err := e.d.RunJob(ctx, "demo", id, &second, io.Discard)
		if err != nil {
			t.Errorf("second run: %v", err)
		}
		secondCode = code
		return 3, nil
	}
	var out strings.Builder
	code, err := e.d.RunJob(t.Context(), "demo", id, &out, io.Discard)
	if err != nil || code != 3 {
		t.Fatalf("RunJob = %d, %v; want 3", code, err)
	}
	if len(e.rt.runs) != 1 {
		t.Fatalf("%d runs, want 1 (the second must not start)", len(e.rt.runs))
	}
	if s := e.rt.runs[0]; s.Process != ProcessCron || s.Name != "gitship-demo-cron-"+id || strings.Join(s.Command, " ") != "/web report" {
		t.Errorf("spec %+v", s)
	}
	if !strings.Contains(second.String(), "job "+id+" of demo is still running since") || secondCode != 0 {
		t.Errorf("second run: %d %q", secondCode, second.String())
	}
	var log strings.Builder
	if err := e.d.JobLog("demo", id, &log); err != nil || log.String() != "reporting\n" {
		t.Errorf("job log %q, %v", log.String(), err)
	}
	jobs, err := e.d.Jobs("demo")
	if err != nil || len(jobs) != 1 || jobs[0].Last == nil || jobs[0].Last.Exit != 3 || jobs[0].Last.Finished.IsZero() {
		t.Fatalf("jobs %+v, %v", jobs, err)
	}
	var st strings.Builder
	if err := e.d.WriteStatus(t.Context(), &st, "demo"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.String(), "job "+id+" (/web report) last run failed with exit status 3") {
		t.Errorf("status:\n%s", st.String())
	}
	if _, err := e.d.RunJob(t.Context(), "demo", "nosuch", io.Discard, io.Discard); !errors.Is(err, ErrNoJob) {
		t.Errorf("unknown job: %v", err)
	}
}

// TestJobOverdue: a job that has not run for twice its interval shows in
// status; one that ran lately does not.
func TestJobOverdue(t *testing.T) {
	e := newOsEnv(t)
	e.src.files["app.json"] = appJSON1
	r := e.mustDeploy(t, sha1)
	now := r.LiveSince.Add(9 * time.Minute)
	e.d.Now = func() time.Time { return now }
	if jobs, _ := e.d.Jobs("demo"); jobs[0].Problem != "" {
		t.Errorf("9m after going live: %q", jobs[0].Problem)
	}
	now = r.LiveSince.Add(11 * time.Minute)
	if jobs, _ := e.d.Jobs("demo"); !strings.Contains(jobs[0].Problem, "has not run since v1 went live") {
		t.Errorf("11m after going live: %q", jobs[0].Problem)
	}
	if _, err := e.d.RunJob(t.Context(), "demo", r.Cron[0].ID, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := e.d.Jobs("demo"); jobs[0].Problem != "" {
		t.Errorf("just after a run: %q", jobs[0].Problem)
	}
	now = now.Add(11 * time.Minute)
	if jobs, _ := e.d.Jobs("demo"); !strings.Contains(jobs[0].Problem, "has not run for 11m0s") {
		t.Errorf("11m after a run: %q", jobs[0].Problem)
	}
}
