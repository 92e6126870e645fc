package access

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/afero"
	"golang.org/x/crypto/ssh"
)

// pubkey returns a deterministic ed25519 authorized_keys line.
func pubkey(t *testing.T, seed byte) []byte {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	pk, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(s).Public())
	if err != nil {
		t.Fatal(err)
	}
	return ssh.MarshalAuthorizedKey(pk)
}

func blob(t *testing.T, line []byte) string {
	t.Helper()
	f := strings.Fields(string(line))
	return f[1]
}

func newKeys(fs afero.Fs) *Keys {
	return &Keys{Fs: fs, Path: "/home/git/.ssh/authorized_keys", Bin: "/usr/local/bin/gitship", Config: "/etc/gitship/config.toml"}
}

func TestKeysRoundTrip(t *testing.T) {
	fs := afero.NewMemMapFs()
	k := newKeys(fs)
	foreign := "ssh-ed25519 " + blob(t, pubkey(t, 9)) + " ops@laptop"
	if err := fs.MkdirAll("/home/git/.ssh", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(fs, k.Path, []byte("# managed by hand\n"+foreign+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := k.Add("alice", []string{"a", "b", "a"}, false, pubkey(t, 1)); err != nil {
		t.Fatal(err)
	}
	if err := k.Add("root", nil, true, append([]byte("  "), pubkey(t, 2)...)); err != nil {
		t.Fatal(err)
	}
	b, err := afero.ReadFile(fs, k.Path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# managed by hand\n" + foreign + "\n" +
		`command="/usr/local/bin/gitship --config /etc/gitship/config.toml ssh --key alice",restrict ssh-ed25519 ` + blob(t, pubkey(t, 1)) + " gitship:alice apps=a,b\n" +
		`command="/usr/local/bin/gitship --config /etc/gitship/config.toml ssh --key root",restrict ssh-ed25519 ` + blob(t, pubkey(t, 2)) + " gitship:root admin\n"
	if string(b) != want {
		t.Fatalf("authorized_keys:\n%s\nwant:\n%s", b, want)
	}
	fi, err := fs.Stat(k.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}

	keys, err := k.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "alice" || strings.Join(keys[0].Apps, ",") != "a,b" || keys[0].Admin ||
		keys[1].Name != "root" || !keys[1].Admin || keys[0].Type != "ssh-ed25519" || keys[0].Base64 != blob(t, pubkey(t, 1)) ||
		keys[1].Comment != "gitship:root admin" {
		t.Fatalf("List = %+v", keys)
	}

	if err := k.Remove("alice"); err != nil {
		t.Fatal(err)
	}
	if err := k.Remove("alice"); !errors.Is(err, ErrNoKey) || strings.Contains(err.Error(), "\n") {
		t.Errorf("second Remove = %v, want one-line ErrNoKey", err)
	}
	b, err = afero.ReadFile(fs, k.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "# managed by hand\n"+foreign+"\n") || strings.Contains(string(b), "alice") {
		t.Errorf("after Remove:\n%s", b)
	}
	keys, err = k.List()
	if err != nil || len(keys) != 1 || keys[0].Name != "root" {
		t.Errorf("List after Remove = %+v, %v", keys, err)
	}
	// No temp files left behind.
	entries, err := afero.ReadDir(fs, "/home/git/.ssh")
	if err != nil || len(entries) != 1 {
		t.Errorf("dir has %d entries (%v), want only authorized_keys", len(entries), err)
	}
}

func TestKeysCreatesDir(t *testing.T) {
	fs := afero.NewMemMapFs()
	k := newKeys(fs)
	if err := k.Add("alice", []string{"a"}, false, pubkey(t, 1)); err != nil {
		t.Fatal(err)
	}
	fi, err := fs.Stat("/home/git/.ssh")
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir: %v %v, want mode 0700", fi, err)
	}
	keys, err := (&Keys{Fs: fs, Path: "/nope"}).List()
	if err != nil || len(keys) != 0 {
		t.Errorf("List of a missing file = %v, %v", keys, err)
	}
}

func TestKeysAddRefuses(t *testing.T) {
	two := append(pubkey(t, 3), pubkey(t, 4)...)
	tests := []struct {
		name  string
		key   string
		apps  []string
		admin bool
		pub   []byte
		err   error
		want  string
	}{
		{"duplicate name", "alice", []string{"a"}, false, pubkey(t, 5), ErrDuplicate, "key name alice is taken"},
		{"duplicate key", "bob", []string{"a"}, false, pubkey(t, 1), ErrDuplicate, "already added as alice"},
		{"duplicate foreign key", "bob", []string{"a"}, false, pubkey(t, 9), ErrDuplicate, "not written by gitship"},
		{"not a key", "bob", []string{"a"}, false, []byte("hello world"), nil, "not a valid ssh public key"},
		{"empty key", "bob", []string{"a"}, false, nil, nil, "not a valid ssh public key"},
		{"private key", "bob", []string{"a"}, false, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n"), nil, "not a valid ssh public key"},
		{"two keys", "bob", []string{"a"}, false, two, nil, "more than one public key"},
		{"options", "bob", []string{"a"}, false, append([]byte(`command="/bin/sh" `), pubkey(t, 6)...), nil, "has options"},
		{"bad name", "Bob", []string{"a"}, false, pubkey(t, 6), nil, "key name"},
		{"name with space", "a b", []string{"a"}, false, pubkey(t, 6), nil, "key name"},
		{"long name", strings.Repeat("a", 32), []string{"a"}, false, pubkey(t, 6), nil, "key name"},
		{"bad app", "bob", []string{"A"}, false, pubkey(t, 6), nil, "app name"},
		{"no rights", "bob", nil, false, pubkey(t, 6), nil, "--app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := afero.NewMemMapFs()
			k := newKeys(fs)
			foreign := "ssh-ed25519 " + blob(t, pubkey(t, 9)) + " ops@laptop\n"
			if err := afero.WriteFile(fs, k.Path, []byte(foreign), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := k.Add("alice", []string{"a"}, false, pubkey(t, 1)); err != nil {
				t.Fatal(err)
			}
			before, err := afero.ReadFile(fs, k.Path)
			if err != nil {
				t.Fatal(err)
			}
			err = k.Add(tt.key, tt.apps, tt.admin, tt.pub)
			if err == nil {
				t.Fatal("Add succeeded")
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("Add = %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Add = %q, want one line mentioning %q", err, tt.want)
			}
			after, err := afero.ReadFile(fs, k.Path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(before) {
				t.Errorf("file changed by a refused Add:\n%s", after)
			}
		})
	}
}

func TestKeysQuoting(t *testing.T) {
	fs := afero.NewMemMapFs()
	k := &Keys{Fs: fs, Path: "/k", Bin: `/opt/git ship/bin/it's"x`, Config: "/etc/gitship/config.toml"}
	if err := k.Add("alice", []string{"a"}, false, pubkey(t, 1)); err != nil {
		t.Fatal(err)
	}
	b, err := afero.ReadFile(fs, k.Path)
	if err != nil {
		t.Fatal(err)
	}
	_, cmt, opts, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	// sshd unescapes only \" inside the option, then hands the command to a shell.
	wantOpt := `command="'/opt/git ship/bin/it'\''s\"x' --config /etc/gitship/config.toml ssh --key alice"`
	if len(opts) != 2 || opts[0] != wantOpt || opts[1] != "restrict" || cmt != "gitship:alice apps=a" {
		t.Errorf("options %q comment %q, want [%s restrict]", opts, cmt, wantOpt)
	}
	for _, bad := range []*Keys{
		{Fs: fs, Path: "/k", Bin: "gitship", Config: "/c"},
		{Fs: fs, Path: "/k", Bin: "/bin/gitship", Config: "c.toml"},
		{Fs: fs, Path: "/k", Bin: "/bin/git\nship", Config: "/c"},
		{Fs: fs, Path: "/k", Bin: "/bin/gitship", Config: "/c\r"},
	} {
		if err := bad.Add("bob", []string{"a"}, false, pubkey(t, 2)); err == nil {
			t.Errorf("Add with Bin %q Config %q succeeded", bad.Bin, bad.Config)
		}
	}
}

// TestKeysAddRefusesUnknownApp: a key for an app CheckApp refuses is not
// written, with one line naming the app; admin keys name no app.
func TestKeysAddRefusesUnknownApp(t *testing.T) {
	fs := afero.NewMemMapFs()
	k := newKeys(fs)
	k.CheckApp = func(app string) error {
		if app != "web" {
			return fmt.Errorf("app %s: no such app", app)
		}
		return nil
	}
	err := k.Add("bob", []string{"web", "nosuchapp"}, false, pubkey(t, 3))
	if err == nil || err.Error() != "key bob: app nosuchapp: no such app" {
		t.Fatalf("Add = %v, want key bob: app nosuchapp: no such app", err)
	}
	if ok, _ := afero.Exists(fs, k.Path); ok {
		t.Errorf("%s written for a refused key", k.Path)
	}
	if err := k.Add("bob", []string{"web"}, false, pubkey(t, 3)); err != nil {
		t.Fatal(err)
	}
	if err := k.Add("root", []string{"gone"}, true, pubkey(t, 4)); err != nil {
		t.Fatalf("admin key: %v", err)
	}
}

func TestKeysFind(t *testing.T) {
	k := newKeys(afero.NewMemMapFs())
	if _, err := k.Find("alice"); !errors.Is(err, ErrRefused) {
		t.Errorf("Find in a missing file = %v, want ErrRefused", err)
	}
	if err := k.Add("alice", []string{"a"}, false, pubkey(t, 1)); err != nil {
		t.Fatal(err)
	}
	got, err := k.Find("alice")
	if err != nil || got.Name != "alice" || len(got.Apps) != 1 || got.Apps[0] != "a" {
		t.Errorf("Find(alice) = %+v, %v", got, err)
	}
	_, err = k.Find("bob")
	if !errors.Is(err, ErrRefused) || err.Error() != "refused: unknown key bob" {
		t.Errorf("Find(bob) = %v, want refused: unknown key bob", err)
	}
}
