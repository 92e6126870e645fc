package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// The records a Store decoded are kept by path with the bytes they were
// decoded from and the identity of the file read (fileID). Every writer
// replaces a record whole (WriteAtomic: a new file renamed into place),
// so a changed record is a new file, and a file is read again unless
// its identity proves it is the one read before:
//
//   - an identity is the file's device, inode, size, mtime and ctime
//     (ctime no process can set: it is the time of the inode's last
//     change, its creation or rename at the latest);
//   - it proves nothing while the file is young: the inode of a replaced
//     record is free, a new file may get its number, and timestamps are
//     coarse (a clock tick; seconds on some filesystems), so a record
//     rewritten within one tick by another process could look the same.
//     A file whose ctime was more than settleAfter before the Store read
//     it is settled: a file created later (any file that could take over
//     its inode number) has a later ctime, so an equal identity is the
//     same file. This assumes the filesystem's clock is this host's.
//
// A young file, or one whose identity differs, is read again; when its
// bytes are those decoded before, the decoded record is reused. Records
// are handed out as deep copies (Record.clone): callers change them.
type cached struct {
	id      fileID
	settled bool
	raw     []byte
	rec     *Record
}

// settleAfter is how old a file's ctime must be for its identity to be
// trusted: well over a clock tick and the 2 s of the coarsest timestamps.
const settleAfter = 3 * time.Second

// load returns record v of app; info is the file's entry from a directory
// read (nil: none), checked against the cache before anything is read.
func (s *Store) load(app string, v int, info fs.FileInfo) (*Record, error) {
	path := s.path(app, v)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cache[path]
	if c != nil && c.settled && info != nil {
		if id, ok := identity(info); ok && id == c.id {
			return c.rec.clone(), nil
		}
	}
	// Open, then stat and read the open file: the identity is that of
	// the bytes read, even if the path is replaced meanwhile.
	f, err := s.Fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read release %s v%d: %w", app, v, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read release %s v%d: %w", app, v, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read release %s v%d: %w", app, v, err)
	}
	id, ok := identity(st)
	settled := ok && s.clock().Sub(id.ctime()) > settleAfter
	if c != nil && bytes.Equal(c.raw, data) {
		c.id, c.settled = id, settled
		return c.rec.clone(), nil
	}
	var r Record
	decodes.Add(1)
	if err := json.Unmarshal(data, &r); err != nil {
		delete(s.cache, path)
		return nil, fmt.Errorf("read release %s v%d: %w", app, v, err)
	}
	s.put(path, &cached{id: id, settled: settled, raw: data, rec: r.clone()})
	return &r, nil
}

// remember keeps what Save wrote to path: the next read of the file
// compares its bytes and decodes nothing.
func (s *Store) remember(path string, data []byte, r *Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(path, &cached{raw: data, rec: r.clone()})
}

// forget drops path from the cache (a write of it failed halfway).
func (s *Store) forget(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, path)
}

func (s *Store) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *Store) put(path string, c *cached) {
	if s.cache == nil {
		s.cache = map[string]*cached{}
	}
	s.cache[path] = c
}

// decodes counts the records decoded from JSON by every Store.
var decodes atomic.Int64

// Decodes is how many records the Stores of this process decoded from
// JSON so far (the tests' view of the cache).
func Decodes() int64 { return decodes.Load() }

// clone is a deep copy of r: nothing it refers to is shared with r.
func (r *Record) clone() *Record {
	c := *r
	c.Settings = r.Settings.clone()
	c.Env = maps.Clone(r.Env)
	c.Watch = clonePtr(r.Watch)
	c.Processes = maps.Clone(r.Processes)
	c.Procs = slices.Clone(r.Procs)
	c.Cron = slices.Clone(r.Cron)
	return &c
}

// clone is a deep copy of s.
func (s Settings) clone() Settings {
	c := s
	c.Domains = slices.Clone(s.Domains)
	c.Keep = clonePtr(s.Keep)
	c.BuildArgs = maps.Clone(s.BuildArgs)
	c.Drain = clonePtr(s.Drain)
	c.Warm = clonePtr(s.Warm)
	c.Snapshots = clonePtr(s.Snapshots)
	c.Scale = maps.Clone(s.Scale)
	c.Watch = clonePtr(s.Watch)
	c.WatchErrors = clonePtr(s.WatchErrors)
	c.WatchMin = clonePtr(s.WatchMin)
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
