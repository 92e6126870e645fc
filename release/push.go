package release

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
)

// PushOptions are what one push asks of its deploy, with
// `git push -o gitship.KEY=VALUE` (ParsePushOptions).
type PushOptions struct {
	// NoDeploy (gitship.deploy=false) moves the branch and releases
	// nothing: `gitship deploy APP` releases it later.
	NoDeploy bool
	// HealthTimeout (gitship.health_timeout=DURATION) is this release's
	// health timeout, in place of the app's setting; 0: the setting. It
	// is recorded with the release (Record.HealthTimeout), not in the
	// app's settings, so no later release or rollback inherits it.
	HealthTimeout time.Duration
	// Watch (gitship.watch=DURATION, 0 = off) is how long this release is
	// watched after its switch, in place of the app's setting, when
	// HasWatch. Recorded with the release (Record.Watch) like
	// HealthTimeout.
	Watch    time.Duration
	HasWatch bool
}

// pushOptionPrefix starts the push options gitship reads; git and other
// tools may send others, which are ignored.
const pushOptionPrefix = "gitship."

// pushOptions are the options gitship knows, by name after the prefix.
var pushOptions = map[string]struct {
	form  string // how the option is written, for the error that lists them
	parse func(o *PushOptions, val string) error
}{
	"deploy": {"gitship.deploy=false", func(o *PushOptions, v string) error {
		switch v {
		case "true":
			o.NoDeploy = false
		case "false":
			o.NoDeploy = true
		default:
			return fmt.Errorf("push option gitship.deploy=%s: want true or false", v)
		}
		return nil
	}},
	"health_timeout": {"gitship.health_timeout=DURATION", func(o *PushOptions, v string) error {
		// Checked as `gitship set health_timeout=` checks it.
		var s state.Settings
		if err := s.Set("health_timeout=" + v); err != nil {
			return fmt.Errorf("push option gitship.health_timeout: %w", err)
		}
		o.HealthTimeout = time.Duration(s.HealthTimeout)
		return nil
	}},
	"watch": {"gitship.watch=DURATION", func(o *PushOptions, v string) error {
		// Checked as `gitship set watch=` checks it.
		var s state.Settings
		if err := s.Set("watch=" + v); err != nil {
			return fmt.Errorf("push option gitship.watch: %w", err)
		}
		o.Watch, o.HasWatch = s.EffectiveWatch(), true
		return nil
	}},
}

// ParsePushOptions reads the options of a push (hook.PushOptions: key to
// value). Keys not starting with "gitship." are ignored; an unknown
// gitship.* key or a bad value is a one-line error listing what is known:
// a typo must not deploy with the option silently dropped.
func ParsePushOptions(raw map[string]string) (PushOptions, error) {
	var o PushOptions
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first bad option reported is always the same
	for _, k := range keys {
		name, ours := strings.CutPrefix(k, pushOptionPrefix)
		if !ours {
			continue
		}
		opt, known := pushOptions[name]
		if !known {
			return PushOptions{}, fmt.Errorf("unknown push option %q: use %s; nothing deployed", k, knownPushOptions())
		}
		if err := opt.parse(&o, raw[k]); err != nil {
			return PushOptions{}, fmt.Errorf("%w; nothing deployed", err)
		}
	}
	return o, nil
}

// knownPushOptions lists the known options as they are written.
func knownPushOptions() string {
	forms := make([]string, 0, len(pushOptions))
	for _, o := range pushOptions {
		forms = append(forms, o.form)
	}
	sort.Strings(forms)
	return strings.Join(forms, " or ")
}

// Push releases what one push brought to app: of updates (post-receive's
// stdin), the update of the app's deploy branch, unless opts.NoDeploy.
// Every other update (another branch, a tag, a deletion, a second update
// of the deploy branch) is reported to out and deploys nothing. The
// branch has moved whatever happens here: post-receive cannot refuse a
// push.
func (d *Deployer) Push(ctx context.Context, app string, updates []hook.RefUpdate, opts PushOptions, out io.Writer) error {
	p := &Progress{W: out, Now: d.Now}
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app)
	if err != nil {
		return err
	}
	deploy, notes := hook.Pick(updates, a.Branch)
	for _, n := range notes {
		p.Say("%s", n)
	}
	if deploy == nil {
		return nil
	}
	if opts.NoDeploy {
		p.Say("push to %s: not deployed (gitship.deploy=false); release it with `gitship deploy %s`", deploy.Ref, app)
		return nil
	}
	_, err = d.deploy(ctx, app, deploy.New, state.KindPush, opts, out)
	return err
}

// WatchOf is how long release r is watched after its switch: its push's
// own watch when it gave one (gitship.watch), else its setting; 0: not
// watched.
func WatchOf(r *state.Record) time.Duration {
	if r.Watch != nil {
		return max(time.Duration(*r.Watch), 0)
	}
	return r.Settings.EffectiveWatch()
}

// healthTimeout is how long the health check of r waits: the push's own
// timeout when it gave one, else the release's setting.
func healthTimeout(r *state.Record) time.Duration {
	if r.HealthTimeout > 0 {
		return time.Duration(r.HealthTimeout)
	}
	return r.Settings.EffectiveHealthTimeout()
}

// watchText shows a watch's length, "off" for none.
func watchText(d time.Duration) string {
	if d <= 0 {
		return "off"
	}
	return d.String()
}
