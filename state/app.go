// Package state is the on-disk model of an app: its app.json, its settings
// (one table of specs), its release records, and the atomic write they all
// go through. It is a leaf: it imports no other gitship package.
package state

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

	"github.com/go-git/go-git/v5/plumbing"
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
	// GID is the group of the app's data dir (release/datagroup.go); 0 until
	// allocated.
	GID int `json:"gid,omitempty"`
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
func (a *App) ServedDomains(base string) []string { return a.Settings.Served(a.Name, base) }

// AppPath is apps/APP/app.json under appsDir.
func AppPath(appsDir, name string) string { return filepath.Join(appsDir, name, "app.json") }

// LoadApp reads the stored state of app name.
func LoadApp(fsys afero.Fs, appsDir, name string) (*App, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	data, err := afero.ReadFile(fsys, AppPath(appsDir, name))
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
	return WriteAtomic(fsys, AppPath(appsDir, a.Name), append(data, '\n'), 0o600)
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
		if ok, _ := afero.Exists(fsys, AppPath(appsDir, e.Name())); ok && e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// ValidBranch checks a branch name as git does (no "..", no ".lock" at
// the end of a component, no leading "-"...). hook has the same check for
// the refs it reads; state keeps its own, as leaves import no other leaf.
func ValidBranch(name string) error {
	if name == "" {
		return fmt.Errorf("invalid branch %q: empty", name)
	}
	if err := plumbing.NewBranchReferenceName(name).Validate(); err != nil {
		return fmt.Errorf("invalid branch %q: %w", name, err)
	}
	return nil
}
