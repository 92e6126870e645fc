package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes ParseSize accepts, longest first so that
// "KiB" is not read as "B". Single letters ("10G") are refused: Docker reads
// "512m" as MiB, so they would mean different things to different readers.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"b", 1},
}

var sizeNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// ParseSize parses a size such as "10GB", "512MB", "2GiB", "1.5GB" or "0"
// into bytes. KB, MB, GB and TB are powers of 1000, KiB, MiB, GiB and TiB
// powers of 1024, and a bare number is bytes; case does not matter. "0"
// means no budget, so a size that rounds to 0 bytes ("0.1B") is refused
// rather than read as none. The error names the bad value.
func ParseSize(s string) (int64, error) {
	bad := func(why string) (int64, error) {
		return 0, fmt.Errorf("size %q: %s (want e.g. 10GB, 512MB, 2GiB or 0)", s, why)
	}
	num, mult := strings.TrimSpace(s), int64(1)
	lower := strings.ToLower(num)
	for _, u := range sizeUnits {
		if strings.HasSuffix(lower, u.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	if !sizeNumber.MatchString(num) {
		return bad("not a non-negative number with an optional unit B, KB, MB, GB, TB, KiB, MiB, GiB or TiB")
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n > math.MaxInt64/mult {
			return bad("too large")
		}
		return n * mult, nil
	} else if errors.Is(err, strconv.ErrRange) {
		return bad("too large")
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return bad("not a number")
	}
	bytes := math.Round(f * float64(mult))
	switch {
	case bytes >= math.MaxInt64:
		return bad("too large")
	case bytes == 0 && f != 0:
		return bad("rounds to 0 bytes, which would mean no budget")
	}
	return int64(bytes), nil
}
