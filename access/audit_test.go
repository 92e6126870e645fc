package access

import (
	"testing"
	"time"

	"github.com/spf13/afero"
)

func TestAudit(t *testing.T) {
	fs := afero.NewMemMapFs()
	p := "/var/lib/gitship/log/audit.log"
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	for _, e := range []struct{ key, cmd, result string }{
		{"dev", "git-receive-pack 'a.git'", "ok"},
		{"dev", "gitship rollback a; rm -rf /\nfake 2025 line", "refused: character ';' not allowed"},
		{"", "", "refused: no interactive login"},
		{"bad name", "gitship apps", "failed: exit 1\nsecond line"},
	} {
		if err := Audit(fs, p, e.key, e.cmd, e.result, now); err != nil {
			t.Fatal(err)
		}
	}
	b, err := afero.ReadFile(fs, p)
	if err != nil {
		t.Fatal(err)
	}
	want := `2025-03-04T04:06:07Z dev "git-receive-pack 'a.git'" ok
2025-03-04T04:06:07Z dev "gitship rollback a; rm -rf /\nfake 2025 line" refused: character ';' not allowed
2025-03-04T04:06:07Z - "" refused: no interactive login
2025-03-04T04:06:07Z "bad name" "gitship apps" failed: exit 1 second line
`
	if string(b) != want {
		t.Errorf("audit log:\n%s\nwant:\n%s", b, want)
	}
	fi, err := fs.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", fi.Mode().Perm())
	}
}
