package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Proc is a server a test starts in the background (Pebble, etcd, the
// kube-apiserver...): in a process group of its own, killed should the
// test's process die first, its output in DIR/NAME.log.
type Proc struct {
	Name string
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set when done closes
}

// StartProc starts bin with args as name, with env added to this
// process's environment, in dir (its log there too).
func StartProc(dir, name, bin string, env []string, args ...string) (*Proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// Done is closed once the process exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Signal sends sig to the process's group (nothing once it exited).
func (p *Proc) Signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// Exited is an error holding the end of the log if the process is gone,
// nil while it runs.
func (p *Proc) Exited() error {
	select {
	case <-p.done:
		b, err := os.ReadFile(p.Log)
		if err != nil {
			return fmt.Errorf("%s exited (%v)", p.Name, p.err)
		}
		if len(b) > 2000 {
			b = b[len(b)-2000:]
		}
		return fmt.Errorf("%s exited (%v): %s", p.Name, p.err, b)
	default:
		return nil
	}
}

// Stop ends the process: SIGTERM to its group, SIGKILL after 5 s.
func (p *Proc) Stop() { StopProcs(p) }

// StopProcs stops procs together: SIGTERM to each group, then SIGKILL
// to those still running 5 s later.
func StopProcs(procs ...*Proc) {
	for _, p := range procs {
		p.Signal(syscall.SIGTERM)
	}
	deadline := time.After(5 * time.Second)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
			p.Signal(syscall.SIGKILL)
			<-p.done
		}
	}
}
