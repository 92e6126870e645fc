package usererr

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestLine(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{New("no config at /etc/x", "write one"), "no config at /etc/x: write one"},
		{New("demo is busy", ""), "demo is busy"},
		{Usagef("usage: gitship %s", "init APP"), "usage: gitship init APP"},
		{&Error{Msg: "refused: no login", Hint: "push with git", Err: fs.ErrPermission}, "refused: no login: push with git"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// The type and its cause are found through any wrapping.
func TestAsThroughWrapping(t *testing.T) {
	cause := errors.New("sentinel")
	inner := &Error{Msg: "demo is busy", Hint: "run `gitship set` again", Err: cause}
	err := fmt.Errorf("set demo: %w", fmt.Errorf("lock: %w", inner))
	var ue *Error
	if !errors.As(err, &ue) || ue != inner {
		t.Fatalf("errors.As(%v) = %v, want the user error", err, ue)
	}
	if ue.Hint != "run `gitship set` again" || ue.IsUsage {
		t.Errorf("found %+v", ue)
	}
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, cause) = false: the cause is lost", err)
	}
	if errors.As(fmt.Errorf("plain: %w", cause), &ue) {
		t.Errorf("a plain error is a user error")
	}
	var ue2 *Error
	if !errors.As(fmt.Errorf("x: %w", Usagef("usage: gitship deploy APP")), &ue2) || !ue2.IsUsage {
		t.Errorf("Usagef lost IsUsage through wrapping: %+v", ue2)
	}
}
