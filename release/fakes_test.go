package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitship/gitship/build"
	"github.com/gitship/gitship/container"
	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/state"
	"github.com/spf13/afero"
)

// Fakes of the interfaces Deployer consumes. Each records what it was
// asked so tests can assert on the calls.

var (
	_ Source  = (*fakeSource)(nil)
	_ Builder = (*fakeBuilder)(nil)
	_ Runtime = (*fakeRuntime)(nil)
	_ Proxy   = (*fakeProxy)(nil)
	_ Locker  = (*fakeLocker)(nil)
)

// fakeClock advances by step on every reading, so step durations printed
// by Progress are deterministic.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), step: 250 * time.Millisecond}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

// fakeSource resolves every rev to sha and exports files into the
// build context through fs (the Deployer's Fs).
type fakeSource struct {
	fs         afero.Fs
	sha        string
	files      map[string]string
	resolveErr error
	exportErr  error

	mu       sync.Mutex
	exported []string // dirs
	prevs    []*hook.Previous
}

func (s *fakeSource) Resolve(repo, rev string) (string, error) {
	if s.resolveErr != nil {
		return "", s.resolveErr
	}
	return s.sha, nil
}

// Export writes the files; with a prev of the same commit (the fake's
// tree hash is the commit's) it counts them all as reused.
func (s *fakeSource) Export(ctx context.Context, repo, sha, dir string, prev *hook.Previous) (hook.Exported, error) {
	s.mu.Lock()
	s.exported = append(s.exported, dir)
	s.prevs = append(s.prevs, prev)
	s.mu.Unlock()
	st := hook.Exported{Tree: sha, Files: len(s.files)}
	if s.exportErr != nil {
		return st, s.exportErr
	}
	for name, content := range s.files {
		if err := s.fs.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			return st, err
		}
		if err := afero.WriteFile(s.fs, filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return st, err
		}
	}
	if prev != nil && prev.Tree == sha {
		st.Reused = st.Files
	}
	return st, nil
}

// fakeBuilder writes output to the build stream (not line-aligned) and
// returns err or an image.
type fakeBuilder struct {
	output string
	err    error
	// errs, when set, are the errors of the first builds, one each, before err.
	errs []error

	mu   sync.Mutex
	reqs []build.Request
	// contextHadDockerfile records whether the build context held the
	// Dockerfile named in the request at build time.
	fs                   afero.Fs
	contextHadDockerfile []bool
	// during, if set, runs in the middle of every build.
	during func()
	// rt, if set, gets each built image: its tag and its ID exist.
	rt *fakeRuntime
}

func (b *fakeBuilder) Name() string { return "fake" }

func (b *fakeBuilder) Build(ctx context.Context, req build.Request, out io.Writer) (build.Image, error) {
	b.mu.Lock()
	b.reqs = append(b.reqs, req)
	if b.fs != nil {
		ok, _ := afero.Exists(b.fs, filepath.Join(req.ContextDir, req.Dockerfile))
		b.contextHadDockerfile = append(b.contextHadDockerfile, ok)
	}
	during := b.during
	ferr := b.err
	if len(b.errs) > 0 {
		ferr, b.errs = b.errs[0], b.errs[1:]
	}
	b.mu.Unlock()
	if during != nil {
		during()
	}
	// Deliberately split mid-line, as Podman's stream is.
	for i := 0; i < len(b.output); i += 5 {
		end := min(i+5, len(b.output))
		if _, err := io.WriteString(out, b.output[i:end]); err != nil {
			return build.Image{}, err
		}
	}
	if ferr != nil {
		return build.Image{}, ferr
	}
	b.mu.Lock()
	// Each build makes a new image: the same tag built twice must not
	// look like the same image.
	id := fmt.Sprintf("sha256:feedface%04d", len(b.reqs))
	b.mu.Unlock()
	if b.rt != nil {
		b.rt.addImage(req.Tag, id)
	}
	return build.Image{ID: id, Tag: req.Tag}, nil
}

// fakeRuntime starts a real HTTP server on a unix socket at
// SocketDir/web.sock for each started container (unless noSocket), so the
// real health probe can reach it.
type fakeRuntime struct {
	t *testing.T

	mu       sync.Mutex
	status   int  // what started containers answer; 0 means 200
	noSocket bool // Start creates no socket
	startErr error
	state    container.State // what Inspect reports; zero means running
	logs     []string

	calls   []string // "start NAME", "stop NAME", "remove NAME", ...
	specs   []container.Spec
	running map[string]*http.Server
	pruned  map[string]bool // images ImageExists denies (by tag or ID)
	hosts   []string        // Host headers seen by any started container
	paths   []string
	user    string // what ImageUser answers for every image ("": root)
	// onPort makes started containers serve on a loopback TCP port,
	// reported as their HostPort, instead of on the socket.
	onPort    bool
	noShell   bool                 // HasShell says no
	shellAsks int                  // HasShell calls
	listening []container.Listener // what Listening reports
	ports     map[string]int       // HostPort of each started container
	closers   []io.Closer

	runs    []container.Spec
	runIn   []string // what each Run read from its stdin
	runOut  string   // what Run writes to stdout
	runCode int      // what Run answers
	runFn   func(ctx context.Context, s container.Spec, stdout io.Writer) (int, error)
	// paused are the containers Pause froze; pauseErr, unpauseErr what
	// Pause and Unpause of a container return.
	paused     map[string]bool
	pauseErr   map[string]error
	unpauseErr map[string]error
	// onPause runs after each successful Pause (a test writes to the
	// data dir then, as a frozen app cannot).
	onPause func(name string)
	// exited are the containers that exited at once: a worker whose
	// command names "crash" does.
	exited map[string]bool
	// onStop runs on every Stop.
	onStop func(name string)

	// images are the tags in the store and the IDs they name; an ID
	// names itself.
	images map[string]string
}

func newRuntime(t *testing.T) *fakeRuntime {
	rt := &fakeRuntime{t: t, running: map[string]*http.Server{}, images: map[string]string{}, ports: map[string]int{}}
	t.Cleanup(func() {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		for _, srv := range rt.running {
			srv.Close()
		}
		for _, c := range rt.closers {
			c.Close()
		}
	})
	return rt
}

func (rt *fakeRuntime) record(call string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.calls = append(rt.calls, call)
}

func (rt *fakeRuntime) Start(ctx context.Context, s container.Spec) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.calls = append(rt.calls, "start "+s.Name)
	rt.specs = append(rt.specs, s)
	if rt.startErr != nil {
		return rt.startErr
	}
	if _, ok := rt.running[s.Name]; ok {
		return fmt.Errorf("container %s already exists", s.Name)
	}
	srv := &http.Server{}
	rt.running[s.Name] = srv
	if strings.Contains(strings.Join(s.Command, " "), "crash") {
		if rt.exited == nil {
			rt.exited = map[string]bool{}
		}
		rt.exited[s.Name] = true
	}
	var ln net.Listener
	var err error
	if s.Port != 0 {
		// The published port: the app's server when it listens on
		// $PORT, else nothing answers there (connections are dropped).
		tcp, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("fake start %s: %w", s.Name, err)
		}
		rt.ports[s.Name] = tcp.Addr().(*net.TCPAddr).Port
		if rt.onPort && !rt.noSocket {
			ln = tcp
		} else {
			rt.closers = append(rt.closers, tcp)
			go func() {
				for {
					c, err := tcp.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
	}
	// No socket dir: a worker, which serves nothing.
	if rt.noSocket || s.SocketDir == "" {
		return nil
	}
	if ln == nil {
		ln, err = net.Listen("unix", filepath.Join(s.SocketDir, filepath.Base(container.SocketPath)))
		if err != nil {
			return fmt.Errorf("fake start %s: %w", s.Name, err)
		}
	}
	status := rt.status
	if status == 0 {
		status = http.StatusOK
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt.mu.Lock()
		rt.hosts = append(rt.hosts, r.Host)
		rt.paths = append(rt.paths, r.URL.Path)
		rt.mu.Unlock()
		w.WriteHeader(status)
	})
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			rt.t.Errorf("fake container %s: serve: %v", s.Name, err)
		}
	}()
	return nil
}

func (rt *fakeRuntime) Inspect(ctx context.Context, name string) (container.State, error) {
	rt.record("inspect " + name)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.state.Status != "" {
		st := rt.state
		st.Name = name
		return st, nil
	}
	if _, ok := rt.running[name]; !ok {
		return container.State{}, fmt.Errorf("inspect %s: %w", name, container.ErrNotFound)
	}
	if rt.exited[name] {
		return container.State{Name: name, Status: "exited", ExitCode: 1}, nil
	}
	return container.State{Name: name, Status: "running", Running: true}, nil
}

func (rt *fakeRuntime) Stop(ctx context.Context, name string, timeout uint) error {
	rt.record("stop " + name)
	rt.mu.Lock()
	f := rt.onStop
	rt.mu.Unlock()
	if f != nil {
		f(name)
	}
	return nil
}

func (rt *fakeRuntime) Remove(ctx context.Context, name string) error {
	rt.record("remove " + name)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if srv, ok := rt.running[name]; ok {
		srv.Close()
		delete(rt.running, name)
	}
	return nil
}

func (rt *fakeRuntime) Logs(ctx context.Context, name string, n int) ([]string, error) {
	rt.record("logs " + name)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.logs) > n {
		return rt.logs[len(rt.logs)-n:], nil
	}
	return rt.logs, nil
}

// List reports the running fake containers (labels are not checked: each
// test env is one app of one instance).
func (rt *fakeRuntime) List(ctx context.Context, labels map[string]string) ([]container.State, error) {
	rt.record("list")
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []container.State
	for name := range rt.running {
		out = append(out, container.State{Name: name, Status: "running", Running: true})
	}
	return out, nil
}

// Run records the spec and what stdin held, writes runOut to stdout and
// answers runCode (runFn, when set, runs instead: a test that needs the
// run to last until it says so).
func (rt *fakeRuntime) Run(ctx context.Context, s container.Spec, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	rt.record("run " + s.Name)
	var in []byte
	if stdin != nil {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return -1, err
		}
		in = b
	}
	rt.mu.Lock()
	rt.runs = append(rt.runs, s)
	rt.runIn = append(rt.runIn, string(in))
	out, code, fn := rt.runOut, rt.runCode, rt.runFn
	rt.mu.Unlock()
	if fn != nil {
		return fn(ctx, s, stdout)
	}
	if _, err := io.WriteString(stdout, out); err != nil {
		return -1, err
	}
	return code, nil
}

// HostPort is the loopback port the started container got.
func (rt *fakeRuntime) HostPort(ctx context.Context, name string, containerPort int) (int, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	p, ok := rt.ports[name]
	if !ok {
		return 0, fmt.Errorf("container %s: port %d/tcp is not published", name, containerPort)
	}
	return p, nil
}

// HasShell answers !noShell and counts the calls.
func (rt *fakeRuntime) HasShell(ctx context.Context, image string) (bool, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.shellAsks++
	return !rt.noShell, nil
}

// Listening reports listening.
func (rt *fakeRuntime) Listening(ctx context.Context, name string) ([]container.Listener, error) {
	rt.record("listening " + name)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.listening, nil
}

// Pause freezes a running fake container.
func (rt *fakeRuntime) Pause(ctx context.Context, name string) error {
	rt.record("pause " + name)
	rt.mu.Lock()
	if err := rt.pauseErr[name]; err != nil {
		rt.mu.Unlock()
		return err
	}
	if _, ok := rt.running[name]; !ok {
		rt.mu.Unlock()
		return fmt.Errorf("pause %s: %w", name, container.ErrNotRunning)
	}
	if rt.paused == nil {
		rt.paused = map[string]bool{}
	}
	rt.paused[name] = true
	hook := rt.onPause
	rt.mu.Unlock()
	if hook != nil {
		hook(name)
	}
	return nil
}

// Unpause thaws a fake container.
func (rt *fakeRuntime) Unpause(ctx context.Context, name string) error {
	rt.record("unpause " + name)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if ctx.Err() != nil {
		return fmt.Errorf("unpause %s: %w", name, ctx.Err())
	}
	if err := rt.unpauseErr[name]; err != nil {
		return err
	}
	delete(rt.paused, name)
	return nil
}

// pausedNow lists the containers still paused.
func (rt *fakeRuntime) pausedNow() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []string
	for n := range rt.paused {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ImageUser answers user.
func (rt *fakeRuntime) ImageUser(ctx context.Context, image string) (string, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.user, nil
}

// ImageExists says yes for images built (or added) and not listed in
// pruned by any of their names.
func (rt *fakeRuntime) ImageExists(ctx context.Context, image string) (bool, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	id, known := rt.images[image]
	if !known {
		return false, nil
	}
	if rt.pruned[image] || rt.pruned[id] {
		return false, nil
	}
	for p := range rt.pruned {
		if rt.images[p] == id {
			return false, nil
		}
	}
	return true, nil
}

// addImage puts the image id in the store under tag, taking the tag from
// any image that had it (what podman build and podman tag do).
func (rt *fakeRuntime) addImage(tag, id string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.images[tag] = id
	rt.images[id] = id
	rt.images[strings.TrimPrefix(id, "sha256:")] = id
}

func (rt *fakeRuntime) callList() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.calls...)
}

func (rt *fakeRuntime) isRunning(name string) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	_, ok := rt.running[name]
	return ok
}

func (rt *fakeRuntime) probes() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return len(rt.hosts)
}

func (rt *fakeRuntime) hasCall(call string) bool {
	for _, c := range rt.callList() {
		if c == call {
			return true
		}
	}
	return false
}

// fakeProxy records installed configs and Served calls.
type fakeProxy struct {
	installErr error
	servedErr  error
	unwatched  error

	mu       sync.Mutex
	installs []string // config contents
	removes  int
	reloads  int
	drains   []time.Duration
	served   []string // "host app release"
	// busy makes DrainWorkers say the old workers still serve.
	busy bool
	// drainFor is how long Drain takes.
	drainFor  time.Duration
	drainAsks int
	// settled counts Settle calls; settleAt is the number of installs
	// seen by each.
	settled []int
	// files are the apps' files as installed; switchReloads counts the
	// installs that changed one.
	files         map[string]string
	switchReloads int
}

func (p *fakeProxy) Settle(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settled = append(p.settled, len(p.installs))
	return nil
}

func (p *fakeProxy) Install(ctx context.Context, app string, content []byte) (bool, error) {
	return p.InstallSwitch(ctx, app, content, nil)
}

// InstallSwitch records every ask in installs; like nginx.Manager, it
// calls sw, and says changed only when content differs from what app
// had (a reload, counted in switchReloads).
func (p *fakeProxy) InstallSwitch(ctx context.Context, app string, content []byte, sw func() error) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.installErr != nil {
		return false, p.installErr
	}
	p.installs = append(p.installs, string(content))
	if sw != nil {
		if err := sw(); err != nil {
			return false, err
		}
	}
	if p.files == nil {
		p.files = map[string]string{}
	}
	if p.files[app] == string(content) {
		return false, nil
	}
	p.files[app] = string(content)
	p.switchReloads++
	return true, nil
}

func (p *fakeProxy) Served(ctx context.Context, listen, host, app, release string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.served = append(p.served, host+" "+app+" "+release)
	return p.servedErr
}

func (p *fakeProxy) Remove(ctx context.Context, app string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removes++
	return nil
}

func (p *fakeProxy) Drain(ctx context.Context, timeout time.Duration) error {
	p.mu.Lock()
	p.drains = append(p.drains, timeout)
	wait := p.drainFor
	p.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait) // nginx's old workers finishing long requests
	}
	return nil
}

func (p *fakeProxy) CleanTemp() ([]string, error) { return nil, nil }

func (p *fakeProxy) Unwatched() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unwatched
}

func (p *fakeProxy) counts() (installs, served int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.installs), len(p.served)
}

// fakeLocker grants every lock at once and counts holders: -1 is an
// exclusive holder, n > 0 that many shared ones. A lock it cannot grant
// at once is an error (the fake never waits).
type fakeLocker struct {
	mu    sync.Mutex
	paths []string
	held  map[string]int
}

func (l *fakeLocker) Lock(ctx context.Context, path string, waiting func()) (func(), error) {
	return l.take(path, true)
}

func (l *fakeLocker) RLock(ctx context.Context, path string, waiting func()) (func(), error) {
	return l.take(path, false)
}

func (l *fakeLocker) TryLock(path string) (func(), error) {
	unlock, err := l.take(path, true)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLocked, err)
	}
	return unlock, nil
}

func (l *fakeLocker) take(path string, exclusive bool) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = map[string]int{}
	}
	n := l.held[path]
	if n < 0 || (exclusive && n > 0) {
		return nil, fmt.Errorf("fake lock %s: already held", path)
	}
	l.paths = append(l.paths, path)
	step := 1
	if exclusive {
		step = -1
	}
	l.held[path] += step
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.held[path] -= step
	}, nil
}

// mode says how path is held now: "exclusive", "shared" or "".
func (l *fakeLocker) mode(path string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch n := l.held[path]; {
	case n < 0:
		return "exclusive"
	case n > 0:
		return "shared"
	}
	return ""
}

func (l *fakeLocker) stillHeld() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for p, n := range l.held {
		if n != 0 {
			out = append(out, p)
		}
	}
	return out
}

// failWriter fails every write after the first ok ones.
type failWriter struct {
	ok     int
	err    error
	writes int // attempts, including failed ones
	buf    []byte
}

func (w *failWriter) Write(b []byte) (int, error) {
	w.writes++
	if w.writes > w.ok {
		return 0, w.err
	}
	w.buf = append(w.buf, b...)
	return len(b), nil
}

// shortTempDir is a temp dir with a short path: a unix socket path must
// fit in 108 bytes, and t.TempDir's names grow with the test name.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove temp dir: %v", err)
		}
	})
	return dir
}

// durp is a *Duration for settings that distinguish unset from zero.
func durp(d time.Duration) *state.Duration { v := state.Duration(d); return &v }

func (p *fakeProxy) ReloadToDrain(ctx context.Context) error { return p.ReloadConfig(ctx) }

func (p *fakeProxy) ReloadConfig(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reloads++
	return nil
}

// Memory answers memUse for a running fake container and memLimit.
func (rt *fakeRuntime) Memory(ctx context.Context, name string) (uint64, uint64, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, ok := rt.running[name]; !ok {
		return 0, 0, fmt.Errorf("stats of %s: %w", name, container.ErrNotFound)
	}
	return 20 << 20, 1 << 30, nil
}

// OldWorkers are the fake's pretend nginx workers from before a reload.
func (p *fakeProxy) OldWorkers() []int { return []int{4242} }

// DrainWorkers records the ask; the workers are gone unless busy says
// they still serve.
func (p *fakeProxy) DrainWorkers(ctx context.Context, old []int, deadline time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drainAsks++
	if p.busy {
		return fmt.Errorf("nginx worker %d still serves old connections", old[0])
	}
	return nil
}
