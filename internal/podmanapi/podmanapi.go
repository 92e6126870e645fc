// Package podmanapi shortens the errors of requests to the Podman API
// service for the two packages that talk to it, container and build
// (leaves, which may not import each other).
package podmanapi

import (
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"strings"
	"syscall"
)

// Error shortens an error of a request to the Podman API service: the
// bindings' errors carry the whole request URL (hundreds of characters of
// query); what the user needs is which service failed, why, and what to
// check. Other errors (Podman's own answers) pass unchanged.
func Error(socket string, err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &podmanAPIError{socket: strings.TrimPrefix(socket, "unix://"), err: ue.Err}
}

// podmanAPIError is a request to the Podman API service that got no answer.
type podmanAPIError struct {
	socket string
	err    error // why, without the URL
}

func (e *podmanAPIError) Error() string {
	if errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded) {
		return "podman API at " + e.socket + ": " + e.err.Error()
	}
	why := e.err.Error()
	var se *os.SyscallError
	switch {
	case errors.Is(e.err, io.EOF) || errors.Is(e.err, io.ErrUnexpectedEOF) || errors.Is(e.err, io.ErrClosedPipe) ||
		errors.Is(e.err, syscall.EPIPE) || errors.Is(e.err, syscall.ECONNRESET):
		why = "the connection closed"
	case errors.As(e.err, &se):
		why = se.Err.Error() // "connection refused", without "dial unix PATH: connect:"
	}
	return "podman API at " + e.socket + ": " + why + " (is the podman API service running?)"
}

func (e *podmanAPIError) Unwrap() error { return e.err }
