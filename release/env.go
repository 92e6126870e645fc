package release

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gitship/gitship/state"
)

var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkEnvKey refuses what is not an environment variable name, and
// gitship's own variables.
func checkEnvKey(k string) error {
	if !envKey.MatchString(k) {
		return fmt.Errorf("invalid key %q: use [A-Za-z_][A-Za-z0-9_]*", k)
	}
	if strings.HasPrefix(strings.ToUpper(k), "GITSHIP_") {
		return fmt.Errorf("key %s is reserved: GITSHIP_* variables are set by gitship", k)
	}
	return nil
}

// checkEnvValue refuses what app.json (JSON, UTF-8) or an environment
// cannot hold as given: JSON would store invalid UTF-8 as U+FFFD, and a
// NUL byte ends a variable.
func checkEnvValue(k, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("invalid value for %s: not valid UTF-8 (base64-encode binary values)", k)
	}
	if strings.ContainsRune(v, 0) {
		return fmt.Errorf("invalid value for %s: a NUL byte, which an environment variable cannot hold", k)
	}
	return nil
}

// SetEnv sets KEY=VAL pairs in app's environment. Unless restart is
// false, the change is a new release with the same image (no build),
// switched without a failed request; with restart false it is stored for
// the next release.
func (d *Deployer) SetEnv(ctx context.Context, app string, pairs []string, restart bool, out io.Writer) error {
	vals := map[string]string{}
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("invalid %q: use KEY=VALUE", kv)
		}
		if err := checkEnvKey(k); err != nil {
			return err
		}
		if err := checkEnvValue(k, v); err != nil {
			return err
		}
		vals[k] = v
	}
	return d.changeEnv(ctx, app, "config set "+strings.Join(keys(vals), " "), restart, out, func(env map[string]string) error {
		for k, v := range vals {
			env[k] = v
		}
		return nil
	})
}

// UnsetEnv removes keys from app's environment, like SetEnv.
func (d *Deployer) UnsetEnv(ctx context.Context, app string, names []string, restart bool, out io.Writer) error {
	return d.changeEnv(ctx, app, "config unset "+strings.Join(names, " "), restart, out, func(env map[string]string) error {
		for _, k := range names {
			if _, ok := env[k]; !ok {
				return fmt.Errorf("%s has no %s in its environment", app, k)
			}
			delete(env, k)
		}
		return nil
	})
}

func (d *Deployer) changeEnv(ctx context.Context, app, what string, restart bool, out io.Writer, change func(map[string]string) error) error {
	edit := func(a *state.App) error {
		env := make(map[string]string, len(a.Env))
		for k, v := range a.Env {
			env[k] = v
		}
		if err := change(env); err != nil {
			return err
		}
		a.Env = env
		return nil
	}
	if restart {
		return d.Reconfigure(ctx, app, what, out, edit)
	}
	unlock, a, err := d.lockApp(ctx, app, strings.Join(strings.Fields(what)[:2], " ")+" --no-restart")
	if err != nil {
		return err
	}
	defer unlock()
	if err := edit(a); err != nil {
		return err
	}
	if err := state.SaveApp(d.Fs, d.Config.AppsDir(), a); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s: stored for the next release (%s)\n", app, what)
	return err
}

// Env lists app's environment as KEY=VALUE, values masked unless reveal.
func (d *Deployer) Env(app string, reveal bool) ([]string, error) {
	env, err := d.EnvMap(app, reveal)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys(env) {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

// EnvMap is app's environment, values masked unless reveal (`gitship
// config list --json`).
func (d *Deployer) EnvMap(app string, reveal bool) (map[string]string, error) {
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(a.Env))
	for k, v := range a.Env {
		if !reveal {
			v = mask(v)
		}
		out[k] = v
	}
	return out, nil
}

// EnvValue is one value of app's environment.
func (d *Deployer) EnvValue(app, key string) (string, error) {
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return "", err
	}
	v, ok := a.Env[key]
	if !ok {
		return "", fmt.Errorf("%s has no %s in its environment", app, key)
	}
	return v, nil
}

func mask(v string) string {
	if v == "" {
		return ""
	}
	return "***"
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
