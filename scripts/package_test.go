package scripts

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gitship/gitship/config"
	"github.com/gitship/gitship/internal/testenv"
	"github.com/spf13/afero"
)

// TestPackage builds the .deb with scripts/package into a temp dir and
// reads it back with dpkg-deb: the control fields, the files, the
// conffiles, the maintainer scripts, and a config that gitship loads and
// whose commented lines are gitship's defaults.
func TestPackage(t *testing.T) {
	testenv.Need(t, "Debian's dpkg", "dpkg-deb", "dpkg", "go")
	out := t.TempDir()
	cmd := exec.Command("./package", out)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/package: %v\n%s", err, b)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	deb := lines[len(lines)-1]
	if filepath.Dir(deb) != out || !regexp.MustCompile(`^gitship_[0-9][A-Za-z0-9.+~]*_amd64\.deb$`).MatchString(filepath.Base(deb)) {
		t.Fatalf("scripts/package printed %q, want OUT/gitship_VERSION_amd64.deb", deb)
	}
	// dpkgDeb runs dpkg-deb OPTION DEB ARGS...
	dpkgDeb := func(option string, args ...string) string {
		t.Helper()
		b, err := exec.Command("dpkg-deb", append([]string{option, deb}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg-deb %s %s: %v\n%s", option, strings.Join(args, " "), err, b)
		}
		return string(b)
	}

	// control
	version := strings.TrimSpace(dpkgDeb("-f", "Version"))
	if !strings.Contains(filepath.Base(deb), "_"+version+"_") {
		t.Errorf("file name %s does not carry the version %s", deb, version)
	}
	if b, err := exec.Command("dpkg", "--validate-version", version).CombinedOutput(); err != nil {
		t.Errorf("Version %q: %v %s", version, err, b)
	}
	for field, want := range map[string]string{
		"Package": "gitship", "Architecture": "amd64", "Section": "admin", "Priority": "optional",
	} {
		if got := strings.TrimSpace(dpkgDeb("-f", field)); got != want {
			t.Errorf("%s: %q, want %q", field, got, want)
		}
	}
	depends := strings.TrimSpace(dpkgDeb("-f", "Depends"))
	for _, want := range []string{"podman", "runc", "nginx", "git"} {
		if !slices.Contains(strings.Split(depends, ", "), want) {
			t.Errorf("Depends %q lacks %s", depends, want)
		}
	}
	if m := strings.TrimSpace(dpkgDeb("-f", "Maintainer")); m == "" {
		t.Error("no Maintainer")
	}

	// files
	listing := dpkgDeb("-c")
	for _, want := range []string{
		"-rwxr-xr-x root/root .* ./usr/bin/gitship$",
		" ./usr/share/man/man1/gitship.1.gz$",
		" ./usr/share/bash-completion/completions/gitship$",
		" ./usr/share/zsh/vendor-completions/_gitship$",
		" ./usr/share/fish/vendor_completions.d/gitship.fish$",
		" ./lib/systemd/system/buildkit.service$",
		" ./lib/systemd/system/gitship-boot.service$",
		" ./usr/lib/tmpfiles.d/gitship.conf$",
		" ./etc/gitship/config.toml$",
		" ./etc/nginx/conf.d/gitship.conf$",
		"^drwxr-xr-x .* ./etc/nginx/gitship/$",
		" ./etc/containers/containers.conf.d/gitship.conf$",
		" ./usr/share/doc/gitship/copyright$",
		" ./usr/share/doc/gitship/changelog.gz$",
		" ./usr/share/lintian/overrides/gitship$",
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(listing) {
			t.Errorf("the package lacks %s:\n%s", want, listing)
		}
	}
	// the apps' data is never the package's: dpkg would remove it
	if regexp.MustCompile(`(?m) \./var/`).MatchString(listing) {
		t.Errorf("the package holds files under /var:\n%s", listing)
	}

	// conffiles and maintainer scripts
	ctl := t.TempDir()
	dpkgDeb("-e", ctl)
	conffiles, err := os.ReadFile(filepath.Join(ctl, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	gotConf := strings.Fields(string(conffiles))
	slices.Sort(gotConf)
	wantConf := []string{"/etc/containers/containers.conf.d/gitship.conf", "/etc/gitship/config.toml", "/etc/nginx/conf.d/gitship.conf"}
	if !slices.Equal(gotConf, wantConf) {
		t.Errorf("conffiles %v, want %v", gotConf, wantConf)
	}
	scripts := map[string][]string{
		"postinst": {"cron install", "deb-systemd-helper enable", "/var/lib/gitship"},
		"prerm":    {"deb-systemd-invoke stop buildkit.service"},
		"postrm":   {"purge", "deb-systemd-helper mask"},
	}
	for name, wants := range scripts {
		fi, err := os.Stat(filepath.Join(ctl, name))
		if err != nil {
			t.Errorf("no %s: %v", name, err)
			continue
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", name)
		}
		b, _ := os.ReadFile(filepath.Join(ctl, name))
		for _, want := range wants {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		// remove must never take the apps' data
		if strings.Contains(string(b), "rm -rf /var/lib/gitship") {
			t.Errorf("%s removes /var/lib/gitship", name)
		}
	}

	// the files themselves
	root := t.TempDir()
	dpkgDeb("-x", root)
	v, err := exec.Command(filepath.Join(root, "usr/bin/gitship"), "--version").Output()
	if err != nil || !strings.HasPrefix(string(v), "gitship ") {
		t.Errorf("the packaged gitship --version: %q %v", v, err)
	}
	man := gunzip(t, filepath.Join(root, "usr/share/man/man1/gitship.1.gz"))
	if !strings.Contains(man, ".TH") {
		t.Errorf("gitship.1.gz is not a man page:\n%.300s", man)
	}
	for _, f := range []string{"usr/share/bash-completion/completions/gitship", "usr/share/zsh/vendor-completions/_gitship", "usr/share/fish/vendor_completions.d/gitship.fish"} {
		if b, err := os.ReadFile(filepath.Join(root, f)); err != nil || !strings.Contains(string(b), "gitship") {
			t.Errorf("%s is not a gitship completion: %v\n%.200s", f, err, b)
		}
	}
	if cl := gunzip(t, filepath.Join(root, "usr/share/doc/gitship/changelog.gz")); !strings.HasPrefix(cl, "gitship ("+version+") ") {
		t.Errorf("the changelog's entry is not this version %s:\n%s", version, cl)
	}
	boot := read(t, filepath.Join(root, "lib/systemd/system/gitship-boot.service"))
	for _, want := range []string{"Type=oneshot", "ExecStart=/usr/bin/gitship --config /etc/gitship/config.toml boot", "After=network-online.target podman.socket nginx.service", "WantedBy=multi-user.target"} {
		if !strings.Contains(boot, want) {
			t.Errorf("gitship-boot.service lacks %q", want)
		}
	}
	bk := read(t, filepath.Join(root, "lib/systemd/system/buildkit.service"))
	if !strings.Contains(bk, "ConditionFileIsExecutable=/usr/local/bin/buildkitd") || !strings.Contains(bk, "ExecStart=/usr/local/bin/buildkitd ") {
		t.Errorf("buildkit.service must run /usr/local/bin/buildkitd and be skipped without it:\n%s", bk)
	}
	checkPackagedConfig(t, filepath.Join(root, "etc/gitship/config.toml"))
}

// checkPackagedConfig: the conffile loads, sets root's ssh (deploys run as
// root, as with scripts/setup), and its commented lines, uncommented, are
// gitship's defaults.
func checkPackagedConfig(t *testing.T, path string) {
	t.Helper()
	fs := afero.NewOsFs()
	cfg, err := config.Load(fs, path, true)
	if err != nil {
		t.Fatalf("the packaged config does not load: %v", err)
	}
	if cfg.SSH.AuthorizedKeys != "/root/.ssh/authorized_keys" || cfg.SSH.Remote != "root@HOST" {
		t.Errorf("[ssh] %+v, want root's authorized_keys and root@HOST", cfg.SSH)
	}
	setting := regexp.MustCompile(`^# ([a-z_]+ *=.*)$`)
	var uncommented []string
	n := 0
	for _, l := range strings.Split(read(t, path), "\n") {
		if m := setting.FindStringSubmatch(l); m != nil {
			l = m[1]
			n++
		}
		uncommented = append(uncommented, l)
	}
	all := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(all, []byte(strings.Join(uncommented, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(fs, all, true)
	if err != nil {
		t.Fatalf("the packaged config's commented lines do not load: %v", err)
	}
	want := config.Default()
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	want.SSH, want.Path = got.SSH, got.Path
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("the commented lines are not the defaults:\n got %+v\nwant %+v", *got, want)
	}
	// every key of the config is shown (ssh's two are set, not commented)
	if keys := countKeys(reflect.TypeOf(config.Config{})) - 2; n != keys {
		t.Errorf("%d commented settings, want one per key (%d)", n, keys)
	}
}

// countKeys counts the toml keys of a config struct, its tables' included.
func countKeys(typ reflect.Type) int {
	n := 0
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("toml")
		if tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			n += countKeys(f.Type)
			continue
		}
		n++
	}
	return n
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(out)
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
