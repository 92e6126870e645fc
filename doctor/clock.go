package doctor

import (
	"fmt"
	"syscall"
	"time"
)

// clock checks the system clock without the internet: it is not before
// this binary's commit was made (a clock reset to 1970 or to the image's
// build date breaks TLS and the release times), and the kernel says it is
// synchronized (NTP; what timedatectl's NTPSynchronized reads).
func (d *Doctor) clock() Check {
	now := d.Now()
	if !d.BuildDate.IsZero() && now.Before(d.BuildDate) {
		return fail("clock", fmt.Sprintf("the system clock says %s, before this gitship was built (%s)",
			now.UTC().Format(time.RFC3339), d.BuildDate.UTC().Format(time.RFC3339)),
			"set the clock (timedatectl set-ntp true, or date -s) and keep it synchronized")
	}
	synced, known := d.Clock()
	switch {
	case !known:
		return warn("clock", now.UTC().Format(time.RFC3339)+": cannot tell whether it is synchronized",
			"run an NTP client (systemd-timesyncd, chrony)")
	case !synced:
		return warn("clock", now.UTC().Format(time.RFC3339)+": not synchronized (the kernel's clock is marked unsynchronized)",
			"run an NTP client (timedatectl set-ntp true, or chrony)")
	}
	return ok("clock", now.UTC().Format(time.RFC3339)+", synchronized")
}

// staUnsync is STA_UNSYNC of adjtimex(2)'s status: the clock is not
// being synchronized.
const staUnsync = 0x40

// KernelClock reads the kernel's clock state (adjtimex without changing
// anything): synchronized unless STA_UNSYNC is set.
func KernelClock() (synced, known bool) {
	var tx syscall.Timex
	state, err := syscall.Adjtimex(&tx)
	if err != nil {
		return false, false
	}
	const timeError = 5 // TIME_ERROR: unsynchronized
	return state != timeError && tx.Status&staUnsync == 0, true
}
