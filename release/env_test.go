package release

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// TestSetEnvRefusesValues: a value app.json or an environment cannot hold
// as given is refused with one line, before anything changes (JSON would
// store invalid UTF-8 as U+FFFD); any valid UTF-8 text is stored exactly.
func TestSetEnvRefusesValues(t *testing.T) {
	tests := []struct {
		name, pair, want string
	}{
		{"invalid UTF-8", "K=\xff\xfe", "invalid value for K: not valid UTF-8 (base64-encode binary values)"},
		{"truncated rune", "K=caf\xc3", "invalid value for K: not valid UTF-8"},
		{"NUL", "K=a\x00b", "invalid value for K: a NUL byte, which an environment variable cannot hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMemEnv(t)
			path := state.AppPath(e.d.Config.AppsDir(), "demo")
			before, err := afero.ReadFile(e.d.Fs, path)
			if err != nil {
				t.Fatal(err)
			}
			err = e.d.SetEnv(context.Background(), "demo", []string{"OK=fine", tt.pair}, false, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("SetEnv(%q) = %v, want one line starting %q", tt.pair, err, tt.want)
			}
			after, err := afero.ReadFile(e.d.Fs, path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(before) {
				t.Errorf("app.json changed by a refused SetEnv:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	e := newMemEnv(t)
	val := "café ☕\r\n-----BEGIN KEY-----\n\tx\ufffd"
	if err := e.d.SetEnv(context.Background(), "demo", []string{"K=" + val}, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, err := e.d.EnvValue("demo", "K"); err != nil || got != val {
		t.Errorf("stored %q, %v; want %q", got, err, val)
	}
}
