package access

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/spf13/afero"
	"golang.org/x/crypto/ssh"
)

// Sentinels for Keys decisions; check them with errors.Is.
var (
	ErrDuplicate = errors.New("duplicate key")
	ErrNoKey     = errors.New("no such key")
)

// commentPrefix marks the lines gitship wrote; every other line is kept as is.
const commentPrefix = "gitship:"

var keyName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// Key is one line of the managed authorized_keys file.
// Its JSON (`gitship keys list --json`) has name, type, admin and apps.
type Key struct {
	Name    string   `json:"name"`
	Apps    []string `json:"apps"` // apps the key may use; ignored when Admin
	Admin   bool     `json:"admin"`
	Type    string   `json:"type"` // e.g. "ssh-ed25519"
	Base64  string   `json:"-"`    // the key blob, as in authorized_keys
	Comment string   `json:"-"`    // "gitship:NAME apps=a,b" or "gitship:NAME admin"
}

// Keys manages the authorized_keys file at Path. Each line it writes forces
// `Bin --config Config ssh --key NAME` with `restrict` (no pty, no
// forwarding), so a key can reach nothing but gitship.
type Keys struct {
	Fs     afero.Fs
	Path   string
	Bin    string // absolute path of the gitship binary (sshd's environment has no useful PATH)
	Config string // absolute path of the server config
	// CheckApp, when set, refuses an app that does not exist (access does
	// not know where apps live: the caller does). Without it any valid
	// name is taken.
	CheckApp func(app string) error
}

// Add appends a key for name. It refuses an invalid name or app, an app
// CheckApp refuses, a key that is not exactly one public key without
// options, a name already used, and a key already present in the file
// (sshd uses the first matching line, so a second line would be dead or,
// before it, would shadow ours).
func (k *Keys) Add(name string, apps []string, admin bool, pubkey []byte) error {
	if !keyName.MatchString(name) {
		return fmt.Errorf("key name %q: use [a-z][a-z0-9-]{0,30}", name)
	}
	if !admin && len(apps) == 0 {
		return fmt.Errorf("key %s: give --app APP or --admin, or it could do nothing", name)
	}
	for _, a := range apps {
		if !appName.MatchString(a) {
			return fmt.Errorf("key %s: app name %q: use [a-z][a-z0-9-]{0,29}", name, a)
		}
		if k.CheckApp != nil && !admin {
			if err := k.CheckApp(a); err != nil {
				return fmt.Errorf("key %s: %w", name, err)
			}
		}
	}
	pk, err := parsePublicKey(pubkey)
	if err != nil {
		return fmt.Errorf("key %s: %w", name, err)
	}
	prefix, err := k.commandOption()
	if err != nil {
		return err
	}
	lines, err := k.read()
	if err != nil {
		return err
	}
	blob := base64.StdEncoding.EncodeToString(pk.Marshal())
	for i, l := range lines {
		other, isOurs := parseLine(l)
		if isOurs && other.Name == name {
			return fmt.Errorf("%w: key name %s is taken (line %d); `gitship keys remove %s` first", ErrDuplicate, name, i+1, name)
		}
		if lineKey(l) == blob {
			if isOurs {
				return fmt.Errorf("%w: this key is already added as %s", ErrDuplicate, other.Name)
			}
			return fmt.Errorf("%w: this key is already in %s (line %d, not written by gitship)", ErrDuplicate, k.Path, i+1)
		}
	}
	nk := Key{Name: name, Admin: admin, Type: pk.Type(), Base64: blob}
	if !admin {
		nk.Apps = dedupe(apps)
	}
	nk.Comment = comment(nk)
	line := fmt.Sprintf(`%s --key %s",restrict %s %s %s`, prefix, name, nk.Type, nk.Base64, nk.Comment)
	return k.write(append(lines, line))
}

// List returns the keys gitship wrote, in file order.
func (k *Keys) List() ([]Key, error) {
	lines, err := k.read()
	if err != nil {
		return nil, err
	}
	var keys []Key
	for _, l := range lines {
		if key, ok := parseLine(l); ok {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// Find returns the key called name; a name the file does not hold (a key
// removed since sshd read its line) is refused with ErrRefused.
func (k *Keys) Find(name string) (Key, error) {
	keys, err := k.List()
	if err != nil {
		return Key{}, err
	}
	for _, key := range keys {
		if key.Name == name {
			return key, nil
		}
	}
	return Key{}, refusef("unknown key %s", name)
}

// Remove deletes the key called name; other lines stay as they are.
func (k *Keys) Remove(name string) error {
	lines, err := k.read()
	if err != nil {
		return err
	}
	kept := lines[:0:0]
	for _, l := range lines {
		if key, ok := parseLine(l); ok && key.Name == name {
			continue
		}
		kept = append(kept, l)
	}
	if len(kept) == len(lines) {
		return fmt.Errorf("%w: no key named %q; see `gitship keys list`", ErrNoKey, name)
	}
	return k.write(kept)
}

// parsePublicKey accepts exactly one public key in authorized_keys form
// without options: options are gitship's to set.
func parsePublicKey(in []byte) (ssh.PublicKey, error) {
	pk, _, opts, rest, err := ssh.ParseAuthorizedKey(in)
	if err != nil {
		return nil, fmt.Errorf("not a valid ssh public key: %w", err)
	}
	if len(opts) > 0 {
		return nil, fmt.Errorf("public key has options (%s): give the bare .pub line", strings.Join(opts, ","))
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, fmt.Errorf("more than one public key: add them one by one")
	}
	return pk, nil
}

// commandOption returns `command="BIN --config CONFIG ssh` (the rest of the
// line is added by Add). sshd hands the command to the user's shell, so
// paths are shell-quoted; inside the option sshd only unescapes \", so only
// " is escaped (escaping \ too would leave two backslashes for the shell).
func (k *Keys) commandOption() (string, error) {
	for _, p := range []struct{ what, v string }{{"gitship binary", k.Bin}, {"config", k.Config}} {
		if !path.IsAbs(p.v) {
			return "", fmt.Errorf("%s path %q must be absolute: sshd runs the forced command with a bare environment", p.what, p.v)
		}
		if strings.ContainsFunc(p.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", fmt.Errorf("%s path %q contains a newline or control character", p.what, p.v)
		}
	}
	cmd := shellQuote(k.Bin) + " --config " + shellQuote(k.Config) + " ssh"
	return `command="` + strings.ReplaceAll(cmd, `"`, `\"`), nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9/._+,:@=-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func comment(k Key) string {
	if k.Admin {
		return commentPrefix + k.Name + " admin"
	}
	return commentPrefix + k.Name + " apps=" + strings.Join(k.Apps, ",")
}

// parseLine reads a line gitship wrote; ok is false for every other line.
func parseLine(l string) (Key, bool) {
	pk, cmt, _, _, err := ssh.ParseAuthorizedKey([]byte(l))
	if err != nil || !strings.HasPrefix(cmt, commentPrefix) {
		return Key{}, false
	}
	f := strings.Fields(strings.TrimPrefix(cmt, commentPrefix))
	if len(f) != 2 || !keyName.MatchString(f[0]) {
		return Key{}, false
	}
	k := Key{Name: f[0], Type: pk.Type(), Base64: base64.StdEncoding.EncodeToString(pk.Marshal()), Comment: cmt}
	switch {
	case f[1] == "admin":
		k.Admin = true
	case strings.HasPrefix(f[1], "apps="):
		if a := strings.TrimPrefix(f[1], "apps="); a != "" {
			k.Apps = strings.Split(a, ",")
		}
	default:
		return Key{}, false
	}
	return k, true
}

// lineKey returns the key blob of any authorized_keys line, or "".
func lineKey(l string) string {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l))
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(pk.Marshal())
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// read returns the file's lines (none if it does not exist yet).
func (k *Keys) read() ([]string, error) {
	b, err := afero.ReadFile(k.Fs, k.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", k.Path, err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// write replaces the file atomically: a half-written authorized_keys would
// lock every deployer out, or worse, let a line through without its command.
func (k *Keys) write(lines []string) error {
	dir := path.Dir(k.Path)
	if err := k.Fs.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := afero.TempFile(k.Fs, dir, ".authorized_keys-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", k.Path, err)
	}
	tmp := f.Name()
	data := strings.Join(lines, "\n")
	if data != "" {
		data += "\n"
	}
	err = writeClose(k.Fs, f, tmp, data)
	if err == nil {
		err = k.Fs.Rename(tmp, k.Path)
	}
	if err != nil {
		if rerr := k.Fs.Remove(tmp); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
		return fmt.Errorf("write %s: %w", k.Path, err)
	}
	return nil
}

func writeClose(fs afero.Fs, f afero.File, name, data string) error {
	if err := fs.Chmod(name, 0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
