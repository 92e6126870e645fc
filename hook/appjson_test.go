package hook

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/internal/usererr"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in       string
		canon    string
		interval time.Duration
		err      string
	}{
		{in: "*/5 * * * *", canon: "*/5 * * * *", interval: 5 * time.Minute},
		{in: "* * * * *", canon: "* * * * *", interval: time.Minute},
		{in: " 0  1\t* * * ", canon: "0 1 * * *", interval: 24 * time.Hour},
		{in: "0 9 * * 1-5", canon: "0 9 * * 1-5", interval: 72 * time.Hour},
		{in: "*/5 9-17 * * mon-fri", canon: "*/5 9-17 * * mon-fri", interval: 63*time.Hour + 5*time.Minute},
		{in: "15,45 */2 * JAN-jun 0", canon: "15,45 */2 * JAN-jun 0", interval: 6*24*time.Hour + 90*time.Minute},
		{in: "0 0 1 * *", canon: "0 0 1 * *", interval: 31 * 24 * time.Hour},
		{in: "0 0 29 2 *", canon: "0 0 29 2 *", interval: (4*365 + 1) * 24 * time.Hour},
		{in: "@hourly", canon: "@hourly", interval: time.Hour},
		{in: "@daily", canon: "@daily", interval: 24 * time.Hour},
		{in: "@midnight", canon: "@midnight", interval: 24 * time.Hour},
		{in: "@weekly", canon: "@weekly", interval: 7 * 24 * time.Hour},
		{in: "@monthly", canon: "@monthly", interval: 31 * 24 * time.Hour},
		{in: "@yearly", canon: "@yearly", interval: 365 * 24 * time.Hour},
		{in: "@annually", canon: "@annually", interval: 365 * 24 * time.Hour},

		{in: "", err: "no schedule"},
		{in: "* * * *", err: "expected exactly 5 fields, found 4"},
		{in: "0 * * * * *", err: "expected exactly 5 fields, found 6"},
		{in: "60 * * * *", err: "above maximum"},
		{in: "* 24 * * *", err: "above maximum"},
		{in: "* * 0 * *", err: "below minimum"},
		{in: "* * * 13 *", err: "above maximum"},
		{in: "* * * * 8", err: "above maximum"},
		{in: "*/0 * * * *", err: "step of range should be a positive number"},
		{in: "a * * * *", err: "failed to parse int from a"},
		{in: "@reboot", err: "unrecognized descriptor"},
		{in: "@every 5m", err: "@every is not a cron schedule"},
		{in: "TZ=Europe/Paris 0 1 * * *", err: "time zone prefix"},
		{in: "CRON_TZ=UTC 0 1 * * *", err: "time zone prefix"},
		{in: "0 0 ? * 1", err: `"?" is not understood by the system cron`},
		{in: "0 0 30 2 *", err: "never due"},
	}
	for _, tt := range tests {
		canon, sched, err := ParseSchedule(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseSchedule(%q) = %q, %v; want error %q", tt.in, canon, err, tt.err)
			}
			continue
		}
		if err != nil || canon != tt.canon || sched == nil {
			t.Errorf("ParseSchedule(%q) = %q, %v; want %q", tt.in, canon, err, tt.canon)
			continue
		}
		j := Job{Schedule: canon}
		if got := j.Interval(); got != tt.interval {
			t.Errorf("Interval(%q) = %v, want %v", tt.in, got, tt.interval)
		}
	}
}

func TestJobNext(t *testing.T) {
	at := time.Date(2024, time.March, 8, 10, 2, 30, 0, time.UTC) // a Friday
	tests := []struct {
		schedule string
		want     time.Time
	}{
		{"*/5 * * * *", time.Date(2024, 3, 8, 10, 5, 0, 0, time.UTC)},
		{"@hourly", time.Date(2024, 3, 8, 11, 0, 0, 0, time.UTC)},
		{"0 9 * * 1-5", time.Date(2024, 3, 11, 9, 0, 0, 0, time.UTC)},
		{"0 0 29 2 *", time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		aj, err := ParseAppJSON(strings.NewReader(`{"cron":[{"command":"x","schedule":"` + tt.schedule + `"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := aj.Cron[0].Next(at); !got.Equal(tt.want) {
			t.Errorf("Next(%q) = %v, want %v", tt.schedule, got, tt.want)
		}
	}
	// In the server's time zone: 09:00 local, whatever the offset.
	paris := time.FixedZone("CET", 3600)
	j := Job{Schedule: "0 9 * * *"}
	if got, want := j.Next(at.In(paris)), time.Date(2024, 3, 9, 9, 0, 0, 0, paris); !got.Equal(want) {
		t.Errorf("Next in CET = %v, want %v", got, want)
	}
	if got := (Job{Schedule: "nope"}).Next(at); !got.IsZero() {
		t.Errorf("Next of a bad schedule = %v, want zero", got)
	}
	if got := (Job{Schedule: "nope"}).Interval(); got != 0 {
		t.Errorf("Interval of a bad schedule = %v, want 0", got)
	}
}

func TestParseAppJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Job // ID, Command, Schedule
		wantErr string
	}{
		{name: "empty file", in: ""},
		{name: "blank file", in: " \n\t\n"},
		{name: "no cron", in: `{"name": "demo", "env": {"X": {"value": "1"}}, "formation": {"web": {"quantity": 1}}}`},
		{name: "empty cron", in: `{"cron": []}`},
		{name: "null cron", in: `{"cron": null}`},
		{name: "jobs in order, other keys ignored", in: `{
			"cron": [
				{"command": "npm run send-email", "schedule": "@daily", "maintenance": false, "concurrency_policy": "forbid"},
				{"command": "  python clean.py --old ", "schedule": "*/5  *   * * *"}
			]}`,
			want: []Job{
				{ID: jobID("@daily", "npm run send-email"), Command: "npm run send-email", Schedule: "@daily"},
				{ID: jobID("*/5 * * * *", "python clean.py --old"), Command: "python clean.py --old", Schedule: "*/5 * * * *"},
			}},
		{name: "same command on two schedules", in: `{"cron": [{"command": "x", "schedule": "@daily"}, {"command": "x", "schedule": "@hourly"}]}`,
			want: []Job{
				{ID: jobID("@daily", "x"), Command: "x", Schedule: "@daily"},
				{ID: jobID("@hourly", "x"), Command: "x", Schedule: "@hourly"},
			}},

		{name: "syntax error", in: "{\n  \"cron\": [\n    {\"command\": \"x\",}\n  ]\n}",
			wantErr: "app.json: line 3, column 21: invalid character '}' looking for beginning of object key string"},
		{name: "not an object", in: `["cron"]`,
			wantErr: "app.json: json: cannot unmarshal array into Go value of type"},
		{name: "cron not a list", in: `{"cron": {"command": "x", "schedule": "@daily"}}`,
			wantErr: "app.json: json: cannot unmarshal object into Go struct field"},
		{name: "job not an object", in: `{"cron": ["x"]}`,
			wantErr: "app.json cron job 1: json: cannot unmarshal string into Go value of type"},
		{name: "schedule not a string", in: `{"cron": [{"command": "x", "schedule": 5}]}`,
			wantErr: "app.json cron job 1: json: cannot unmarshal number into Go struct field"},
		{name: "no command", in: `{"cron": [{"command": "x", "schedule": "@daily"}, {"schedule": "@daily"}]}`,
			wantErr: "app.json cron job 2: no command"},
		{name: "blank command", in: `{"cron": [{"command": "  ", "schedule": "@daily"}]}`,
			wantErr: "app.json cron job 1: no command"},
		{name: "null job", in: `{"cron": [null]}`,
			wantErr: "app.json cron job 1: no command"},
		{name: "no schedule", in: `{"cron": [{"command": "x"}]}`,
			wantErr: `app.json cron job 1 ("x"): no schedule`},
		{name: "bad schedule", in: `{"cron": [{"command": "x", "schedule": "@daily"}, {"command": "npm run y", "schedule": "*/5 * * *"}]}`,
			wantErr: `app.json cron job 2 ("npm run y"): schedule "*/5 * * *": expected exactly 5 fields, found 4: [*/5 * * *]`},
		{name: "schedule with a newline", in: `{"cron": [{"command": "x", "schedule": "* * * * *\n* * * * * rm -rf /"}]}`,
			wantErr: `app.json cron job 1 ("x"): schedule "* * * * *\n* * * * * rm -rf /": expected exactly 5 fields, found 13`},
		{name: "same job twice", in: `{"cron": [{"command": "x", "schedule": "@daily"}, {"command": "y", "schedule": "@daily"}, {"command": " x", "schedule": " @daily"}]}`,
			wantErr: `app.json cron jobs 1 and 3 are the same job ("x" at "@daily")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aj, err := ParseAppJSON(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("ParseAppJSON error\n got %v\nwant %s", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				var ue *usererr.Error
				if !errors.Is(err, ErrBadAppJSON) || !errors.As(err, &ue) {
					t.Errorf("error %q is not a user error wrapping ErrBadAppJSON", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAppJSON: %v", err)
			}
			if len(aj.Cron) != len(tt.want) {
				t.Fatalf("jobs %+v, want %+v", aj.Cron, tt.want)
			}
			for i, j := range aj.Cron {
				w := tt.want[i]
				if j.ID != w.ID || j.Command != w.Command || j.Schedule != w.Schedule {
					t.Errorf("job %d = %+v, want %+v", i+1, j, w)
				}
			}
		})
	}
}

// An ID is 8 hex digits, the same for the same job whatever its spacing,
// and different when the schedule or the command changes. The values are
// pinned: a changed derivation would orphan every job's history.
func TestJobID(t *testing.T) {
	a := jobID("@daily", "npm run send-email")
	if a != "c902489c" { // printf '@daily\nnpm run send-email' | sha256sum
		t.Errorf("jobID = %s, want c902489c", a)
	}
	for _, other := range []string{jobID("@hourly", "npm run send-email"), jobID("@daily", "npm run send-emails")} {
		if other == a {
			t.Errorf("two jobs share the ID %s", a)
		}
	}
	aj, err := ParseAppJSON(strings.NewReader(`{"cron":[{"command":" npm run send-email ","schedule":"  @daily "}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if aj.Cron[0].ID != a {
		t.Errorf("ID %s for the same job respaced, want %s", aj.Cron[0].ID, a)
	}
}

// A Job read back from JSON (the release's record) still knows its schedule.
func TestJobJSONRoundTrip(t *testing.T) {
	aj, err := ParseAppJSON(strings.NewReader(`{"cron":[{"command":"x","schedule":"*/10 * * * *"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(aj.Cron[0])
	if err != nil {
		t.Fatal(err)
	}
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if j.ID != aj.Cron[0].ID || j.Interval() != 10*time.Minute {
		t.Errorf("round trip %s = %+v, interval %v", b, j, j.Interval())
	}
}

func TestJobArgv(t *testing.T) {
	j := Job{ID: "abcd1234", Command: "flask send-digest > /dev/null", Schedule: "@daily"}
	_, err := j.Argv(false)
	if err == nil || !strings.HasPrefix(err.Error(), `app.json cron job abcd1234: "flask send-digest > /dev/null" needs a shell (>)`) {
		t.Errorf("Argv error = %v", err)
	}
}

func TestReadAppJSON(t *testing.T) {
	dir := t.TempDir()
	if aj, ok, err := ReadAppJSON(dir); ok || err != nil || len(aj.Cron) != 0 {
		t.Fatalf("ReadAppJSON(no file) = %+v, %v, %v", aj, ok, err)
	}
	writeFile(t, dir, "app.json", `{"cron":[{"command":"x","schedule":"@daily"}]}`, 0o644)
	if aj, ok, err := ReadAppJSON(dir); !ok || err != nil || len(aj.Cron) != 1 {
		t.Fatalf("ReadAppJSON = %+v, %v, %v", aj, ok, err)
	}
	writeFile(t, dir, "app.json", `{"cron":[{"command":"x","schedule":"@often"}]}`, 0o644)
	if _, _, err := ReadAppJSON(dir); err == nil || !strings.Contains(err.Error(), `app.json cron job 1 ("x"): schedule "@often"`) {
		t.Fatalf("ReadAppJSON(bad) error = %v", err)
	}
	bad := t.TempDir()
	writeFile(t, bad, "app.json/x", "", 0o644)
	if _, _, err := ReadAppJSON(bad); err == nil || !strings.Contains(err.Error(), "app.json at the root of") {
		t.Fatalf("ReadAppJSON(directory) error = %v", err)
	}
}
