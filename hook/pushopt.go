package hook

import (
	"fmt"
	"strconv"
	"strings"
)

// maxPushOptions bounds GIT_PUSH_OPTION_COUNT so a garbage value cannot
// make the hook loop for minutes.
const maxPushOptions = 1000

// PushOptions reads the options of `git push -o key=value` from
// GIT_PUSH_OPTION_COUNT and GIT_PUSH_OPTION_<n> through getenv (os.Getenv in
// production). A bare `-o key` reads as "true"; a later option wins over an
// earlier one with the same key. No count means no options; a count that is
// not a number, or an option with an empty key, is an error.
func PushOptions(getenv func(string) string) (map[string]string, error) {
	opts := map[string]string{}
	raw := getenv("GIT_PUSH_OPTION_COUNT")
	if raw == "" {
		return opts, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 || n > maxPushOptions {
		return nil, fmt.Errorf("push options: GIT_PUSH_OPTION_COUNT %q is not a count from 0 to %d", raw, maxPushOptions)
	}
	for i := range n {
		opt := getenv("GIT_PUSH_OPTION_" + strconv.Itoa(i))
		key, val, hasVal := strings.Cut(opt, "=")
		if key == "" {
			return nil, fmt.Errorf("push option %d %q: empty key, want key=value or key", i, opt)
		}
		if !hasVal {
			val = "true"
		}
		opts[key] = val
	}
	return opts, nil
}
