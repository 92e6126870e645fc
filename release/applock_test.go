package release

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/state"
)

// TestSettingsWriteDuringRelease: a settings write (set, unset, config
// set --no-restart) while a release runs is never lost. The release
// (here a config change, which loads the app when it starts and saves
// all of it when it ends) is paused after its container started; each
// write either is refused with one line naming the release, or survives
// the release's save.
func TestSettingsWriteDuringRelease(t *testing.T) {
	e, _ := newLockEnv(t)
	d := e.d
	if err := d.SetEnv(t.Context(), "demo", []string{"OLD=1"}, false, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	e.mustDeploy(t, sha1)

	paused, resume := make(chan struct{}), make(chan struct{})
	d.Pause = func(ctx context.Context, step string) {
		if step == "start" {
			close(paused)
			<-resume
		}
	}
	var out strings.Builder
	released := make(chan error, 1)
	go func() { released <- d.SetEnv(t.Context(), "demo", []string{"FROM_RELEASE=1"}, true, &out) }()
	select {
	case <-paused:
	case err := <-released:
		t.Fatalf("the release ended before its pause: %v\n%s", err, out.String())
	}

	type write struct {
		name string
		do   func() error
		// survived says whether the write is in the app after the release.
		survived func(a *state.App) bool
	}
	writes := []write{
		{"set", func() error { _, err := d.Set(t.Context(), "demo", []string{"drain=7s"}); return err },
			func(a *state.App) bool { return a.Drain != nil && time.Duration(*a.Drain) == 7*time.Second }},
		{"unset", func() error { _, err := d.Unset(t.Context(), "demo", []string{"health_timeout"}); return err },
			func(a *state.App) bool { return a.HealthTimeout == 0 }},
		{"config set --no-restart", func() error {
			return d.SetEnv(t.Context(), "demo", []string{"STORED=1"}, false, &strings.Builder{})
		}, func(a *state.App) bool { return a.Env["STORED"] == "1" }},
		{"init demo", func() error {
			_, err := d.Init(t.Context(), "demo", []string{"new.example.com"}, "/usr/local/bin/gitship", "/etc/gitship/config.toml")
			return err
		}, func(a *state.App) bool { return slices.Contains(a.Domains, "new.example.com") }},
		{"config unset --no-restart", func() error {
			return d.UnsetEnv(t.Context(), "demo", []string{"OLD"}, false, &strings.Builder{})
		}, func(a *state.App) bool { _, ok := a.Env["OLD"]; return !ok }},
	}
	errs := make([]error, len(writes))
	for i, w := range writes {
		errs[i] = w.do()
		if errs[i] == nil {
			continue
		}
		want := `demo is busy: the config of demo v2 (pid ` // then the pid and the age
		if msg := errs[i].Error(); !strings.HasPrefix(msg, want) || strings.Contains(msg, "\n") ||
			!strings.Contains(msg, "nothing was changed: run `gitship "+w.name+"` again when it is done") {
			t.Errorf("%s during the release: %v\nwant one line starting %q and naming the command to run again", w.name, msg, want)
		}
		if ue := (*usererr.Error)(nil); !errors.As(errs[i], &ue) || ue.IsUsage || ue.Hint != "run `gitship "+w.name+"` again when it is done" {
			t.Errorf("%s during the release: %#v, want a user error whose hint names the command to run again", w.name, ue)
		}
	}
	close(resume)
	if err := <-released; err != nil {
		t.Fatalf("the release: %v\n%s", err, out.String())
	}
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if a.Env["FROM_RELEASE"] != "1" {
		t.Errorf("the release's own change is lost: env %v", a.Env)
	}
	for i, w := range writes {
		if errs[i] == nil && !w.survived(a) {
			t.Errorf("%s during the release succeeded, but the release's save overwrote it (lost update)", w.name)
		}
		if errs[i] != nil && w.survived(a) {
			t.Errorf("%s was refused (%v), but changed the app", w.name, errs[i])
		}
	}

	// Once the release is done, the same writes go through.
	for _, w := range writes {
		if err := w.do(); err != nil {
			t.Errorf("%s after the release: %v", w.name, err)
		}
	}
	a, err = state.LoadApp(d.Fs, d.Config.AppsDir(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range writes {
		if !w.survived(a) {
			t.Errorf("%s after the release is not in the app", w.name)
		}
	}
	if !lockFree(t, d) {
		t.Error("the deploy lock is still held")
	}
}
