package hook

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// catFile streams blobs out of a repository through one `git cat-file
// --batch`. The export writes the files a push changed this way rather
// than with go-git: go-git reads a whole object into memory and hashes it
// twice, and Go's inflate is half as fast as zlib's. For the 6 MB binary
// of a compiled app that was 0.07–0.1 s of gitship's CPU and 30 MB of its
// RSS; git does it in 0.02 s, streaming.
type catFile struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	errs *lockedBuffer
}

// lockedBuffer is git's stderr, written by exec's copying goroutine while
// copyBlob may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 4096 {
		return len(p), nil // enough to say what went wrong
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startCatFile starts git cat-file --batch on the bare repository at
// repoPath. git runs with no GIT_* variable of the hook's environment (it
// must read the repository Export opened, nothing else), and trusts the
// repository whoever owns it: gitship runs as root or as the repos'
// owner, and reads objects only (no hooks, no filters).
func startCatFile(ctx context.Context, repoPath string) (*catFile, error) {
	cmd := exec.CommandContext(ctx, "git", "-c", "safe.directory="+repoPath, "--git-dir="+repoPath, "cat-file", "--batch")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	c := &catFile{cmd: cmd, errs: &lockedBuffer{}}
	cmd.Stderr = c.errs
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c.in, c.out = in, bufio.NewReaderSize(out, 64<<10)
	return c, nil
}

// copyBlob writes blob h to w and returns its size. Any error leaves c
// unusable (its stream is out of step): close it.
func (c *catFile) copyBlob(w io.Writer, h plumbing.Hash) (int64, error) {
	if _, err := io.WriteString(c.in, h.String()+"\n"); err != nil {
		return 0, c.failed(err)
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		return 0, c.failed(err)
	}
	// "<sha> blob <size>" or "<name> missing"
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != h.String() {
		return 0, fmt.Errorf("git cat-file: %s: %q", h, strings.TrimSpace(line))
	}
	if f[1] != "blob" {
		return 0, fmt.Errorf("git cat-file: %s is a %s, not a blob", h, f[1])
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 {
		return 0, fmt.Errorf("git cat-file: %s: bad size in %q", h, strings.TrimSpace(line))
	}
	n, err := io.CopyN(w, c.out, size)
	if err != nil {
		return n, c.failed(err)
	}
	if b, err := c.out.ReadByte(); err != nil || b != '\n' {
		return n, c.failed(errors.New("no newline after the blob"))
	}
	return n, nil
}

// failed is err with what git said on stderr, if anything.
func (c *catFile) failed(err error) error {
	if s := strings.TrimSpace(c.errs.String()); s != "" {
		return fmt.Errorf("git cat-file: %w: %s", err, s)
	}
	return fmt.Errorf("git cat-file: %w", err)
}

// close ends git cat-file and waits for it.
func (c *catFile) close() error {
	c.in.Close()
	return c.cmd.Wait()
}
