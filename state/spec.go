package state

import (
	"fmt"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Spec is one setting of `gitship set`: its key, its help line, and how
// it is parsed, put back to its default and shown. The table of specs is
// the only list of settings: set, unset, status and the CLI's help all
// read it.
type Spec struct {
	// Key is the setting's name, or for a family of settings (one per
	// name, e.g. build_arg.NAME) the family's prefix with NAME after it.
	Key string
	// Prefix is the part of Key before NAME for a family, "" otherwise.
	Prefix string
	// Value is the form of the value in help, e.g. DURATION.
	Value string
	// Help is one line for `gitship set --help`.
	Help string
	// Example is a valid value other than the default.
	Example string

	// set parses v into s; name is the member of a family ("" for a
	// single setting).
	set func(s *Settings, name, v string) error
	// unset puts the setting (a family's member name) back to its default.
	unset func(s *Settings, name string)
	// describe shows the effective value as KEY=VALUE lines: one for a
	// single setting (none for an optional one not set), one per member
	// of a family.
	describe func(s Settings) []string
}

// specs are the settings, in the order status shows them.
var specs = []Spec{
	{
		Key: "branch", Value: "BRANCH", Example: "release/1.x",
		Help: "the branch a push deploys (default main)",
		set: func(s *Settings, _, v string) error {
			if !branchName.MatchString(v) {
				return fmt.Errorf("invalid branch %q", v)
			}
			if err := ValidBranch(v); err != nil {
				return err
			}
			s.Branch = v
			return nil
		},
		unset:    func(s *Settings, _ string) { s.Branch = "main" },
		describe: func(s Settings) []string { return line("branch", s.Branch) },
	},
	{
		Key: "health_path", Value: "PATH", Example: "/healthz",
		Help: "the URL path the health check asks for (default " + DefaultHealthPath + ")",
		set: func(s *Settings, _, v string) error {
			if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, " \t\r\n#") {
				return fmt.Errorf("invalid health_path %q: a URL path starting with /", v)
			}
			s.HealthPath = v
			return nil
		},
		unset:    func(s *Settings, _ string) { s.HealthPath = "" },
		describe: func(s Settings) []string { return line("health_path", s.EffectiveHealthPath()) },
	},
	{
		Key: "health_timeout", Value: "DURATION", Example: "20s",
		Help: "how long a new release has to answer, 1s to 1h (default " + DefaultHealthTimeout.String() + ")",
		set: func(s *Settings, _, v string) error {
			d, err := durationIn(v, time.Second, time.Hour)
			s.HealthTimeout = Duration(d)
			return err
		},
		unset:    func(s *Settings, _ string) { s.HealthTimeout = 0 },
		describe: func(s Settings) []string { return line("health_timeout", s.EffectiveHealthTimeout().String()) },
	},
	{
		Key: "release_timeout", Value: "DURATION", Example: "30m0s",
		Help: "how long the Procfile's release command may run, 1s to 24h (default " + DefaultReleaseTimeout.String() + ")",
		set: func(s *Settings, _, v string) error {
			d, err := durationIn(v, time.Second, 24*time.Hour)
			s.ReleaseTimeout = Duration(d)
			return err
		},
		unset: func(s *Settings, _ string) { s.ReleaseTimeout = 0 },
		// shown once set: most apps have no release command
		describe: func(s Settings) []string {
			if s.ReleaseTimeout <= 0 {
				return nil
			}
			return line("release_timeout", s.EffectiveReleaseTimeout().String())
		},
	},
	{
		Key: "drain", Value: "DURATION", Example: "0s",
		Help: "how long the old release drains after the switch, 0s to 1h (default " + DefaultDrain.String() + ")",
		set: func(s *Settings, _, v string) error {
			d, err := durationIn(v, 0, time.Hour)
			dd := Duration(d)
			s.Drain = &dd
			return err
		},
		unset:    func(s *Settings, _ string) { s.Drain = nil },
		describe: func(s Settings) []string { return line("drain", s.EffectiveDrain().String()) },
	},
	{
		Key: "warm", Value: "DURATION", Example: "5m0s",
		Help: "how long the previous release keeps running after a switch, for an instant rollback, 0s to 24h (default " + DefaultWarm.String() + ")",
		set: func(s *Settings, _, v string) error {
			d, err := durationIn(v, 0, MaxWarm)
			dd := Duration(d)
			s.Warm = &dd
			return err
		},
		unset:    func(s *Settings, _ string) { s.Warm = nil },
		describe: func(s Settings) []string { return line("warm", s.EffectiveWarm().String()) },
	},
	{
		Key: "dockerfile", Value: "PATH", Example: "deploy/Dockerfile",
		Help: "the build file's path in the repository (default Dockerfile, then Containerfile)",
		set: func(s *Settings, _, v string) error {
			clean := path.Clean(v)
			if v == "" || path.IsAbs(v) || clean == "." || strings.HasPrefix(clean, "../") || clean == ".." {
				return fmt.Errorf("invalid dockerfile %q: a path inside the repository, e.g. deploy/Dockerfile", v)
			}
			s.Dockerfile = clean
			return nil
		},
		unset:    func(s *Settings, _ string) { s.Dockerfile = "" },
		describe: func(s Settings) []string { return line("dockerfile", dash(s.Dockerfile)) },
	},
	{
		Key: "hsts", Value: "on|off", Example: "on",
		Help: "send Strict-Transport-Security over HTTPS (default off)",
		set: func(s *Settings, _, v string) error {
			switch v {
			case "on", "true", "1":
				s.HSTS = true
			case "off", "false", "0":
				s.HSTS = false
			default:
				return fmt.Errorf("invalid hsts %q: on or off", v)
			}
			return nil
		},
		unset:    func(s *Settings, _ string) { s.HSTS = false },
		describe: func(s Settings) []string { return line("hsts", onOff(s.HSTS)) },
	},
	{
		Key: "memory", Value: "SIZE", Example: "512m",
		Help: "the container's memory limit, e.g. 512m or 1g (default none)",
		set: func(s *Settings, _, v string) error {
			if _, err := memoryBytes(v); err != nil {
				return err
			}
			s.Memory = v
			return nil
		},
		unset:    func(s *Settings, _ string) { s.Memory = "" },
		describe: func(s Settings) []string { return line("memory", dash(s.Memory)) },
	},
	{
		Key: "cpus", Value: "CORES", Example: "0.5",
		Help: "the container's CPU limit in cores, e.g. 0.5 (default none)",
		set: func(s *Settings, _, v string) error {
			if _, err := cpuCores(v, runtime.NumCPU()); err != nil {
				return err
			}
			s.CPUs = v
			return nil
		},
		unset:    func(s *Settings, _ string) { s.CPUs = "" },
		describe: func(s Settings) []string { return line("cpus", dash(s.CPUs)) },
	},
	{
		Key: "keep", Value: "N", Example: "3",
		Help: "how many rollback images prune keeps, 0 to " + strconv.Itoa(MaxKeep) + " (default the server's keep)",
		set: func(s *Settings, _, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > MaxKeep {
				return fmt.Errorf("invalid keep %q: how many rollback images to keep, 0 to %d", v, MaxKeep)
			}
			s.Keep = &n
			return nil
		},
		unset: func(s *Settings, _ string) { s.Keep = nil },
		describe: func(s Settings) []string {
			if s.Keep == nil {
				return nil
			}
			return line("keep", strconv.Itoa(*s.Keep))
		},
	},
	{
		Key: "snapshots", Value: "N", Example: "5",
		Help: "how many data snapshots are kept, 0 to " + strconv.Itoa(MaxSnapshots) + " (default " + strconv.Itoa(DefaultSnapshots) + ")",
		set: func(s *Settings, _, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > MaxSnapshots {
				return fmt.Errorf("invalid snapshots %q: how many data snapshots to keep, 0 to %d", v, MaxSnapshots)
			}
			s.Snapshots = &n
			return nil
		},
		unset: func(s *Settings, _ string) { s.Snapshots = nil },
		describe: func(s Settings) []string {
			if s.Snapshots == nil {
				return nil
			}
			return line("snapshots", strconv.Itoa(*s.Snapshots))
		},
	},
	{
		Key: "watch", Value: "DURATION", Example: "2m0s",
		Help: "how long a release is watched after its switch, 0s (off) to 1h (default " + DefaultWatch.String() + ")",
		set: func(s *Settings, _, v string) error {
			d, err := durationIn(v, 0, MaxWatch)
			if err != nil {
				return err
			}
			dd := Duration(d)
			s.Watch = &dd
			return nil
		},
		unset:    func(s *Settings, _ string) { s.Watch = nil },
		describe: func(s Settings) []string { return line("watch", s.EffectiveWatch().String()) },
	},
	{
		Key: "watch_errors", Value: "PERCENT", Example: "25%",
		Help: "a watched release whose share of 5xx answers is above this is switched back, 0% to 100% (default " + strconv.Itoa(DefaultWatchErrors) + "%)",
		set: func(s *Settings, _, v string) error {
			n, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
			if err != nil || n < 0 || n > 100 {
				return fmt.Errorf("invalid watch_errors %q: a share of answers from 0%% to 100%%, e.g. 50%%", v)
			}
			s.WatchErrors = &n
			return nil
		},
		unset: func(s *Settings, _ string) { s.WatchErrors = nil },
		// shown once set, as watch_min: the defaults suit most apps
		describe: func(s Settings) []string {
			if s.WatchErrors == nil {
				return nil
			}
			return line("watch_errors", strconv.Itoa(s.EffectiveWatchErrors())+"%")
		},
	},
	{
		Key: "watch_min", Value: "N", Example: "50",
		Help: "how many answers a watched release gives before their share of 5xx is judged, 1 to " + strconv.Itoa(MaxWatchMin) + " (default " + strconv.Itoa(DefaultWatchMin) + ")",
		set: func(s *Settings, _, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxWatchMin {
				return fmt.Errorf("invalid watch_min %q: a number of answers from 1 to %d", v, MaxWatchMin)
			}
			s.WatchMin = &n
			return nil
		},
		unset: func(s *Settings, _ string) { s.WatchMin = nil },
		describe: func(s Settings) []string {
			if s.WatchMin == nil {
				return nil
			}
			return line("watch_min", strconv.Itoa(s.EffectiveWatchMin()))
		},
	},
	{
		Key: "target", Value: "podman|kube", Example: "kube",
		Help: "where the app runs: podman (this host) or kube (the cluster of the server config's [kube]) (default podman)",
		set: func(s *Settings, _, v string) error {
			switch v {
			case TargetPodman:
				s.Target = "" // the default: app.json stays as it was
			case TargetKube:
				s.Target = v
			default:
				return fmt.Errorf("invalid target %q: podman (this host) or kube (the [kube] cluster)", v)
			}
			return nil
		},
		unset: func(s *Settings, _ string) { s.Target = "" },
		// shown once set, as release_timeout: most apps run on this host
		describe: func(s Settings) []string {
			if s.Target == "" {
				return nil
			}
			return line("target", s.EffectiveTarget())
		},
	},
	{
		// build_arg.NODE_ENV=production is `--build-arg NODE_ENV=production`.
		Key: "build_arg.NAME", Prefix: "build_arg.", Value: "VALUE", Example: "production",
		Help: "a build argument, passed as --build-arg NAME=VALUE",
		set: func(s *Settings, name, v string) error {
			if !argName.MatchString(name) {
				return fmt.Errorf("invalid build arg name %q: use [A-Za-z_][A-Za-z0-9_]*", name)
			}
			if s.BuildArgs == nil {
				s.BuildArgs = map[string]string{}
			}
			s.BuildArgs[name] = v
			return nil
		},
		unset: func(s *Settings, name string) { delete(s.BuildArgs, name) },
		describe: func(s Settings) []string {
			names := make([]string, 0, len(s.BuildArgs))
			for k := range s.BuildArgs {
				names = append(names, k)
			}
			sort.Strings(names)
			out := make([]string, 0, len(names))
			for _, k := range names {
				out = append(out, "build_arg."+k+"="+s.BuildArgs[k])
			}
			return out
		},
	},
	{
		// scale.worker=2 runs two worker containers (`gitship scale`).
		Key: "scale.TYPE", Prefix: "scale.", Value: "N", Example: "2",
		Help: "how many containers the Procfile's process TYPE runs, 0 to " + strconv.Itoa(MaxScale) + " (default 1)",
		set: func(s *Settings, name, v string) error {
			if !procType.MatchString(name) {
				return fmt.Errorf("invalid process type %q: use [A-Za-z0-9_-], at most 63 characters", name)
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > MaxScale {
				return fmt.Errorf("invalid scale.%s %q: a number of containers from 0 to %d", name, v, MaxScale)
			}
			if s.Scale == nil {
				s.Scale = map[string]int{}
			}
			s.Scale[name] = n
			return nil
		},
		unset: func(s *Settings, name string) {
			delete(s.Scale, name)
			if len(s.Scale) == 0 {
				s.Scale = nil
			}
		},
		describe: func(s Settings) []string {
			names := make([]string, 0, len(s.Scale))
			for k := range s.Scale {
				names = append(names, k)
			}
			sort.Strings(names)
			out := make([]string, 0, len(names))
			for _, k := range names {
				out = append(out, "scale."+k+"="+strconv.Itoa(s.Scale[k]))
			}
			return out
		},
	},
}

// procType is a Procfile's process type (hook's rule; state imports no
// other leaf).
var procType = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)

// Specs returns the settings of `gitship set`, in the order status shows
// them.
func Specs() []Spec { return append([]Spec(nil), specs...) }

// lookup finds the spec of key, and for a family the member's name.
func lookup(key string) (sp Spec, name string, ok bool) {
	for _, sp := range specs {
		if sp.Prefix == "" && key == sp.Key {
			return sp, "", true
		}
		if name, isMember := strings.CutPrefix(key, sp.Prefix); sp.Prefix != "" && isMember {
			return sp, name, true
		}
	}
	return Spec{}, "", false
}

// Set applies one KEY=VALUE pair to the settings.
func (s *Settings) Set(pair string) error {
	k, v, ok := strings.Cut(pair, "=")
	sp, name, known := lookup(k)
	if !ok || !known {
		return fmt.Errorf("invalid setting %q: use KEY=VALUE with KEY one of %s, or %s", pair, strings.Join(SettingKeys(), ", "), strings.Join(families(), ", "))
	}
	return sp.set(s, name, v)
}

// Unset puts the setting key back to its default.
func (s *Settings) Unset(key string) error {
	sp, name, ok := lookup(key)
	if !ok {
		return fmt.Errorf("invalid setting %q: one of %s", key, strings.Join(SettingKeys(), ", "))
	}
	sp.unset(s, name)
	return nil
}

// Describe lists the settings with their effective values.
func (s Settings) Describe() []string {
	var out []string
	for _, sp := range specs {
		out = append(out, sp.describe(s)...)
	}
	return out
}

// SettingKeys lists the single settings `gitship set` takes, sorted (the
// families, e.g. build_arg.NAME, aside).
func SettingKeys() []string {
	var keys []string
	for _, sp := range specs {
		if sp.Prefix == "" {
			keys = append(keys, sp.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

// families lists the keys of the families of settings (build_arg.NAME).
func families() []string {
	var keys []string
	for _, sp := range specs {
		if sp.Prefix != "" {
			keys = append(keys, sp.Key)
		}
	}
	return keys
}

func line(key, val string) []string { return []string{key + "=" + val} }

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
