package release

import (
	"context"
	"fmt"
	"math"
	"path"
	"runtime"
	"strconv"

	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/hook"
	"regexp"
	"sort"
	"strings"
	"time"
)

// settingKeys are the settings `gitship set` takes, with their checks.
var settingKeys = map[string]func(s *Settings, val string) error{
	"branch": func(s *Settings, v string) error {
		if !branchName.MatchString(v) {
			return fmt.Errorf("invalid branch %q", v)
		}
		if err := hook.ValidBranch(v); err != nil {
			return err
		}
		s.Branch = v
		return nil
	},
	"health_path": func(s *Settings, v string) error {
		if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, " \t\r\n#") {
			return fmt.Errorf("invalid health_path %q: a URL path starting with /", v)
		}
		s.HealthPath = v
		return nil
	},
	"health_timeout": func(s *Settings, v string) error {
		d, err := durationIn(v, time.Second, time.Hour)
		s.HealthTimeout = Duration(d)
		return err
	},
	"memory": func(s *Settings, v string) error {
		if _, err := memoryBytes(v); err != nil {
			return err
		}
		s.Memory = v
		return nil
	},
	"cpus": func(s *Settings, v string) error {
		if _, err := cpuCores(v, runtime.NumCPU()); err != nil {
			return err
		}
		s.CPUs = v
		return nil
	},
	"keep": func(s *Settings, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > config.MaxKeep {
			return fmt.Errorf("invalid keep %q: how many rollback images to keep, 0 to %d", v, config.MaxKeep)
		}
		s.Keep = &n
		return nil
	},
	"hsts": func(s *Settings, v string) error {
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
	"dockerfile": func(s *Settings, v string) error {
		clean := path.Clean(v)
		if v == "" || path.IsAbs(v) || clean == "." || strings.HasPrefix(clean, "../") || clean == ".." {
			return fmt.Errorf("invalid dockerfile %q: a path inside the repository, e.g. deploy/Dockerfile", v)
		}
		s.Dockerfile = clean
		return nil
	},
	"drain": func(s *Settings, v string) error {
		d, err := durationIn(v, 0, time.Hour)
		dd := Duration(d)
		s.Drain = &dd
		return err
	},
}

// buildArgPrefix names a build argument in `gitship set`:
// build_arg.NODE_ENV=production is `--build-arg NODE_ENV=production`.
const buildArgPrefix = "build_arg."

var argName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func setBuildArg(s *Settings, name, val string) error {
	if !argName.MatchString(name) {
		return fmt.Errorf("invalid build arg name %q: use [A-Za-z_][A-Za-z0-9_]*", name)
	}
	if s.BuildArgs == nil {
		s.BuildArgs = map[string]string{}
	}
	s.BuildArgs[name] = val
	return nil
}

var branchName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$`)

func durationIn(v string, min, max time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < min || d > max {
		return 0, fmt.Errorf("invalid duration %q: use Go's form (30s, 2m) between %s and %s", v, min, max)
	}
	return d, nil
}

// SettingKeys lists what `gitship set` takes.
func SettingKeys() []string {
	keys := make([]string, 0, len(settingKeys))
	for k := range settingKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Set applies KEY=VAL pairs to app's settings, all or none; they apply to
// the next release. A release in progress refuses the change (lockApp).
func (d *Deployer) Set(app string, pairs []string) (*App, error) {
	unlock, a, err := d.lockApp(context.Background(), app, "set")
	if err != nil {
		return nil, err
	}
	defer unlock()
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if name, isArg := strings.CutPrefix(k, buildArgPrefix); isArg && ok {
			if err := setBuildArg(&a.Settings, name, v); err != nil {
				return nil, err
			}
			continue
		}
		set, known := settingKeys[k]
		if !ok || !known {
			return nil, fmt.Errorf("invalid setting %q: use KEY=VALUE with KEY one of %s, or build_arg.NAME", kv, strings.Join(SettingKeys(), ", "))
		}
		if err := set(&a.Settings, v); err != nil {
			return nil, err
		}
	}
	return a, SaveApp(d.Fs, d.Config.AppsDir(), a)
}

// Unset puts app's settings named by keys back to their defaults.
func (d *Deployer) Unset(app string, keys []string) (*App, error) {
	unlock, a, err := d.lockApp(context.Background(), app, "unset")
	if err != nil {
		return nil, err
	}
	defer unlock()
	for _, k := range keys {
		if name, isArg := strings.CutPrefix(k, buildArgPrefix); isArg {
			delete(a.BuildArgs, name)
			continue
		}
		switch k {
		case "branch":
			a.Branch = "main"
		case "health_path":
			a.HealthPath = ""
		case "health_timeout":
			a.HealthTimeout = 0
		case "drain":
			a.Drain = nil
		case "dockerfile":
			a.Dockerfile = ""
		case "hsts":
			a.HSTS = false
		case "memory":
			a.Memory = ""
		case "cpus":
			a.CPUs = ""
		case "keep":
			a.Keep = nil
		default:
			return nil, fmt.Errorf("invalid setting %q: one of %s", k, strings.Join(SettingKeys(), ", "))
		}
	}
	return a, SaveApp(d.Fs, d.Config.AppsDir(), a)
}

// Describe lists the settings with their effective values.
func (s Settings) Describe() []string {
	out := []string{
		"branch=" + s.Branch,
		"health_path=" + s.healthPath(),
		"health_timeout=" + s.healthTimeout().String(),
		"drain=" + s.drain().String(),
		"dockerfile=" + dash(s.Dockerfile),
		"hsts=" + onOff(s.HSTS),
		"memory=" + dash(s.Memory),
		"cpus=" + dash(s.CPUs),
	}
	if s.Keep != nil {
		out = append(out, "keep="+strconv.Itoa(*s.Keep))
	}
	names := make([]string, 0, len(s.BuildArgs))
	for k := range s.BuildArgs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out = append(out, buildArgPrefix+k+"="+s.BuildArgs[k])
	}
	return out
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
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
