package access

import (
	"errors"
	"testing"
)

func TestAllow(t *testing.T) {
	dev := Key{Name: "dev", Apps: []string{"a", "b"}}
	admin := Key{Name: "root", Admin: true}
	tests := []struct {
		name string
		key  Key
		cmd  string
		ok   bool
	}{
		{"push own app", dev, "git-receive-pack 'a.git'", true},
		{"fetch own app", dev, "git-upload-pack '/b.git'", true},
		{"push other app", dev, "git-receive-pack 'c.git'", false},
		{"rollback own app", dev, "gitship rollback a v2", true},
		{"rollback other app", dev, "gitship rollback c", false},
		{"config own app", dev, "gitship config set b X=1", true},
		{"domains other app", dev, "gitship domains add c x.example.com", false},
		{"apps", dev, "gitship apps", true},
		{"init refused", dev, "gitship init x", false},
		{"init own app refused", dev, "gitship init a", false},
		{"destroy refused", dev, "gitship destroy a", false},
		{"keys refused", dev, "gitship keys list", false},
		{"admin init", admin, "gitship init x", true},
		{"admin destroy", admin, "gitship destroy x", true},
		{"admin keys", admin, "gitship keys add bob --app a", true},
		{"admin push any", admin, "git-receive-pack 'zzz.git'", true},
		{"no apps key", Key{Name: "none"}, "git-upload-pack 'a.git'", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Parse(tt.cmd, repos)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.cmd, err)
			}
			err = Allow(tt.key, req)
			if tt.ok && err != nil {
				t.Errorf("Allow(%s, %q) = %v, want ok", tt.key.Name, tt.cmd, err)
			}
			if !tt.ok && !errors.Is(err, ErrRefused) {
				t.Errorf("Allow(%s, %q) = %v, want ErrRefused", tt.key.Name, tt.cmd, err)
			}
		})
	}
	// A hand-made Request with no app must not pass for a non-admin key.
	if err := Allow(dev, Request{Git: "git-receive-pack"}); err == nil {
		t.Error("Allow passed a git request without an app")
	}
}
