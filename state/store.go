package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/afero"
)

// Status is where a release is in its life.
type Status string

// The states of a release (see release/doc.go).
const (
	StatusBuilding Status = "building"
	StatusStarting Status = "starting"
	StatusLive     Status = "live"
	// StatusWarm is a release switched away from whose web containers
	// still run, until WarmUntil: a rollback to it points nginx back at
	// them.
	StatusWarm    Status = "warm"
	StatusRetired Status = "retired"
	StatusFailed  Status = "failed"
)

// Record is one release of an app, as stored in apps/APP/releases/vN.json.
type Record struct {
	Version   int       `json:"version"`
	App       string    `json:"app"`
	Kind      string    `json:"kind"` // push, deploy, rollback, config
	Commit    string    `json:"commit"`
	Image     string    `json:"image,omitempty"`
	ImageID   string    `json:"image_id,omitempty"`
	Builder   string    `json:"builder,omitempty"`
	Container string    `json:"container,omitempty"`
	Socket    string    `json:"socket,omitempty"`
	Status    Status    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Created   time.Time `json:"created"`
	Finished  time.Time `json:"finished,omitempty"`
	LiveSince time.Time `json:"live_since,omitempty"`
	// WarmUntil is when a warm release retires (StatusWarm).
	WarmUntil time.Time `json:"warm_until,omitzero"`
	// Pruned is set once prune removed Image: no rollback to it.
	Pruned bool `json:"pruned,omitempty"`
	// RollbackOf is the release a rollback released again.
	RollbackOf int `json:"rollback_of,omitempty"`
	// Settings and Env are what the release ran with: a rollback to it
	// restores them along with its image.
	Settings Settings          `json:"settings"`
	Env      map[string]string `json:"env,omitempty"`
	// HealthTimeout is the release's own health timeout, given by its
	// push (`git push -o gitship.health_timeout=`); 0: Settings'. Kept out
	// of Settings so that a rollback to the release does not restore it.
	HealthTimeout Duration `json:"health_timeout,omitempty"`
	// Watch is the release's own watch, given by its push (`git push -o
	// gitship.watch=0`); nil: Settings'. Kept out of Settings, as
	// HealthTimeout.
	Watch *Duration `json:"watch,omitempty"`
	// ImageUser is the user the image runs as ("root" for none), recorded
	// when the release starts: a change of user makes the data dir
	// group-writable first (release/datagroup.go).
	ImageUser string `json:"image_user,omitempty"`
	// Processes are the process types of the commit's Procfile and their
	// commands (nil: no Procfile; web runs the image's CMD). "release" is
	// the release phase's command, never a container of its own; every
	// type but web and release is a worker.
	Processes map[string]string `json:"processes,omitempty"`
	// Procs are the containers the release runs, web first. A record from
	// before the process model has none: it runs Container alone.
	Procs []Proc `json:"procs,omitempty"`
	// Listen is what the release's web process answered its health check
	// on: ListenSocket or ListenPort.
	Listen string `json:"listen,omitempty"`
	// Cron are the jobs of the commit's app.json: a rollback brings the
	// release's schedule back with it.
	Cron []CronJob `json:"cron,omitempty"`
	// Pushed is the release's image by digest in the [kube] registry
	// (REGISTRY/APP@sha256:...), for an app with target=kube: what its
	// Deployments run, and what a rollback to it applies again.
	Pushed string `json:"pushed,omitempty"`
}

// What a web process listens on (Record.Listen).
const (
	ListenSocket = "socket" // the unix socket $GITSHIP_SOCKET
	ListenPort   = "port"   // TCP $PORT, published on a loopback port
)

// Proc is one container of a release: a web process or a worker.
type Proc struct {
	Type  string `json:"type"`  // "web", "worker", ...: the Procfile's
	Index int    `json:"index"` // 1..N within its type
	Name  string `json:"name"`  // the container
	// Socket is a web process's socket on the host.
	Socket string `json:"socket,omitempty"`
	// Port is the loopback port on the host that a web process's $PORT is
	// published on (0: none).
	Port int `json:"port,omitempty"`
}

// CronJob is one scheduled job of an app.json (Dokku's `cron` list).
type CronJob struct {
	// ID names the job in `gitship cron run APP ID`: stable while its
	// schedule and command do not change.
	ID       string `json:"id"`
	Schedule string `json:"schedule"`
	Command  string `json:"command"`
}

// Kinds of release.
const (
	KindPush     = "push"
	KindDeploy   = "deploy"
	KindRollback = "rollback"
	// KindConfig is a release of changed settings (domains, environment)
	// with the live release's image: no build.
	KindConfig = "config"
	// KindRestore releases the live image again on restored data
	// (`gitship restore`): no build.
	KindRestore = "restore"
)

// Running says whether the release's containers are meant to run: it is
// live, or warm (switched away from, kept for an instant rollback).
func (r *Record) Running() bool { return r.Status == StatusLive || r.Status == StatusWarm }

// Name is the release's name, e.g. "v7".
func (r *Record) Name() string { return "v" + strconv.Itoa(r.Version) }

// StartImage is what a container of the release runs: the image it
// recorded by ID, so a later build that took its tag changes nothing.
// Records from before IDs were kept fall back to the tag.
func (r *Record) StartImage() string {
	if r.ImageID != "" {
		return ImageID(r.ImageID)
	}
	return r.Image
}

// ImageID is id without the "sha256:" some APIs put in front of it.
func ImageID(id string) string { return strings.TrimPrefix(id, "sha256:") }

// NameOr is the release's name, or s for no release (a nil r).
func (r *Record) NameOr(s string) string {
	if r == nil {
		return s
	}
	return r.Name()
}

// What says what made the release: push, deploy, or "rollback to v6".
func (r *Record) What() string {
	if r.Kind == KindRollback && r.RollbackOf > 0 {
		return fmt.Sprintf("rollback to v%d", r.RollbackOf)
	}
	return r.Kind
}

// Duration is how long the deploy took (0 while it runs).
func (r *Record) Duration() time.Duration {
	if r.Finished.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Created)
}

// Store keeps the release records of every app.
//
// A Store remembers the records it decoded (a command lists an app's
// releases many times, and an app's history only grows): List and Get
// decode a file again only when its bytes changed, and read it again
// only when it may have been replaced since (cache.go). A Store must not
// be copied once used.
type Store struct {
	Fs      afero.Fs
	AppsDir string

	mu    sync.Mutex
	cache map[string]*cached // by path
	// now is the clock files' ctimes are compared with (nil: time.Now;
	// the tests move it forward to settle files).
	now func() time.Time
}

func (s *Store) dir(app string) string { return filepath.Join(s.AppsDir, app, "releases") }

func (s *Store) path(app string, v int) string {
	return filepath.Join(s.dir(app), "v"+strconv.Itoa(v)+".json")
}

// Save writes r atomically.
func (s *Store) Save(r *Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode release %s %s: %w", r.App, r.Name(), err)
	}
	data = append(data, '\n')
	path := s.path(r.App, r.Version)
	// 0600: a record bundles the release's environment (secrets).
	if err := WriteAtomic(s.Fs, path, data, 0o600); err != nil {
		s.forget(path)
		return err
	}
	s.remember(path, data, r)
	return nil
}

// List returns every valid record of app, oldest first. Files that are not
// records (temp files of an interrupted write) are ignored; a record that
// does not decode is an error naming it. The records are the caller's to
// change.
func (s *Store) List(app string) ([]*Record, error) {
	entries, err := afero.ReadDir(s.Fs, s.dir(app))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list releases of %s: %w", app, err)
	}
	var out []*Record
	for _, e := range entries {
		v, ok := versionOf(e.Name())
		if !ok {
			continue
		}
		r, err := s.load(app, v, e)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Get reads release v of app.
func (s *Store) Get(app string, v int) (*Record, error) {
	return s.load(app, v, nil)
}

// Live returns the live release of app, or nil when none is live.
func (s *Store) Live(app string) (*Record, error) {
	list, err := s.List(app)
	if err != nil {
		return nil, err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Status == StatusLive {
			return list[i], nil
		}
	}
	return nil, nil
}

// Next allocates the next release number of app by creating its record
// with status building.
func (s *Store) Next(r *Record) error {
	list, err := s.List(r.App)
	if err != nil {
		return err
	}
	r.Version = 1
	if n := len(list); n > 0 {
		r.Version = list[n-1].Version + 1
	}
	r.Status = StatusBuilding
	return s.Save(r)
}

func versionOf(name string) (int, bool) {
	if !strings.HasPrefix(name, "v") || !strings.HasSuffix(name, ".json") {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "v"), ".json"))
	// Only the canonical name: "v+2.json" or "v01.json" would alias v2/v1.
	return v, err == nil && v > 0 && name == "v"+strconv.Itoa(v)+".json"
}
