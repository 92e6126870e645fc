package main

// A private OpenSSH server for the end-to-end scripts: Debian's
// /usr/sbin/sshd on a loopback port with its own host key and config,
// reading keys from the authorized_keys file gitship manages.
// Self-contained on purpose: it shares no helpers with the other test files.

import (
	"errors"
	"fmt"
	"github.com/gitship/gitship/internal/testenv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sshdEnv is a private sshd on a loopback port for one script.
type sshdEnv struct {
	Port           int
	AuthorizedKeys string // the file it reads keys from (the one gitship manages)
	ClientKey      string // private key of a client key pair generated for the script (ed25519, no passphrase)
	ClientPub      string // its public key file
	KnownHosts     string // a known_hosts file trusting the server's host key for [127.0.0.1]:PORT
	SSHCommand     string // a GIT_SSH_COMMAND value: ssh -i CLIENTKEY -p PORT -o UserKnownHostsFile=KNOWNHOSTS -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes
}

// sshdBinary is where Debian's openssh-server puts sshd; sshd insists on
// being started by an absolute path (it re-executes itself).
const sshdBinary = "/usr/sbin/sshd"

// sshdPrivsepDir is the privilege separation directory Debian's sshd
// chroots its unprivileged child into; it refuses to start without it.
const sshdPrivsepDir = "/run/sshd"

// SSHArgs is SSHCommand split into arguments, without the leading "ssh":
// for running ssh directly (exec.Command("ssh", append(env.SSHArgs(), "root@127.0.0.1", "cmd")...)).
func (s *sshdEnv) SSHArgs() []string {
	return []string{
		"-i", s.ClientKey,
		"-p", strconv.Itoa(s.Port),
		"-o", "UserKnownHostsFile=" + s.KnownHosts,
		"-o", "StrictHostKeyChecking=yes",
		"-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
	}
}

// startSSHD starts /usr/sbin/sshd -D -e -f CONFIG on 127.0.0.1:PORT with
// its own host key and sshd_config (both in dir), key authentication only,
// reading authorizedKeys (made absolute; it need not exist yet), root the
// only user allowed in. It generates a client key pair and a known_hosts
// file in dir, waits until the port accepts, and stops sshd via deferFn.
// sshd's log (LogLevel VERBOSE: which key was accepted or why refused) is
// dir/sshd.log.
func startSSHD(dir, authorizedKeys string, deferFn func(func())) (*sshdEnv, error) {
	var missing []string
	if _, err := os.Stat(sshdBinary); err != nil {
		missing = append(missing, sshdBinary+" (apt-get install openssh-server)")
	}
	for _, tool := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool+" (apt-get install openssh-client)")
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("start sshd: missing %s", strings.Join(missing, ", "))
	}
	fail := func(err error) (*sshdEnv, error) { return nil, fmt.Errorf("start sshd: %w", err) }

	dir, err := filepath.Abs(dir)
	if err != nil {
		return fail(err)
	}
	authorizedKeys, err = filepath.Abs(authorizedKeys)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(sshdPrivsepDir, 0o755); err != nil {
		return fail(fmt.Errorf("privilege separation dir: %w", err))
	}

	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	clientKey := filepath.Join(dir, "client_ed25519")
	if err := sshKeygen(hostKey, "gitship-test-host"); err != nil {
		return fail(err)
	}
	if err := sshKeygen(clientKey, "gitship-test-client"); err != nil {
		return fail(err)
	}
	hostPub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return fail(err)
	}
	// "TYPE BASE64 COMMENT": known_hosts wants the first two.
	hostFields := strings.Fields(string(hostPub))
	if len(hostFields) < 2 {
		return fail(fmt.Errorf("host key %s.pub: unexpected content %q", hostKey, hostPub))
	}

	conf := filepath.Join(dir, "sshd_config")
	logPath := filepath.Join(dir, "sshd.log")
	var proc *sshdProc
	var port int
	// The port is free when picked but another process may take it before
	// sshd binds; pick again then.
	for attempt := 1; ; attempt++ {
		if port, err = testenv.FreePort(); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(conf, []byte(sshdConfig(dir, hostKey, authorizedKeys, port)), 0o644); err != nil {
			return fail(err)
		}
		// sshd -t reports a bad config on stderr ("CONFIG line N: ...")
		// and exits 255: fail with that, rather than with a port that
		// never opens.
		if out, err := exec.Command(sshdBinary, "-t", "-f", conf).CombinedOutput(); err != nil {
			return fail(fmt.Errorf("%s -t -f %s: %v: %s", sshdBinary, conf, err, strings.TrimSpace(string(out))))
		}
		if proc, err = sshdStart(logPath, conf); err != nil {
			return fail(err)
		}
		err = sshdWait(20*time.Second, func() error {
			if err := proc.exited(); err != nil {
				return errSSHDExited{err}
			}
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err != nil {
				return err
			}
			c.Close()
			return nil
		})
		if err == nil {
			break
		}
		proc.stop()
		var exited errSSHDExited
		if attempt < 3 && errors.As(err, &exited) && strings.Contains(err.Error(), "Cannot bind any address") {
			continue
		}
		return fail(fmt.Errorf("port %d: %w", port, err))
	}
	deferFn(proc.stop)

	knownHosts := filepath.Join(dir, "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s %s\n", port, hostFields[0], hostFields[1])
	if err := os.WriteFile(knownHosts, []byte(line), 0o644); err != nil {
		return fail(err)
	}
	env := &sshdEnv{
		Port:           port,
		AuthorizedKeys: authorizedKeys,
		ClientKey:      clientKey,
		ClientPub:      clientKey + ".pub",
		KnownHosts:     knownHosts,
	}
	words := []string{"ssh"}
	for _, a := range env.SSHArgs() {
		words = append(words, sshShellQuote(a))
	}
	env.SSHCommand = strings.Join(words, " ")
	return env, nil
}

// sshdConfig is the whole server configuration: no include of
// /etc/ssh/sshd_config.d, nothing inherited from the system's sshd.
func sshdConfig(dir, hostKey, authorizedKeys string, port int) string {
	// AuthorizedKeysFile expands %h, %u, %%...; quote for spaces.
	ak := `"` + strings.ReplaceAll(authorizedKeys, "%", "%%") + `"`
	return fmt.Sprintf(`# private sshd of one gitship end-to-end script
ListenAddress 127.0.0.1
Port %d
HostKey "%s"
PidFile "%s"
AuthorizedKeysFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
# tests run as root and the repositories belong to root
PermitRootLogin prohibit-password
AllowUsers root
UsePAM no
# the test dirs are not owned and 0700 the way sshd wants
StrictModes no
PermitUserEnvironment no
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
PermitTunnel no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
`, port, hostKey, filepath.Join(dir, "sshd.pid"), ak)
}

// sshKeygen writes an ed25519 key pair without passphrase: path and path.pub.
func sshKeygen(path, comment string) error {
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ssh-keygen -f %s: %v: %s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// sshShellQuote quotes s for sh (GIT_SSH_COMMAND goes through the shell)
// when it holds anything but plain path characters.
func sshShellQuote(s string) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-=:+,@", r))
	}) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// errSSHDExited marks sshd gone before its port opened (no point waiting).
type errSSHDExited struct{ err error }

func (e errSSHDExited) Error() string { return e.err.Error() }
func (e errSSHDExited) Unwrap() error { return e.err }

// sshdWait polls try until it succeeds, sshd exits, or max passes.
func sshdWait(max time.Duration, try func() error) error {
	deadline := time.Now().Add(max)
	delay := 10 * time.Millisecond
	for {
		err := try()
		if err == nil {
			return nil
		}
		var exited errSSHDExited
		if errors.As(err, &exited) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// sshdProc is the running sshd, its output (-e) in a log file.
type sshdProc struct {
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set when done closes
}

func sshdStart(logPath, conf string) (*sshdProc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(sshdBinary, "-D", "-e", "-f", conf)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so stop also ends the per-connection
	// children; gone with the test binary if that dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", sshdBinary, err)
	}
	p := &sshdProc{log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// exited is an error holding the end of the log if sshd is gone.
func (p *sshdProc) exited() error {
	select {
	case <-p.done:
		b, _ := os.ReadFile(p.log)
		if len(b) > 2000 {
			b = b[len(b)-2000:]
		}
		return fmt.Errorf("sshd exited (%v): %s", p.err, strings.TrimSpace(string(b)))
	default:
		return nil
	}
}

// stop ends sshd and its connections: SIGTERM to its process group, then
// SIGKILL after 5 s.
func (p *sshdProc) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Children that outlived the listener (sessions still closing).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// TestSSHDHelper checks startSSHD: a key with a forced command and
// `restrict` logs in, and gets that command, not a shell.
func TestSSHDHelper(t *testing.T) {
	testenv.Need(t, "apt-get install openssh-server openssh-client", sshdBinary, "ssh", "ssh-keygen")
	if os.Geteuid() != 0 {
		msg := "sshd helper logs in as root: run as root"
		if testenv.E2E() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	dir := t.TempDir()
	ak := filepath.Join(dir, "authorized_keys")
	env, err := startSSHD(filepath.Join(dir, "sshd"), ak, t.Cleanup)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(env.ClientPub)
	if err != nil {
		t.Fatal(err)
	}
	line := `command="echo forced $SSH_ORIGINAL_COMMAND",restrict ` + strings.TrimSpace(string(pub)) + "\n"
	if err := os.WriteFile(ak, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if env.AuthorizedKeys != ak {
		t.Errorf("AuthorizedKeys = %q, want %q", env.AuthorizedKeys, ak)
	}
	want := fmt.Sprintf("ssh -i %s -p %d -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes",
		env.ClientKey, env.Port, env.KnownHosts)
	if env.SSHCommand != want {
		t.Errorf("SSHCommand = %q, want %q", env.SSHCommand, want)
	}

	sshLog := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "sshd", "sshd.log"))
		return string(b)
	}
	// Through the shell, the way git runs GIT_SSH_COMMAND.
	cmd := exec.Command("sh", "-c", env.SSHCommand+` "$@"`, "ssh", "root@127.0.0.1", "hello")
	cmd.Env = append(os.Environ(), "HOME="+dir) // no ~/.ssh of the machine
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("ssh: %v\nstdout: %s\nstderr: %s\nsshd.log:\n%s", err, out, stderr, sshLog())
	}
	if got := strings.TrimSpace(string(out)); got != "forced hello" {
		t.Fatalf("ssh output = %q, want %q (forced command not applied)\nsshd.log:\n%s", got, "forced hello", sshLog())
	}

	// A key not in authorized_keys is refused.
	other := filepath.Join(dir, "other_ed25519")
	if err := sshKeygen(other, "other"); err != nil {
		t.Fatal(err)
	}
	args := append(env.SSHArgs(), "root@127.0.0.1", "hello")
	args[1] = other
	cmd = exec.Command("ssh", args...)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("ssh with an unknown key succeeded: %s", out)
	} else if !strings.Contains(string(out), "Permission denied") {
		t.Errorf("ssh with an unknown key: %v: %s, want Permission denied", err, out)
	}
}
