package kubetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// proc is a process of the cluster in a process group of its own, its
// output in DIR/NAME.log.
type proc struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set when done closes
}

// start starts bin as name, in its own process group, killed should the
// test's process die first (Pdeathsig); Stop ends it.
func (c *Cluster) start(name, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(c.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	return p, nil
}

// signal sends sig to the process's group.
func (p *proc) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// exited is an error holding the end of the log if the process is gone.
func (p *proc) exited() error {
	select {
	case <-p.done:
		b, err := os.ReadFile(p.log)
		if err != nil {
			return fmt.Errorf("%s exited (%v)", p.name, p.err)
		}
		if len(b) > 2000 {
			b = b[len(b)-2000:]
		}
		return fmt.Errorf("%s exited (%v): %s", p.name, p.err, b)
	default:
		return nil
	}
}
