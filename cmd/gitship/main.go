// Command gitship makes one server behave like a small Heroku: git push
// builds the commit into an image, starts it beside the live release,
// checks it, points nginx at it and retires the old one.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
