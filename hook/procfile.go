package hook

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/gitship/gitship/internal/usererr"
)

// ErrBadProcfile marks a Procfile that cannot be used: the deploy stops
// before anything starts.
var ErrBadProcfile = errors.New("bad Procfile")

// The process types the Procfile gives a meaning to; every other type is a
// worker.
const (
	// TypeWeb is the process nginx serves.
	TypeWeb = "web"
	// TypeRelease runs once per release, before the switch.
	TypeRelease = "release"
)

// maxManifest bounds what ReadProcfile and ReadAppJSON read: both are small
// text files, and the tree comes from whoever can push.
const maxManifest = 1 << 20

// A process type is what Heroku calls "an alphanumeric name for your
// command" (devcenter.heroku.com/articles/procfile); Dokku's procfile-util,
// the de facto reference implementation, reads it as [A-Za-z0-9_-]+ of at
// most 63 characters (dokku.com/docs/appendices/file-formats/procfile/).
// Both keep its case: "Worker" and "worker" are two types.
var (
	procLine = regexp.MustCompile(`^([A-Za-z0-9_-]+):\s*(.*)$`)
	procType = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)
)

// Process is one line of a Procfile: a process type and its command.
type Process struct {
	Type    string
	Command string
	Line    int // 1-based line number in the Procfile
}

// IsWorker reports whether the process runs as a worker: anything but web
// and release.
func (p Process) IsWorker() bool { return p.Type != TypeWeb && p.Type != TypeRelease }

// Argv is the argv the process's container runs: see Argv. The error
// names the process type.
func (p Process) Argv(hasShell bool) ([]string, error) {
	return argv(p.Command, hasShell, "Procfile "+p.Type+": ")
}

// Procfile is a parsed Procfile: its processes in file order.
type Procfile struct {
	procs []Process
}

// Processes returns every process in file order.
func (pf Procfile) Processes() []Process { return append([]Process(nil), pf.procs...) }

// Lookup returns the process of the given type.
func (pf Procfile) Lookup(typ string) (Process, bool) {
	for _, p := range pf.procs {
		if p.Type == typ {
			return p, true
		}
	}
	return Process{}, false
}

// Web returns the web process, if the Procfile declares one.
func (pf Procfile) Web() (Process, bool) { return pf.Lookup(TypeWeb) }

// Release returns the release-phase process, if the Procfile declares one.
func (pf Procfile) Release() (Process, bool) { return pf.Lookup(TypeRelease) }

// Workers returns the processes that are neither web nor release, in file
// order.
func (pf Procfile) Workers() []Process {
	var ws []Process
	for _, p := range pf.procs {
		if p.IsWorker() {
			ws = append(ws, p)
		}
	}
	return ws
}

// ParseProcfile reads a Procfile in Heroku's format: one "TYPE: COMMAND"
// per line; blank lines and lines starting with # (or //, as Dokku allows)
// are ignored. Unlike Dokku we keep a trailing " # ..." as part of the
// command: sh treats it as a comment anyway, and cutting it would break
// commands such as `echo "a #b"`.
//
// A line that is not TYPE: COMMAND, a type of more than 63 characters, a
// type declared twice, an empty command, "Web" or "RELEASE" (a miscased
// special type, which would silently become a worker) and a Procfile with
// no process at all are errors: one line naming the Procfile line, an
// *usererr.Error wrapping ErrBadProcfile. Dokku refuses such a file whole
// for the same reason: a merge conflict left in it must not half-deploy.
func ParseProcfile(r io.Reader) (Procfile, error) {
	var pf Procfile
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Text()
		if n == 1 {
			raw = strings.TrimPrefix(raw, "\uFEFF") // a BOM from a Windows editor
		}
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "//") {
			continue
		}
		m := procLine.FindStringSubmatch(line)
		if m == nil {
			return Procfile{}, badProcfile(fmt.Sprintf("Procfile line %d: %q: want TYPE: COMMAND", n, line), "")
		}
		typ, cmd := m[1], strings.TrimSpace(m[2])
		if !procType.MatchString(typ) {
			return Procfile{}, badProcfile(fmt.Sprintf("Procfile line %d: process type %q is longer than 63 characters", n, typ), "")
		}
		for _, special := range []string{TypeWeb, TypeRelease} {
			if typ != special && strings.EqualFold(typ, special) {
				return Procfile{}, badProcfile(fmt.Sprintf("Procfile line %d: process type %q: types are case-sensitive", n, typ),
					fmt.Sprintf("write %q", special))
			}
		}
		if first, ok := seen[typ]; ok {
			return Procfile{}, badProcfile(fmt.Sprintf("Procfile lines %d and %d both declare %q", first, n, typ), "keep one")
		}
		seen[typ] = n
		if cmd == "" || strings.HasPrefix(cmd, "#") {
			return Procfile{}, badProcfile(fmt.Sprintf("Procfile line %d: %q has no command", n, typ), "")
		}
		pf.procs = append(pf.procs, Process{Type: typ, Command: cmd, Line: n})
	}
	if err := sc.Err(); err != nil {
		return Procfile{}, badProcfile(fmt.Sprintf("Procfile line %d: %v", n+1, err), "")
	}
	if len(pf.procs) == 0 {
		return Procfile{}, badProcfile("Procfile declares no process", "add a line such as `web: COMMAND`, or remove the file to run the image's CMD")
	}
	return pf, nil
}

func badProcfile(msg, hint string) error {
	return &usererr.Error{Msg: msg, Hint: hint, Err: ErrBadProcfile}
}

// ReadProcfile parses the file named Procfile (exactly; Heroku ignores
// Procfile.txt and a Procfile below the root) at the root of dir. No
// Procfile is not an error: ok is false and the image's CMD is the web
// process. A Procfile that is not a regular file, or a symlink leading
// out of dir, is an error.
func ReadProcfile(dir string) (pf Procfile, ok bool, err error) {
	b, ok, err := readManifest(dir, "Procfile")
	if err != nil || !ok {
		return Procfile{}, false, err
	}
	pf, err = ParseProcfile(bytes.NewReader(b))
	if err != nil {
		return Procfile{}, false, err
	}
	return pf, true, nil
}

// readManifest reads name at the root of dir, if it is there, within
// maxManifest bytes.
func readManifest(dir, name string) ([]byte, bool, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", name, err)
	}
	defer root.Close()
	ok, err := isBuildFile(root, name)
	if err != nil {
		return nil, false, fmt.Errorf("%s at the root of %s: %w", name, dir, err)
	}
	if !ok {
		return nil, false, nil
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > maxManifest {
		return nil, false, usererr.New(fmt.Sprintf("%s is larger than %d KiB", name, maxManifest>>10), "")
	}
	return b, true, nil
}
