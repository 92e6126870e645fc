package testenv

import (
	"errors"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	n := 0
	if err := Poll(5*time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || n != 3 {
		t.Errorf("Poll = %v after %d tries, want nil after 3", err, n)
	}
	errNo := errors.New("never")
	err := Poll(50*time.Millisecond, func() error { return errNo })
	if !errors.Is(err, errNo) || err.Error() != "after 50ms: never" {
		t.Errorf("Poll that never succeeds = %v", err)
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Errorf("ports %v: want 3 distinct", ports)
		}
		seen[p] = true
	}
}

func TestNeedPresent(t *testing.T) {
	Need(t, "always there", "sh", "/bin")
}
