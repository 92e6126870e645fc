package state

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxKeep is the most rollback images an app may keep (`gitship set APP
// keep=N`); config.MaxKeep bounds the server-wide keep alike.
const MaxKeep = 1000

// Settings are what a release bundles besides its image and environment:
// a rollback restores them with the image.
type Settings struct {
	Domains       []string `json:"domains,omitempty"`
	Branch        string   `json:"branch"`
	HealthPath    string   `json:"health_path,omitempty"`
	HealthTimeout Duration `json:"health_timeout,omitempty"`
	// Dockerfile is the build file's path in the repository; "" looks
	// for Dockerfile, then Containerfile, at the root.
	Dockerfile string `json:"dockerfile,omitempty"`
	// Memory is the container's memory limit ("512m", "1g"; "" = none).
	Memory string `json:"memory,omitempty"`
	// CPUs is the container's CPU limit in cores ("0.5"; "" = none).
	CPUs string `json:"cpus,omitempty"`
	// Keep is how many rollback images prune keeps (nil: the config's).
	Keep *int `json:"keep,omitempty"`
	// HSTS makes the HTTPS server block send Strict-Transport-Security.
	HSTS bool `json:"hsts,omitempty"`
	// BuildArgs are passed to the build (`--build-arg`).
	BuildArgs map[string]string `json:"build_args,omitempty"`
	// Drain is nil for the default; 0 means "stop the old release at once".
	Drain *Duration `json:"drain,omitempty"`
	// Warm is how long the previous release's web containers keep
	// running after a switch, for an instant rollback (nil: DefaultWarm;
	// 0: retired at once, after the drain).
	Warm *Duration `json:"warm,omitempty"`
	// Snapshots is how many data snapshots are kept (nil: DefaultSnapshots).
	Snapshots *int `json:"snapshots,omitempty"`
	// ReleaseTimeout bounds the Procfile's release command (0:
	// DefaultReleaseTimeout).
	ReleaseTimeout Duration `json:"release_timeout,omitempty"`
	// Scale is how many containers each process type runs (`gitship
	// scale`); a type not in it runs one (see Count).
	Scale map[string]int `json:"scale,omitempty"`
	// Watch is how long a release is watched after its switch (nil:
	// DefaultWatch; 0: not watched).
	Watch *Duration `json:"watch,omitempty"`
	// WatchErrors is the share of 5xx answers, in percent, above which a
	// watched release is bad (nil: DefaultWatchErrors).
	WatchErrors *int `json:"watch_errors,omitempty"`
	// WatchMin is how many answers a watched release must have given
	// before WatchErrors is judged (nil: DefaultWatchMin).
	WatchMin *int `json:"watch_min,omitempty"`
	// Target is where the app runs: "" (TargetPodman, this host) or
	// TargetKube (the server config's [kube] cluster).
	Target string `json:"target,omitempty"`
}

// Where an app runs (Settings.Target).
const (
	TargetPodman = "podman" // this host, through Podman and nginx
	TargetKube   = "kube"   // the cluster of the server config's [kube]
)

// EffectiveTarget is where the app runs: TargetPodman unless set.
func (s Settings) EffectiveTarget() string {
	if s.Target == "" {
		return TargetPodman
	}
	return s.Target
}

// DefaultCount is how many containers a process type runs unless Scale
// says otherwise: web and every worker alike; 0 stops a type.
const DefaultCount = 1

// MaxScale is the most containers one process type may run.
const MaxScale = 20

// Count is how many containers of process type typ the release runs:
// Scale's, or DefaultCount. The one place that reads Scale.
func (s Settings) Count(typ string) int {
	if n, ok := s.Scale[typ]; ok && n >= 0 {
		return n
	}
	return DefaultCount
}

// Duration is a time.Duration stored as Go's text form ("30s").
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads the text form.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Served returns the domains of app with these settings, or APP.<base>
// when it has none.
func (s Settings) Served(app, base string) []string {
	if len(s.Domains) > 0 {
		return s.Domains
	}
	return []string{app + "." + base}
}

// Defaults of per-app settings.
const (
	DefaultHealthPath    = "/"
	DefaultHealthTimeout = 60 * time.Second
	DefaultDrain         = 30 * time.Second
	// DefaultWarm is how long the previous release stays warm after a
	// switch: the minute in which a bad release is usually noticed.
	DefaultWarm = 60 * time.Second
	// MaxWarm bounds the warm setting: a warm release costs its memory.
	MaxWarm          = 24 * time.Hour
	DefaultSnapshots = 3
	// DefaultReleaseTimeout bounds a release command: a migration of a
	// large table may take minutes, one that hangs must not hold the
	// app's lock forever.
	DefaultReleaseTimeout = 10 * time.Minute
	// MaxSnapshots is the most data snapshots an app may keep.
	MaxSnapshots = 100
	// DefaultWatch is how long a release is watched after its switch.
	DefaultWatch = 60 * time.Second
	// MaxWatch bounds the watch: it holds the warm previous release.
	MaxWatch = time.Hour
	// DefaultWatchErrors is the share of 5xx answers (percent) above
	// which a watched release is switched back.
	DefaultWatchErrors = 50
	// DefaultWatchMin is how many answers are needed before the share is
	// judged: two 500s of the first three requests are no verdict.
	DefaultWatchMin = 20
	// MaxWatchMin bounds watch_min.
	MaxWatchMin = 1000000
)

// EffectiveHealthPath is the path the health check asks for.
func (s Settings) EffectiveHealthPath() string {
	if s.HealthPath == "" {
		return DefaultHealthPath
	}
	return s.HealthPath
}

// EffectiveHealthTimeout is how long a new release has to answer.
func (s Settings) EffectiveHealthTimeout() time.Duration {
	if s.HealthTimeout <= 0 {
		return DefaultHealthTimeout
	}
	return time.Duration(s.HealthTimeout)
}

// EffectiveDrain is how long the old release drains after a switch.
func (s Settings) EffectiveDrain() time.Duration {
	if s.Drain == nil || *s.Drain < 0 {
		return DefaultDrain
	}
	return time.Duration(*s.Drain)
}

// EffectiveWarm is how long the previous release stays warm after a
// switch (0: not at all).
func (s Settings) EffectiveWarm() time.Duration {
	if s.Warm == nil || *s.Warm < 0 {
		return DefaultWarm
	}
	return time.Duration(*s.Warm)
}

// EffectiveSnapshots is how many data snapshots are kept.
func (s Settings) EffectiveSnapshots() int {
	if s.Snapshots == nil {
		return DefaultSnapshots
	}
	return *s.Snapshots
}

// EffectiveReleaseTimeout is how long the release command may run.
func (s Settings) EffectiveReleaseTimeout() time.Duration {
	if s.ReleaseTimeout <= 0 {
		return DefaultReleaseTimeout
	}
	return time.Duration(s.ReleaseTimeout)
}

// EffectiveWatch is how long a release is watched after its switch; 0:
// not at all.
func (s Settings) EffectiveWatch() time.Duration {
	if s.Watch == nil || *s.Watch < 0 {
		return DefaultWatch
	}
	return time.Duration(*s.Watch)
}

// EffectiveWatchErrors is the share of 5xx answers, in percent (0 to
// 100), above which a watched release is bad.
func (s Settings) EffectiveWatchErrors() int {
	if s.WatchErrors == nil || *s.WatchErrors < 0 || *s.WatchErrors > 100 {
		return DefaultWatchErrors
	}
	return *s.WatchErrors
}

// EffectiveWatchMin is how many answers a watched release must have given
// before their share of 5xx is judged (at least 1).
func (s Settings) EffectiveWatchMin() int {
	if s.WatchMin == nil || *s.WatchMin < 1 {
		return DefaultWatchMin
	}
	return *s.WatchMin
}

// Limits are the container limits of the settings: bytes of memory and
// cores (0 for none). A stored value that no longer parses is an error.
func (s Settings) Limits() (memory int64, cpus float64, err error) {
	if s.Memory != "" {
		if memory, err = memoryBytes(s.Memory); err != nil {
			return 0, 0, err
		}
	}
	if s.CPUs != "" {
		if cpus, err = cpuCores(s.CPUs, 0); err != nil {
			return 0, 0, err
		}
	}
	return memory, cpus, nil
}

var branchName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$`)

var argName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func durationIn(v string, min, max time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < min || d > max {
		return 0, fmt.Errorf("invalid duration %q: use Go's form (30s, 2m) between %s and %s", v, min, max)
	}
	return d, nil
}

// minCPUs is the smallest CPU limit: 1 ms of CPU time per 100 ms period,
// the kernel's minimum CFS quota (Docker's --cpus range starts there too).
const minCPUs = 0.01

// cpuCores parses a CPU limit in cores: a finite number from minCPUs to
// host (the host's cores, as Docker's --cpus checks; 0 for no check: a
// stored value stays valid when the host shrinks). NaN, Inf, 0 and
// negatives would mean "no limit" or worse, so they are refused.
func cpuCores(v string, host int) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	max := 1024.0
	if host > 0 {
		max = float64(host)
	}
	if err != nil || math.IsNaN(f) || f < minCPUs || f > max {
		return 0, fmt.Errorf("invalid cpus %q: a number of cores from %g to %g, e.g. 0.5", v, minCPUs, max)
	}
	return f, nil
}

// memoryBytes parses a memory limit as Podman does: a number with an
// optional unit b, k, m or g (powers of 1024); at least 6 MiB.
func memoryBytes(v string) (int64, error) {
	bad := fmt.Errorf("invalid memory %q: e.g. 512m or 1g (at least 6m)", v)
	s := strings.ToLower(strings.TrimSpace(v))
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k':
			mult, s = 1<<10, s[:n-1]
		case 'm':
			mult, s = 1<<20, s[:n-1]
		case 'g':
			mult, s = 1<<30, s[:n-1]
		case 'b':
			s = s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult || n*mult < 6<<20 {
		return 0, bad
	}
	return n * mult, nil
}

// dash shows an empty value as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
