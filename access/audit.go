package access

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/afero"
)

// Audit appends one line to the audit log at path, creating it (mode 0600,
// parent 0700) if missing: RFC3339 time in UTC, key name ("-" if unknown),
// the command as received quoted with %q, and the result ("ok",
// "refused: ...", "failed: ..."). The command is quoted so that nothing a
// client sends can forge a line.
func Audit(fs afero.Fs, path, key, command, result string, now time.Time) error {
	if key == "" {
		key = "-"
	} else if !keyName.MatchString(key) {
		key = strconv.Quote(key)
	}
	result = strings.Join(strings.Fields(result), " ")
	line := fmt.Sprintf("%s %s %q %s\n", now.UTC().Format(time.RFC3339), key, command, result)
	if err := fs.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("audit log %s: %w", path, err)
	}
	f, err := fs.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", path, err)
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("audit log %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit log %s: %w", path, err)
	}
	return nil
}
