package hook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gitship/gitship/internal/usererr"
	"github.com/robfig/cron/v3"
)

// ErrBadAppJSON marks an app.json that cannot be used: the deploy stops
// before anything starts.
var ErrBadAppJSON = errors.New("bad app.json")

// AppJSON is what gitship reads of an app.json: Dokku's cron list. Other
// keys (Heroku's name, env, formation...) are ignored.
type AppJSON struct {
	Cron []Job
}

// Job is one scheduled job of app.json. ID is the first 8 hex digits of
// the SHA-256 of the schedule and the command: stable while the job is
// unchanged (so its history follows it from release to release) and new
// when either changes. Dokku derives its id the same way, from the same
// fields (plus the app name, which a gitship ID is always used beside).
type Job struct {
	ID       string `json:"id"`
	Command  string `json:"command"`
	Schedule string `json:"schedule"` // as written, runs of blanks made one space

	sched cron.Schedule // nil in a Job decoded from JSON: parsed on demand
}

// The schedule syntax: Dokku's (plugins/cron parses with robfig/cron and
// these flags): five fields, minute hour day-of-month month day-of-week,
// with names (jan, mon), ranges, lists and steps, or a descriptor
// (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly).
// Seconds are not supported.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule checks a cron schedule and returns its canonical spelling
// (fields separated by one space). Beyond what robfig/cron refuses, it
// refuses what the system cron that runs the jobs would not understand:
// @every, a TZ= or CRON_TZ= prefix and "?"; and a schedule that is never
// due, such as 0 0 30 2 *.
func ParseSchedule(s string) (string, cron.Schedule, error) {
	canon := strings.Join(strings.Fields(s), " ")
	switch {
	case canon == "":
		return "", nil, errors.New("no schedule")
	case strings.HasPrefix(canon, "@every"):
		return "", nil, errors.New("@every is not a cron schedule: write five fields, such as */5 * * * *")
	case strings.HasPrefix(canon, "TZ=") || strings.HasPrefix(canon, "CRON_TZ="):
		return "", nil, errors.New("a time zone prefix is not supported: jobs run in the server's time zone")
	case strings.Contains(canon, "?"):
		return "", nil, errors.New(`"?" is not understood by the system cron: use *`)
	}
	sched, err := cronParser.Parse(canon)
	if err != nil {
		return "", nil, err
	}
	if sched.Next(intervalFrom).IsZero() {
		return "", nil, errors.New("never due (no such date)")
	}
	return canon, sched, nil
}

// jobID is the stable ID of a job: see Job.
func jobID(schedule, command string) string {
	sum := sha256.Sum256([]byte(schedule + "\n" + command))
	return hex.EncodeToString(sum[:4])
}

func (j Job) schedule() cron.Schedule {
	if j.sched != nil {
		return j.sched
	}
	_, s, err := ParseSchedule(j.Schedule)
	if err != nil {
		return nil
	}
	return s
}

// Next is the first time the job is due after t, in t's location (the
// system cron runs jobs in the server's time zone). It is the zero time
// for a job whose schedule does not parse.
func (j Job) Next(t time.Time) time.Time {
	s := j.schedule()
	if s == nil {
		return time.Time{}
	}
	return s.Next(t)
}

// intervalFrom is a fixed Monday midnight UTC: Interval measures from it,
// so a job's interval is the same whenever it is asked.
var intervalFrom = time.Date(2001, time.January, 1, 0, 0, 0, 0, time.UTC)

// Interval is the longest gap between two consecutive runs of the job,
// over its runs in the first eight days (at least three runs) after a
// fixed Monday, in UTC. For a regular schedule it is the period (5m for
// */5 * * * *); for an irregular one the longest gap, so a weekday job's
// interval is the weekend (72h for 0 9 * * 1-5), and "not run for twice
// its interval" does not fire every Monday. Zero for a job whose schedule
// does not parse.
func (j Job) Interval() time.Duration {
	s := j.schedule()
	if s == nil {
		return 0
	}
	var longest time.Duration
	prev := s.Next(intervalFrom)
	for n := 1; ; n++ {
		next := s.Next(prev)
		if next.IsZero() || !next.After(prev) {
			return longest
		}
		longest = max(longest, next.Sub(prev))
		prev = next
		if n >= 2 && prev.Sub(intervalFrom) > 8*24*time.Hour {
			return longest
		}
	}
}

// Argv is the argv the job's container runs: see Argv.
func (j Job) Argv(hasShell bool) ([]string, error) {
	return argv(j.Command, hasShell, "app.json cron job "+j.ID+": ")
}

// ParseAppJSON reads an app.json. Empty (or blank) is no jobs, as in
// Dokku. Every cron job needs a command and a schedule (see
// ParseSchedule); a job listed twice is refused, since both would have
// the same ID. Errors are one line naming the job, an *usererr.Error
// wrapping ErrBadAppJSON.
func ParseAppJSON(r io.Reader) (AppJSON, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return AppJSON{}, fmt.Errorf("read app.json: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return AppJSON{}, nil
	}
	var doc struct {
		Cron []json.RawMessage `json:"cron"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return AppJSON{}, badAppJSON(fmt.Sprintf("app.json: %v", jsonError(b, err)))
	}
	var aj AppJSON
	seen := map[string]int{}
	for i, raw := range doc.Cron {
		n := i + 1
		var e struct {
			Command  *string `json:"command"`
			Schedule *string `json:"schedule"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return AppJSON{}, badAppJSON(fmt.Sprintf("app.json cron job %d: %v", n, jsonError(raw, err)))
		}
		if e.Command == nil || strings.TrimSpace(*e.Command) == "" {
			return AppJSON{}, badAppJSON(fmt.Sprintf("app.json cron job %d: no command", n))
		}
		cmd := strings.TrimSpace(*e.Command)
		if e.Schedule == nil {
			return AppJSON{}, badAppJSON(fmt.Sprintf("app.json cron job %d (%q): no schedule", n, cmd))
		}
		canon, sched, err := ParseSchedule(*e.Schedule)
		if err != nil {
			return AppJSON{}, badAppJSON(fmt.Sprintf("app.json cron job %d (%q): schedule %q: %v", n, cmd, *e.Schedule, err))
		}
		id := jobID(canon, cmd)
		if first, ok := seen[id]; ok {
			return AppJSON{}, badAppJSON(fmt.Sprintf("app.json cron jobs %d and %d are the same job (%q at %q)", first, n, cmd, canon))
		}
		seen[id] = n
		aj.Cron = append(aj.Cron, Job{ID: id, Command: cmd, Schedule: canon, sched: sched})
	}
	return aj, nil
}

// jsonError says where a syntax error is, as line:column, since
// encoding/json gives only a byte offset.
func jsonError(b []byte, err error) error {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	line := 1 + bytes.Count(b[:se.Offset], []byte("\n"))
	col := int(se.Offset) - bytes.LastIndexByte(b[:se.Offset], '\n') - 1
	return fmt.Errorf("line %d, column %d: %v", line, col, err)
}

func badAppJSON(msg string) error {
	return &usererr.Error{Msg: msg, Err: ErrBadAppJSON}
}

// ReadAppJSON parses the app.json at the root of dir. No app.json is not
// an error: ok is false and the app has no scheduled jobs.
func ReadAppJSON(dir string) (aj AppJSON, ok bool, err error) {
	b, ok, err := readManifest(dir, "app.json")
	if err != nil || !ok {
		return AppJSON{}, false, err
	}
	aj, err = ParseAppJSON(bytes.NewReader(b))
	if err != nil {
		return AppJSON{}, false, err
	}
	return aj, true, nil
}
