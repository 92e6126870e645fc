package release

import (
	"strings"
	"testing"

	"github.com/spf13/afero"
)

func TestCronInstall(t *testing.T) {
	fsys := afero.NewMemMapFs()
	content := CronFile("/usr/local/bin/gitship", "/etc/gitship/my config.toml", nil)
	for _, want := range []string{
		"17 3,15 * * * root /usr/local/bin/gitship --config '/etc/gitship/my config.toml' certs renew\n",
		"41 4 * * * root /usr/local/bin/gitship --config '/etc/gitship/my config.toml' prune\n",
	} {
		if !strings.Contains(content, want) {
			t.Errorf("cron file lacks %q:\n%s", want, content)
		}
	}
	changed, err := InstallCron(fsys, "/etc/cron.d/gitship", content)
	if err != nil || !changed {
		t.Fatalf("first install: changed %v, err %v", changed, err)
	}
	changed, err = InstallCron(fsys, "/etc/cron.d/gitship", content)
	if err != nil || changed {
		t.Fatalf("second install: changed %v, err %v; want no change", changed, err)
	}
	got, err := afero.ReadFile(fsys, "/etc/cron.d/gitship")
	if err != nil || string(got) != content {
		t.Fatalf("file %q, err %v", got, err)
	}
}
