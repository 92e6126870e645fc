package release

import (
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

const settingKeyList = "branch, cpus, dockerfile, drain, health_path, health_timeout, hsts, keep, memory, release_timeout, snapshots, target, warm, watch, watch_errors, watch_min"

func TestSet(t *testing.T) {
	tests := []struct {
		name  string
		pairs []string
		want  func(s *state.Settings) // applied to demo's settings before the call
	}{
		{"branch", []string{"branch=release/1.x"}, func(s *state.Settings) { s.Branch = "release/1.x" }},
		{"health_path", []string{"health_path=/healthz?full=1"}, func(s *state.Settings) { s.HealthPath = "/healthz?full=1" }},
		{"health_timeout min", []string{"health_timeout=1s"}, func(s *state.Settings) { s.HealthTimeout = state.Duration(time.Second) }},
		{"health_timeout max", []string{"health_timeout=1h"}, func(s *state.Settings) { s.HealthTimeout = state.Duration(time.Hour) }},
		{"drain", []string{"drain=2m"}, func(s *state.Settings) { s.Drain = durp(2 * time.Minute) }},
		{"dockerfile", []string{"dockerfile=./deploy/Dockerfile"}, func(s *state.Settings) { s.Dockerfile = "deploy/Dockerfile" }},
		{"drain max", []string{"drain=1h"}, func(s *state.Settings) { s.Drain = durp(time.Hour) }},
		{"several, last wins", []string{"drain=10s", "health_path=/up", "drain=20s"}, func(s *state.Settings) {
			s.Drain = durp(20 * time.Second)
			s.HealthPath = "/up"
		}},
		{"value with =", []string{"health_path=/up?a=b"}, func(s *state.Settings) { s.HealthPath = "/up?a=b" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMemEnv(t)
			want := e.app(t)
			tt.want(&want.Settings)
			got, err := e.d.Set(t.Context(), "demo", tt.pairs)
			if err != nil {
				t.Fatalf("Set(%q): %v", tt.pairs, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Set returned\n %+v\nwant %+v", got, want)
			}
			if stored := e.app(t); !reflect.DeepEqual(stored, want) {
				t.Errorf("app.json holds\n %+v\nwant %+v", stored, want)
			}
		})
	}
}

// TestSetDrainZero: drain=0s is stored as zero (not as "unset") and takes
// effect: Describe and the drain used are 0, while unset means 30s.
func TestSetDrainZero(t *testing.T) {
	e := newMemEnv(t)
	e.editApp(t, func(a *state.App) { a.Drain = durp(time.Minute) })
	if _, err := e.d.Set(t.Context(), "demo", []string{"drain=0s"}); err != nil {
		t.Fatalf("Set drain=0s: %v", err)
	}
	a := e.app(t)
	if a.Drain == nil || *a.Drain != 0 || a.Settings.EffectiveDrain() != 0 {
		t.Errorf("drain stored as %v, effective %s, want 0", a.Drain, a.Settings.EffectiveDrain())
	}
	if !strings.Contains(strings.Join(a.Settings.Describe(), " "), "drain=0s") {
		t.Errorf("Describe = %v, want drain=0s", a.Settings.Describe())
	}
	if _, err := e.d.Unset(t.Context(), "demo", []string{"drain"}); err != nil {
		t.Fatal(err)
	}
	if a := e.app(t); a.Drain != nil || a.Settings.EffectiveDrain() != state.DefaultDrain {
		t.Errorf("after unset: drain %v, effective %s, want the default", a.Drain, a.Settings.EffectiveDrain())
	}
}

func TestSetRefused(t *testing.T) {
	tests := []struct {
		name  string
		pairs []string
		want  string
	}{
		{"branch a//b", []string{"branch=a//b"}, `invalid branch "a//b"`},
		{"keep too many", []string{"keep=100000"}, `invalid keep "100000": how many rollback images to keep, 0 to 1000`},
		{"keep negative", []string{"keep=-1"}, `invalid keep "-1": how many rollback images to keep, 0 to 1000`},
		{"branch a/", []string{"branch=a/"}, `invalid branch "a/"`},
		{"branch x.lock/y", []string{"branch=x.lock/y"}, `invalid branch "x.lock/y"`},
		{"health_timeout 0s", []string{"health_timeout=0s"}, `invalid duration "0s": use Go's form (30s, 2m) between 1s and 1h0m0s`},
		{"health_timeout 2h", []string{"health_timeout=2h"}, `invalid duration "2h": use Go's form (30s, 2m) between 1s and 1h0m0s`},
		{"health_timeout not a duration", []string{"health_timeout=30"}, `invalid duration "30"`},
		{"health_timeout empty", []string{"health_timeout="}, `invalid duration ""`},
		{"dockerfile outside", []string{"dockerfile=../Dockerfile"}, `invalid dockerfile "../Dockerfile"`},
		{"dockerfile absolute", []string{"dockerfile=/etc/passwd"}, `invalid dockerfile "/etc/passwd"`},
		{"drain negative", []string{"drain=-1s"}, `invalid duration "-1s": use Go's form (30s, 2m) between 0s and 1h0m0s`},
		{"drain 2h", []string{"drain=2h"}, `invalid duration "2h"`},
		{"health_path relative", []string{"health_path=health"}, `invalid health_path "health": a URL path starting with /`},
		{"health_path space", []string{"health_path=/a b"}, `invalid health_path "/a b"`},
		{"health_path fragment", []string{"health_path=/a#b"}, `invalid health_path "/a#b"`},
		{"health_path empty", []string{"health_path="}, `invalid health_path ""`},
		{"branch ..", []string{"branch=a..b"}, `invalid branch "a..b"`},
		{"branch .lock", []string{"branch=main.lock"}, `invalid branch "main.lock"`},
		{"branch leading -", []string{"branch=-x"}, `invalid branch "-x"`},
		{"branch space", []string{"branch=my branch"}, `invalid branch "my branch"`},
		{"branch empty", []string{"branch="}, `invalid branch ""`},
		{"branch too long", []string{"branch=" + strings.Repeat("b", 101)}, `invalid branch "` + strings.Repeat("b", 101) + `"`},
		{"unknown key", []string{"port=8080"}, `invalid setting "port=8080": use KEY=VALUE with KEY one of ` + settingKeyList},
		{"no =", []string{"drain"}, `invalid setting "drain": use KEY=VALUE with KEY one of ` + settingKeyList},
		{"key case", []string{"Drain=5s"}, `invalid setting "Drain=5s"`},
		// Numbers that parse but mean nothing, or "no limit", or overflow.
		{"cpus NaN", []string{"cpus=NaN"}, `invalid cpus "NaN": a number of cores from 0.01 to `},
		{"cpus Inf", []string{"cpus=Inf"}, `invalid cpus "Inf"`},
		{"cpus -Inf", []string{"cpus=-Inf"}, `invalid cpus "-Inf"`},
		{"cpus negative", []string{"cpus=-1"}, `invalid cpus "-1"`},
		{"cpus 0", []string{"cpus=0"}, `invalid cpus "0"`},
		{"cpus under a quota of 1ms", []string{"cpus=0.001"}, `invalid cpus "0.001"`},
		{"cpus over float64", []string{"cpus=1e400"}, `invalid cpus "1e400"`},
		{"cpus more than the host has", []string{"cpus=" + strconv.Itoa(runtime.NumCPU()+1)}, `invalid cpus "` + strconv.Itoa(runtime.NumCPU()+1) + `"`},
		{"memory negative", []string{"memory=-512m"}, `invalid memory "-512m"`},
		{"memory 0", []string{"memory=0"}, `invalid memory "0"`},
		{"memory overflow", []string{"memory=99999999999g"}, `invalid memory "99999999999g"`},
		{"memory over int64", []string{"memory=99999999999999999999"}, `invalid memory "99999999999999999999"`},
		{"keep negative", []string{"keep=-1"}, `invalid keep "-1"`},
		{"keep over int", []string{"keep=99999999999999999999"}, `invalid keep "99999999999999999999"`},
		{"health_timeout negative", []string{"health_timeout=-5s"}, `invalid duration "-5s"`},
		{"drain overflow", []string{"drain=9999999999h"}, `invalid duration "9999999999h"`},
		// All or none: the good pairs before and after a bad one are not
		// stored either.
		{"good then bad", []string{"drain=5s", "branch=dev", "health_timeout=0s"}, `invalid duration "0s"`},
		{"bad then good", []string{"health_path=up", "drain=5s"}, `invalid health_path "up"`},
		{"good then unknown", []string{"health_path=/up", "colour=red"}, `invalid setting "colour=red"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMemEnv(t)
			path := state.AppPath(e.d.Config.AppsDir(), "demo")
			before, err := afero.ReadFile(e.d.Fs, path)
			if err != nil {
				t.Fatal(err)
			}
			a, err := e.d.Set(t.Context(), "demo", tt.pairs)
			if err == nil {
				t.Fatalf("Set(%q) succeeded: %+v", tt.pairs, a)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q, want it to start with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			after, err := afero.ReadFile(e.d.Fs, path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(before) {
				t.Errorf("app.json changed by a refused Set:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestSetUnknownApp(t *testing.T) {
	e := newMemEnv(t)
	if _, err := e.d.Set(t.Context(), "ghost", []string{"drain=5s"}); err == nil || !strings.Contains(err.Error(), "gitship init ghost") {
		t.Errorf("Set on an unknown app = %v, want a hint to init it", err)
	}
	if _, err := e.d.Unset(t.Context(), "ghost", []string{"drain"}); err == nil || !strings.Contains(err.Error(), "gitship init ghost") {
		t.Errorf("Unset on an unknown app = %v, want a hint to init it", err)
	}
}

func TestUnset(t *testing.T) {
	custom := func(a *state.App) {
		a.Branch = "dev"
		a.HealthPath = "/up"
		a.HealthTimeout = state.Duration(5 * time.Second)
		a.Drain = durp(time.Minute)
		a.Dockerfile = "deploy/Dockerfile"
	}
	tests := []struct {
		keys []string
		want string // Describe of the result
	}{
		{[]string{"branch"}, "branch=main health_path=/up health_timeout=5s drain=1m0s warm=1m0s dockerfile=deploy/Dockerfile hsts=off memory=- cpus=- watch=1m0s"},
		{[]string{"health_path"}, "branch=dev health_path=/ health_timeout=5s drain=1m0s warm=1m0s dockerfile=deploy/Dockerfile hsts=off memory=- cpus=- watch=1m0s"},
		{[]string{"health_timeout"}, "branch=dev health_path=/up health_timeout=1m0s drain=1m0s warm=1m0s dockerfile=deploy/Dockerfile hsts=off memory=- cpus=- watch=1m0s"},
		{[]string{"drain"}, "branch=dev health_path=/up health_timeout=5s drain=30s warm=1m0s dockerfile=deploy/Dockerfile hsts=off memory=- cpus=- watch=1m0s"},
		{[]string{"branch", "health_path", "health_timeout", "drain", "dockerfile"}, "branch=main health_path=/ health_timeout=1m0s drain=30s warm=1m0s dockerfile=- hsts=off memory=- cpus=- watch=1m0s"},
		{nil, "branch=dev health_path=/up health_timeout=5s drain=1m0s warm=1m0s dockerfile=deploy/Dockerfile hsts=off memory=- cpus=- watch=1m0s"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			e := newMemEnv(t)
			e.editApp(t, custom)
			a, err := e.d.Unset(t.Context(), "demo", tt.keys)
			if err != nil {
				t.Fatalf("Unset(%q): %v", tt.keys, err)
			}
			if got := strings.Join(a.Describe(), " "); got != tt.want {
				t.Errorf("Unset returned %s, want %s", got, tt.want)
			}
			if got := strings.Join(e.app(t).Describe(), " "); got != tt.want {
				t.Errorf("app.json holds %s, want %s", got, tt.want)
			}
		})
	}
}

func TestUnsetRefused(t *testing.T) {
	e := newMemEnv(t)
	e.editApp(t, func(a *state.App) { a.Drain = durp(time.Minute) })
	path := state.AppPath(e.d.Config.AppsDir(), "demo")
	before, err := afero.ReadFile(e.d.Fs, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.d.Unset(t.Context(), "demo", []string{"drain", "port"})
	if want := `invalid setting "port": one of ` + settingKeyList; err == nil || err.Error() != want {
		t.Errorf("Unset of an unknown key = %v, want %s", err, want)
	}
	after, err := afero.ReadFile(e.d.Fs, path)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("app.json changed by a refused Unset:\nbefore %s\nafter  %s", before, after)
	}
}

// TestSetThenDescribe: what Set stores is what Describe shows.
func TestSetThenDescribe(t *testing.T) {
	e := newMemEnv(t)
	a, err := e.d.Set(t.Context(), "demo", []string{"health_timeout=90s", "health_path=/ready", "drain=45s", "branch=prod"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"branch=prod", "health_path=/ready", "health_timeout=1m30s", "drain=45s", "warm=1m0s", "dockerfile=-", "hsts=off", "memory=-", "cpus=-", "watch=1m0s"}
	if got := e.app(t).Describe(); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(a.Describe(), want) {
		t.Errorf("Describe after Set = %q (returned %q), want %q", got, a.Describe(), want)
	}
}

func TestSetBuildArgs(t *testing.T) {
	e := newMemEnv(t)
	a, err := e.d.Set(t.Context(), "demo", []string{"build_arg.NODE_ENV=production", "build_arg.EMPTY="})
	if err != nil {
		t.Fatal(err)
	}
	if a.BuildArgs["NODE_ENV"] != "production" || len(a.BuildArgs) != 2 {
		t.Errorf("build args %v", a.BuildArgs)
	}
	if got := strings.Join(e.app(t).Describe(), " "); !strings.Contains(got, "build_arg.EMPTY= build_arg.NODE_ENV=production") {
		t.Errorf("Describe = %s", got)
	}
	if _, err := e.d.Set(t.Context(), "demo", []string{"build_arg.1BAD=x"}); err == nil || !strings.Contains(err.Error(), `invalid build arg name "1BAD"`) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := e.d.Unset(t.Context(), "demo", []string{"build_arg.NODE_ENV"}); err != nil {
		t.Fatal(err)
	}
	if got := e.app(t).BuildArgs; len(got) != 1 || got["EMPTY"] != "" {
		t.Errorf("after unset: %v", got)
	}
}

// TestSetCPUsBounds: from 0.01 core (a quota of 1 ms per 100 ms) to the
// host's cores is taken; a stored value Set would refuse today (NaN, from
// before the check) fails the release instead of meaning "no limit".
func TestSetCPUsBounds(t *testing.T) {
	e := newMemEnv(t)
	for _, v := range []string{"0.01", "0.5", strconv.Itoa(runtime.NumCPU())} {
		a, err := e.d.Set(t.Context(), "demo", []string{"cpus=" + v})
		if err != nil {
			t.Fatalf("cpus=%s: %v", v, err)
		}
		if _, cpus, err := a.Settings.Limits(); err != nil || strconv.FormatFloat(cpus, 'g', -1, 64) != v {
			t.Errorf("cpus=%s: limits = %v, %v", v, cpus, err)
		}
	}
	for _, v := range []string{"NaN", "0", "-2"} {
		if _, _, err := (state.Settings{CPUs: v}).Limits(); err == nil {
			t.Errorf("limits of stored cpus=%s succeeded", v)
		}
	}
}

// TestMaxKeep: the bound of `gitship set keep` is the server config's
// (two leaves, one number: release is where they meet).
func TestMaxKeep(t *testing.T) {
	if state.MaxKeep != config.MaxKeep {
		t.Errorf("state.MaxKeep = %d, config.MaxKeep = %d; want them equal", state.MaxKeep, config.MaxKeep)
	}
}
