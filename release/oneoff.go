package release

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/gitship/gitship/hook"
	"github.com/gitship/gitship/internal/usererr"
	"github.com/gitship/gitship/state"
)

// Process types of the containers that run once (the label
// container.LabelProcess).
const (
	ProcessRun  = "run"  // `gitship run`
	ProcessCron = "cron" // `gitship cron run`
)

// RunOptions is one `gitship run`.
type RunOptions struct {
	// Release is the release whose image runs (0: the live one).
	Release int
	// Args is the command and its arguments: see RunArgv.
	Args []string
	// Stdin is passed to the command (nil: none, it reads end of file).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Run runs a command once in a new container of app's live release (or
// opt.Release), as Heroku's `heroku run` does: the release's image,
// environment, /data and limits; no socket, no port, no restart. It
// returns the command's exit status; an error says the run could not
// happen, or was interrupted (ctx: Ctrl-C), with the status if there is
// one (else -1).
func (d *Deployer) Run(ctx context.Context, app string, opt RunOptions) (int, error) {
	if len(opt.Args) == 0 {
		return -1, usererr.Usagef("no command: gitship run %s -- CMD [ARGS...]", app)
	}
	if err := d.onHostOnly(app, "`gitship run`"); err != nil {
		return -1, err
	}
	rec, err := d.runRelease(ctx, app, opt.Release)
	if err != nil {
		return -1, err
	}
	sh, err := d.Runtime.HasShell(ctx, rec.StartImage())
	if err != nil {
		return -1, err
	}
	argv, err := RunArgv(opt.Args, sh)
	if err != nil {
		return -1, err
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return -1, fmt.Errorf("name the container: %w", err)
	}
	name := onceName(app, ProcessRun+"-"+hex.EncodeToString(b[:]), d.Instance)
	return d.runOnce(ctx, rec, name, ProcessRun, argv, opt.Stdin, opt.Stdout, opt.Stderr)
}

// runRelease is the release a one-off run uses: v (0: the live one),
// whose image must still exist.
func (d *Deployer) runRelease(ctx context.Context, app string, v int) (*state.Record, error) {
	if _, err := state.LoadApp(d.Fs, d.Config.AppsDir(), app); err != nil {
		return nil, err
	}
	var rec *state.Record
	var err error
	if v == 0 {
		if rec, err = d.Store().Live(app); err != nil {
			return nil, err
		}
		if rec == nil {
			return nil, usererr.New(fmt.Sprintf("%s has no live release to run in", app), "push a commit first")
		}
	} else {
		rec, err = d.Store().Get(app, v)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usererr.New(fmt.Sprintf("%s has no release v%d", app, v), "see `gitship releases "+app+"`")
		}
		if err != nil {
			return nil, err
		}
	}
	if rec.Image == "" && rec.ImageID == "" {
		return nil, usererr.New(fmt.Sprintf("%s %s has no image (its build did not finish)", app, rec.Name()), "see `gitship releases "+app+"`")
	}
	ok, err := d.Runtime.ImageExists(ctx, rec.StartImage())
	if err != nil {
		return nil, fmt.Errorf("run in %s %s: %w", app, rec.Name(), err)
	}
	if !ok {
		return nil, usererr.New(fmt.Sprintf("the image of %s %s (%s) was pruned", app, rec.Name(), rec.Image), "run in a newer release")
	}
	return rec, nil
}

// runOnce runs argv in the container name of release rec and removes it
// after: the release's spec (releaseSpec, as its web process gets) with
// $PORT, the process label, no socket dir and restart "no".
func (d *Deployer) runOnce(ctx context.Context, rec *state.Record, name, process string, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	gid, err := d.appGID(rec.App)
	if err != nil {
		return -1, err
	}
	if _, err := d.mkdirData(rec.App, gid); err != nil {
		return -1, err
	}
	mem, cpus, err := rec.Settings.Limits()
	if err != nil {
		return -1, err
	}
	s := d.releaseSpec(rec, gid, mem, cpus)
	s.Name, s.Command, s.Process, s.Restart = name, argv, process, "no"
	s.Env["PORT"] = strconv.Itoa(WebPort)
	return d.Runtime.Run(ctx, s, stdin, stdout, stderr)
}

// onceName is the container of a one-off run or a cron job of app: what
// names it (run-RANDOM, cron-ID), then the instance as ContainerName does.
func onceName(app, what, instance string) string {
	if instance == "" {
		return fmt.Sprintf("gitship-%s-%s", app, what)
	}
	return fmt.Sprintf("gitship-%s-%s-%s", app, what, instance)
}

// RunArgv is what the container of `gitship run APP -- ARGS` executes.
// As on Heroku, the command goes through the image's shell when it has
// one: a single argument is the shell's command line as it is (`gitship
// run app -- 'flask init-db && echo ok'`), several are quoted one by one,
// so each reaches the program as the one word it was. Without a shell
// (an image FROM scratch) the argv is executed directly; a single
// argument with blanks in it is split into words (hook.Argv: what would
// need a shell is refused).
func RunArgv(args []string, hasShell bool) ([]string, error) {
	switch {
	case len(args) == 0:
		return nil, usererr.Usagef("no command")
	case hasShell && len(args) == 1:
		return []string{hook.Shell, "-c", args[0]}, nil
	case hasShell:
		q := make([]string, len(args))
		for i, a := range args {
			q[i] = shellQuote(a)
		}
		return []string{hook.Shell, "-c", strings.Join(q, " ")}, nil
	case len(args) == 1 && strings.ContainsAny(args[0], " \t\n"):
		return hook.Argv(args[0], false)
	}
	return args, nil
}
