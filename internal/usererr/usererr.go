// Package usererr marks the errors meant for the person at the terminal
// (restic's errors.Fatal, gitea's user message): what failed and the next
// step, in one line. cmd prints them as they are and takes the exit status
// from the type, never from the text. Every package may import it; it
// imports nothing of gitship's.
package usererr

import "fmt"

// Error is an error for the pusher or the operator at the terminal. Msg
// says what failed; Hint, when set, names the next step ("run `gitship
// unlock app`"). The line is "MSG: HINT".
type Error struct {
	Msg  string
	Hint string
	// IsUsage marks a wrong invocation (exit status 2) rather than a
	// failed operation (1).
	IsUsage bool
	// Err is the cause, for errors.Is and errors.As (a sentinel such as
	// access.ErrRefused); it is not part of the line.
	Err error
}

// Error is the line: "MSG: HINT", or MSG alone.
func (e *Error) Error() string {
	if e.Hint == "" {
		return e.Msg
	}
	return e.Msg + ": " + e.Hint
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New is an operation error with its hint.
func New(msg, hint string) error { return &Error{Msg: msg, Hint: hint} }

// Usagef is a wrong invocation: exit status 2.
func Usagef(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...), IsUsage: true}
}
