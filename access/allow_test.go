package access

import (
	"errors"
	"strings"
	"testing"
)

func TestAllow(t *testing.T) {
	dev := Key{Name: "dev", Apps: []string{"a", "b", "gone"}}
	admin := Key{Name: "root", Admin: true}
	// a, b, c and x exist; gone (still on dev's key) and zzz do not.
	exists := func(app string) error {
		switch app {
		case "a", "b", "c", "x":
			return nil
		}
		return errors.New("no such app")
	}
	tests := []struct {
		name string
		key  Key
		cmd  string
		want string // "" to allow, else part of the refusal
	}{
		// a key's own apps: git and every app command
		{"push own app", dev, "git-receive-pack 'a.git'", ""},
		{"fetch own app", dev, "git-upload-pack '/b.git'", ""},
		{"rollback own app", dev, "gitship rollback a v2", ""},
		{"config own app", dev, "gitship config set b X=1", ""},
		// other apps, existing or not: the same refusal, so nothing leaks
		{"push other app", dev, "git-receive-pack 'c.git'", `may not use app "c"`},
		{"push unknown app", dev, "git-receive-pack 'zzz.git'", `may not use app "zzz"`},
		{"rollback other app", dev, "gitship rollback c", `may not use app "c"`},
		{"domains other app", dev, "gitship domains add c x.example.com", `may not use app "c"`},
		{"no apps key", Key{Name: "none"}, "git-upload-pack 'a.git'", `may not use app "a"`},
		// admin-only commands
		{"apps refused", dev, "gitship apps", "admin keys only (use status APP)"},
		{"init refused", dev, "gitship init x", "init needs an admin key"},
		{"init own app refused", dev, "gitship init a", "init needs an admin key"},
		{"destroy refused", dev, "gitship destroy a", "destroy needs an admin key"},
		{"keys refused", dev, "gitship keys list", "keys needs an admin key"},
		{"admin apps", admin, "gitship apps", ""},
		{"admin init", admin, "gitship init x", ""},
		{"admin destroy", admin, "gitship destroy x", ""},
		{"admin keys", admin, "gitship keys add bob --app a", ""},
		{"admin push any", admin, "git-receive-pack 'c.git'", ""},
		// the app must exist, except for init, which creates it
		{"own app gone", dev, "git-receive-pack 'gone.git'", "no app gone"},
		{"own app gone command", dev, "gitship status gone", "no app gone"},
		{"admin push unknown", admin, "git-receive-pack 'zzz.git'", "no app zzz"},
		{"admin rollback unknown", admin, "gitship rollback zzz", "no app zzz"},
		{"admin destroy unknown", admin, "gitship destroy zzz", "no app zzz"},
		{"admin init new app", admin, "gitship init zzz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Parse(tt.cmd, repos)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.cmd, err)
			}
			err = Allow(tt.key, req, exists)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Allow(%s, %q) = %v, want ok", tt.key.Name, tt.cmd, err)
			case tt.want != "" && !errors.Is(err, ErrRefused):
				t.Errorf("Allow(%s, %q) = %v, want ErrRefused", tt.key.Name, tt.cmd, err)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Allow(%s, %q) = %q, want it to mention %q", tt.key.Name, tt.cmd, err, tt.want)
			}
		})
	}
}

// TestAllowIncomplete: requests Parse never makes pass for no key.
func TestAllowIncomplete(t *testing.T) {
	dev := Key{Name: "dev", Apps: []string{"a"}}
	admin := Key{Name: "root", Admin: true}
	exists := func(string) error { return nil }
	for _, req := range []Request{{}, {Git: "git-receive-pack"}, {App: "a"}} {
		for _, k := range []Key{dev, admin} {
			if err := Allow(k, req, exists); !errors.Is(err, ErrRefused) {
				t.Errorf("Allow(%s, %#v) = %v, want ErrRefused", k.Name, req, err)
			}
		}
	}
}
