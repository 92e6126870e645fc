package release

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// InitResult says what Init did and how to push.
type InitResult struct {
	Repo    string
	Created bool
	Remote  string // the argument of `git remote add server ...`
}

// Init creates app: its bare repository with the post-receive hook (which
// runs bin with the config at cfgPath), its state and data dirs, and its
// settings. Running it again changes nothing but the domains, when given.
// A domain another app serves, given or the implicit APP.<domain>, is
// refused before anything is created.
func (d *Deployer) Init(ctx context.Context, name string, domains []string, bin, cfgPath string) (*InitResult, error) {
	if err := state.ValidateName(name); err != nil {
		return nil, err
	}
	for _, dom := range domains {
		if err := state.ValidateDomain(dom); err != nil {
			return nil, err
		}
	}
	var have []string // the names an existing app holds
	a, err := state.LoadApp(d.Fs, d.Config.AppsDir(), name)
	if errors.Is(err, state.ErrNoApp) {
		a = &state.App{Name: name, Settings: state.Settings{Branch: "main"}, Created: d.Now()}
	} else if err != nil {
		return nil, err
	} else {
		// An existing app changes under its lock, like every other write
		// of its state (the lock order: app, then domains, then nginx).
		unlockApp, locked, err := d.lockApp(ctx, name, "init "+name)
		if err != nil {
			return nil, err
		}
		defer unlockApp()
		a = locked
		if have, err = d.heldDomains(name, a); err != nil {
			return nil, err
		}
	}
	if len(domains) > 0 {
		a.Domains = domains
	}
	unlock, err := d.claimDomains(ctx, name, a.ServedDomains(d.Config.Domain), have, nil)
	if err != nil {
		var taken *TakenError
		if errors.As(err, &taken) && len(domains) == 0 {
			return nil, fmt.Errorf("cannot init %s: it would be served at %s, which app %s serves already (give %s a --domain)", name, taken.Domain, taken.Owner, name)
		}
		return nil, fmt.Errorf("cannot init %s: %w", name, err)
	}
	defer unlock()
	repo := d.repoPath(name)
	created, err := hook.InitRepo(repo, a.Branch, hook.HookScript(bin, cfgPath))
	if err != nil {
		return nil, fmt.Errorf("init %s: %w", name, err)
	}
	if err := d.Fs.MkdirAll(filepath.Join(d.Config.AppsDir(), name, "releases"), 0o755); err != nil {
		return nil, fmt.Errorf("init %s: %w", name, err)
	}
	if err := state.SaveApp(d.Fs, d.Config.AppsDir(), a); err != nil {
		return nil, err
	}
	// An existing data dir keeps its group until the next release, which
	// migrates what it holds too (datagroup.go).
	if ok, err := afero.DirExists(d.Fs, d.dataDir(name)); err != nil || !ok {
		gid, err := d.appGID(name)
		if err != nil {
			return nil, fmt.Errorf("init %s: %w", name, err)
		}
		if err := d.mkdirGroup(d.dataDir(name), gid); err != nil {
			return nil, fmt.Errorf("init %s: %w", name, err)
		}
	}
	remote := repo
	if r := d.Config.SSH.Remote; r != "" {
		// git sends `git-receive-pack 'APP.git'` for this form, which the
		// forced command of `gitship keys` accepts (see access.Parse).
		remote = r + ":" + name + ".git"
	}
	return &InitResult{Repo: repo, Created: created, Remote: remote}, nil
}
