package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/spf13/afero"
)

// ErrNoApp is returned for an app that was never initialised.
var ErrNoApp = errors.New("no such app")

// App is the stored state of one app: what `gitship init` and later
// settings commands write to apps/APP/app.json.
type App struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Settings
	// Env is the app's own environment (`gitship config`).
	Env map[string]string `json:"env,omitempty"`
	// GID is the group of the app's data dir (datagroup.go); 0 until
	// allocated.
	GID int `json:"gid,omitempty"`
}

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

var appName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,29}$`)

// ValidateName checks an app name: 1–30 characters of a-z, 0-9 and -,
// starting with a letter (a DNS label, and safe in paths and names).
func ValidateName(name string) error {
	if !appName.MatchString(name) || strings.HasSuffix(name, "-") {
		return fmt.Errorf("invalid app name %q: use 1-30 characters of a-z, 0-9 and -, starting with a letter and not ending with -", name)
	}
	return nil
}

var label = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateDomain checks a host name: dot-separated DNS labels, at most 253
// characters, at least two labels, no trailing dot, no wildcard, and not an
// IP address (nginx would serve the app for every request to that
// address that names no other host).
func ValidateDomain(d string) error {
	bad := func(why string) error { return fmt.Errorf("invalid domain %q: %s", d, why) }
	if isIP(d) {
		return bad("an IP address, not a host name")
	}
	if d == "" || len(d) > 253 {
		return bad("must be 1-253 characters")
	}
	if d != strings.ToLower(d) {
		return bad("use lower case")
	}
	parts := strings.Split(d, ".")
	if len(parts) < 2 {
		return bad("needs at least two labels, e.g. app.example.com")
	}
	for _, p := range parts {
		if !label.MatchString(p) {
			return bad(fmt.Sprintf("label %q must be 1-63 characters of a-z, 0-9 and -, not starting or ending with -", p))
		}
	}
	return nil
}

// isIP says whether d is an IP address in any form a browser or nginx
// reads as one: v4 or v6, in brackets, with a trailing dot, or ending in
// a numeric label (WHATWG URLs read "1.2.3", "0x7f.1" and "010.0.0.1" as
// IPv4; no top-level domain is numeric).
func isIP(d string) bool {
	h := strings.TrimSuffix(d, ".")
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	last := h[strings.LastIndexByte(h, '.')+1:]
	if hex, ok := strings.CutPrefix(strings.ToLower(last), "0x"); ok {
		return strings.Trim(hex, "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// ServedDomains returns the app's domains, or APP.<base> when it has none.
func (a *App) ServedDomains(base string) []string { return a.Settings.served(a.Name, base) }

func (s Settings) served(app, base string) []string {
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
)

func (s Settings) healthPath() string {
	if s.HealthPath == "" {
		return DefaultHealthPath
	}
	return s.HealthPath
}

func (s Settings) healthTimeout() time.Duration {
	if s.HealthTimeout <= 0 {
		return DefaultHealthTimeout
	}
	return time.Duration(s.HealthTimeout)
}

func (s Settings) drain() time.Duration {
	if s.Drain == nil || *s.Drain < 0 {
		return DefaultDrain
	}
	return time.Duration(*s.Drain)
}

// appPath is apps/APP/app.json under root.
func appPath(appsDir, name string) string { return filepath.Join(appsDir, name, "app.json") }

// LoadApp reads the stored state of app name.
func LoadApp(fsys afero.Fs, appsDir, name string) (*App, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	data, err := afero.ReadFile(fsys, appPath(appsDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("app %s: %w (create it with `gitship init %s`)", name, ErrNoApp, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read app %s: %w", name, err)
	}
	var a App
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("read app %s: %w", name, err)
	}
	if a.Branch == "" {
		a.Branch = "main"
	}
	return &a, nil
}

// SaveApp writes the app's state atomically.
func SaveApp(fsys afero.Fs, appsDir string, a *App) error {
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("encode app %s: %w", a.Name, err)
	}
	// 0600: it holds the app's environment (secrets), for root only.
	return writeAtomic(fsys, appPath(appsDir, a.Name), append(data, '\n'), 0o600)
}

// ListApps returns the names of all initialised apps, sorted.
func ListApps(fsys afero.Fs, appsDir string) ([]string, error) {
	entries, err := afero.ReadDir(fsys, appsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	var names []string
	for _, e := range entries {
		if ok, _ := afero.Exists(fsys, appPath(appsDir, e.Name())); ok && e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// writeAtomic writes data to a temp file beside path and renames it into
// place, so a reader (or a deploy killed halfway) never sees half a file.
func writeAtomic(fsys afero.Fs, path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := afero.TempFile(fsys, dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = fsys.Chmod(tmp, perm)
	}
	if werr == nil {
		werr = fsys.Rename(tmp, path)
	}
	if werr != nil {
		if rerr := fsys.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			werr = errors.Join(werr, rerr)
		}
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

// limits are the container limits of the settings.
func (s Settings) limits() (memory int64, cpus float64, err error) {
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
