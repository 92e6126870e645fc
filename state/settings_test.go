package state

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func durp(d time.Duration) *Duration { v := Duration(d); return &v }

func TestSettingKeys(t *testing.T) {
	want := []string{"branch", "cpus", "dockerfile", "drain", "health_path", "health_timeout", "hsts", "keep", "memory", "release_timeout", "snapshots", "target", "warm", "watch", "watch_errors", "watch_min"}
	if got := SettingKeys(); !reflect.DeepEqual(got, want) {
		t.Errorf("SettingKeys() = %v, want %v", got, want)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
		want []string
	}{
		{"defaults", Settings{Branch: "main"}, []string{"branch=main", "health_path=/", "health_timeout=1m0s", "drain=30s", "warm=1m0s", "dockerfile=-", "hsts=off", "memory=-", "cpus=-", "watch=1m0s"}},
		{"set", Settings{Branch: "dev", HealthPath: "/up", HealthTimeout: Duration(90 * time.Second), Drain: durp(5 * time.Second)},
			[]string{"branch=dev", "health_path=/up", "health_timeout=1m30s", "drain=5s", "warm=1m0s", "dockerfile=-", "hsts=off", "memory=-", "cpus=-", "watch=1m0s"}},
		{"domains are not settings of set", Settings{Branch: "main", Domains: []string{"a.example.com"}},
			[]string{"branch=main", "health_path=/", "health_timeout=1m0s", "drain=30s", "warm=1m0s", "dockerfile=-", "hsts=off", "memory=-", "cpus=-", "watch=1m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Describe(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Describe() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLimits: a stored value Set would refuse today (NaN, from before the
// check) is an error rather than "no limit"; the host's size is not checked
// for a stored value (the host may have shrunk since).
func TestLimits(t *testing.T) {
	mem, cpus, err := (Settings{Memory: "512m", CPUs: "0.5"}).Limits()
	if err != nil || mem != 512<<20 || cpus != 0.5 {
		t.Errorf("Limits = %d, %g, %v; want 512 MiB, 0.5 core", mem, cpus, err)
	}
	if _, cpus, err := (Settings{CPUs: "1000"}).Limits(); err != nil || cpus != 1000 {
		t.Errorf("Limits of stored cpus=1000 = %g, %v", cpus, err)
	}
	if mem, cpus, err := (Settings{}).Limits(); err != nil || mem != 0 || cpus != 0 {
		t.Errorf("Limits of none = %d, %g, %v; want 0, 0, nil", mem, cpus, err)
	}
	for _, s := range []Settings{{CPUs: "NaN"}, {CPUs: "0"}, {CPUs: "-2"}, {Memory: "1k"}, {Memory: "lots"}} {
		if _, _, err := s.Limits(); err == nil {
			t.Errorf("Limits of stored %+v succeeded", s)
		}
	}
}

func TestValidBranch(t *testing.T) {
	for _, b := range []string{"main", "release/1.x", "feature-x", "v1.2"} {
		if err := ValidBranch(b); err != nil {
			t.Errorf("ValidBranch(%q) = %v", b, err)
		}
	}
	for _, b := range []string{"", "a..b", "main.lock", "a//b", "a/", "-x", "my branch", "x.lock/y", "a~b", "a^b", "a:b"} {
		if err := ValidBranch(b); err == nil {
			t.Errorf("ValidBranch(%q) succeeded", b)
		}
	}
}

// TestSnapshotsSetting: 3 unless set, 0 to MaxSnapshots, one line for
// anything else.
func TestSnapshotsSetting(t *testing.T) {
	var s Settings
	if got := s.EffectiveSnapshots(); got != DefaultSnapshots {
		t.Errorf("default snapshots %d, want %d", got, DefaultSnapshots)
	}
	for _, v := range []string{"0", "100", "7"} {
		if err := s.Set("snapshots=" + v); err != nil {
			t.Errorf("snapshots=%s: %v", v, err)
		}
	}
	if got := s.EffectiveSnapshots(); got != 7 {
		t.Errorf("snapshots %d after snapshots=7", got)
	}
	for _, v := range []string{"-1", "101", "x", ""} {
		err := s.Set("snapshots=" + v)
		if err == nil || err.Error() != `invalid snapshots "`+v+`": how many data snapshots to keep, 0 to 100` {
			t.Errorf("snapshots=%s: %v", v, err)
		}
	}
	if err := s.Unset("snapshots"); err != nil || s.EffectiveSnapshots() != DefaultSnapshots {
		t.Errorf("unset snapshots: %v, %d", err, s.EffectiveSnapshots())
	}
}

func TestReleaseTimeout(t *testing.T) {
	var s Settings
	if got := s.EffectiveReleaseTimeout(); got != DefaultReleaseTimeout || DefaultReleaseTimeout != 10*time.Minute {
		t.Errorf("default release_timeout %s", got)
	}
	if err := s.Set("release_timeout=30m"); err != nil || s.EffectiveReleaseTimeout() != 30*time.Minute {
		t.Errorf("release_timeout=30m: %v, %s", err, s.EffectiveReleaseTimeout())
	}
	if d := s.Describe(); !slices.Contains(d, "release_timeout=30m0s") {
		t.Errorf("Describe() = %q", d)
	}
	for _, v := range []string{"0s", "500ms", "25h", "soon"} {
		if err := s.Set("release_timeout=" + v); err == nil {
			t.Errorf("release_timeout=%s accepted", v)
		}
	}
	if err := s.Unset("release_timeout"); err != nil || s.EffectiveReleaseTimeout() != DefaultReleaseTimeout {
		t.Errorf("unset release_timeout: %v, %s", err, s.EffectiveReleaseTimeout())
	}
}

// TestWatchSettings: watch is a duration from 0 (off) to 1h, watch_errors
// a share from 0% to 100% (the % is optional), watch_min at least 1;
// anything else is refused and changes nothing.
func TestWatchSettings(t *testing.T) {
	good := []struct {
		pair string
		want string
	}{
		{"watch=0", "watch=0s"},
		{"watch=0s", "watch=0s"},
		{"watch=90s", "watch=1m30s"},
		{"watch=1h", "watch=1h0m0s"},
		{"watch_errors=0%", "watch_errors=0%"},
		{"watch_errors=100%", "watch_errors=100%"},
		{"watch_errors=30", "watch_errors=30%"},
		{"watch_min=1", "watch_min=1"},
		{"watch_min=500", "watch_min=500"},
	}
	for _, tt := range good {
		s := Settings{Branch: "main"}
		if err := s.Set(tt.pair); err != nil {
			t.Errorf("Set %s: %v", tt.pair, err)
			continue
		}
		if !slices.Contains(s.Describe(), tt.want) {
			t.Errorf("Set %s: Describe() = %q, want it to hold %s", tt.pair, s.Describe(), tt.want)
		}
	}
	bad := []struct{ pair, err string }{
		{"watch=-1s", `invalid duration "-1s"`},
		{"watch=2h", `invalid duration "2h"`},
		{"watch=soon", `invalid duration "soon"`},
		{"watch_errors=101%", `invalid watch_errors "101%": a share of answers from 0% to 100%, e.g. 50%`},
		{"watch_errors=-1", `invalid watch_errors "-1"`},
		{"watch_errors=half", `invalid watch_errors "half"`},
		{"watch_errors=5%%", `invalid watch_errors "5%%"`},
		{"watch_min=0", `invalid watch_min "0": a number of answers from 1 to 1000000`},
		{"watch_min=x", `invalid watch_min "x"`},
	}
	for _, tt := range bad {
		s := Settings{Branch: "main"}
		err := s.Set(tt.pair)
		if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
			t.Errorf("Set %s = %v, want an error starting %s", tt.pair, err, tt.err)
		}
	}
	var s Settings
	if s.EffectiveWatch() != DefaultWatch || s.EffectiveWatchErrors() != 50 || s.EffectiveWatchMin() != 20 {
		t.Errorf("defaults: watch %s, errors %d%%, min %d", s.EffectiveWatch(), s.EffectiveWatchErrors(), s.EffectiveWatchMin())
	}
	if err := s.Set("watch=0"); err != nil || s.EffectiveWatch() != 0 {
		t.Errorf("watch=0: %v, effective %s", err, s.EffectiveWatch())
	}
}
