// Command package builds gitship's Debian package with nfpm (a module of
// its own, so that gitship's go.mod does not carry nfpm's dependencies).
// scripts/package runs it with the built binary, the outputs of `gitship
// man` and `gitship completion SHELL`, and the files under packaging/.
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

const maintainer = "gitship developers <dev@gitship.invalid>"

func main() {
	var o options
	flag.StringVar(&o.Bin, "bin", "", "the gitship binary (built by scripts/build)")
	flag.StringVar(&o.VersionLine, "version-line", "", "what `gitship --version` printed")
	flag.StringVar(&o.Man, "man", "", "gitship(1), roff (`gitship man`)")
	flag.StringVar(&o.Bash, "bash", "", "`gitship completion bash`")
	flag.StringVar(&o.Zsh, "zsh", "", "`gitship completion zsh`")
	flag.StringVar(&o.Fish, "fish", "", "`gitship completion fish`")
	flag.StringVar(&o.Packaging, "packaging", "packaging", "the dir of units, config and maintainer scripts")
	flag.StringVar(&o.Out, "out", "dist", "where the .deb goes")
	flag.Parse()
	path, err := build(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "package: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

type options struct {
	Bin, VersionLine, Man, Bash, Zsh, Fish, Packaging, Out string
}

// build writes OUT/gitship_VERSION_amd64.deb and returns its path.
func build(o options) (string, error) {
	for _, f := range []struct{ flag, val string }{
		{"bin", o.Bin}, {"version-line", o.VersionLine}, {"man", o.Man},
		{"bash", o.Bash}, {"zsh", o.Zsh}, {"fish", o.Fish},
	} {
		if f.val == "" {
			return "", fmt.Errorf("-%s is required", f.flag)
		}
	}
	stamp, err := parseVersionLine(o.VersionLine)
	if err != nil {
		return "", err
	}
	version, err := debVersion(stamp.Version, stamp.Date)
	if err != nil {
		return "", err
	}
	mtime := stamp.Date
	if mtime.IsZero() {
		mtime = time.Unix(0, 0).UTC()
	}
	work, err := os.MkdirTemp("", "gitship-package-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	man := filepath.Join(work, "gitship.1.gz")
	if err := gzipFile(o.Man, man); err != nil {
		return "", fmt.Errorf("man page: %w", err)
	}
	changelog := filepath.Join(work, "changelog.gz")
	if err := gzipBytes(changelogText(version, stamp.Commit, mtime), changelog); err != nil {
		return "", fmt.Errorf("changelog: %w", err)
	}
	p := func(name string) string { return filepath.Join(o.Packaging, name) }
	file := func(src, dst string, mode os.FileMode) *files.Content {
		return &files.Content{Source: src, Destination: dst, FileInfo: &files.ContentFileInfo{Mode: mode, MTime: mtime}}
	}
	conf := func(src, dst string) *files.Content {
		c := file(src, dst, 0o644)
		c.Type = files.TypeConfig
		return c
	}
	dir := func(dst string) *files.Content {
		return &files.Content{Destination: dst, Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755, MTime: mtime}}
	}
	contents := files.Contents{
		file(o.Bin, "/usr/bin/gitship", 0o755),
		file(man, "/usr/share/man/man1/gitship.1.gz", 0o644),
		file(o.Bash, "/usr/share/bash-completion/completions/gitship", 0o644),
		file(o.Zsh, "/usr/share/zsh/vendor-completions/_gitship", 0o644),
		file(o.Fish, "/usr/share/fish/vendor_completions.d/gitship.fish", 0o644),
		file(p("buildkit.service"), "/lib/systemd/system/buildkit.service", 0o644),
		file(p("gitship-boot.service"), "/lib/systemd/system/gitship-boot.service", 0o644),
		file(p("tmpfiles.conf"), "/usr/lib/tmpfiles.d/gitship.conf", 0o644),
		file(p("copyright"), "/usr/share/doc/gitship/copyright", 0o644),
		file(changelog, "/usr/share/doc/gitship/changelog.gz", 0o644),
		file(p("lintian-overrides"), "/usr/share/lintian/overrides/gitship", 0o644),
		conf(p("config.toml"), "/etc/gitship/config.toml"),
		conf(p("nginx.conf"), "/etc/nginx/conf.d/gitship.conf"),
		conf(p("containers.conf"), "/etc/containers/containers.conf.d/gitship.conf"),
		dir("/etc/nginx/gitship"),
	}
	info := &nfpm.Info{
		Name:          "gitship",
		Arch:          "amd64",
		Platform:      "linux",
		Version:       version,
		VersionSchema: "none",
		Section:       "admin",
		Priority:      "optional",
		Maintainer:    maintainer,
		Description: "git push to one server, deployed like a small Heroku\n" +
			"gitship builds the pushed commit into an image with Podman (or BuildKit),\n" +
			"starts it beside the running release, checks its health, switches nginx\n" +
			"to it and retires the old one, keeping its image for a rollback. It is\n" +
			"one binary that git, cron and ssh call: no daemon of its own runs\n" +
			"between pushes.",
		Homepage: "https://gitship.invalid/",
		MTime:    mtime,
		Overridables: nfpm.Overridables{
			Depends:    []string{"podman", "runc", "nginx", "git", "ca-certificates"},
			Recommends: []string{"certbot", "cron | cron-daemon", "uidmap"},
			Contents:   contents,
			Scripts: nfpm.Scripts{
				PostInstall: p("postinst"),
				PreRemove:   p("prerm"),
				PostRemove:  p("postrm"),
			},
		},
	}
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(o.Out, deb.Default.ConventionalFileName(info))
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("build the deb: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return out, os.Rename(tmp, out)
}

// stamp is what scripts/build stamped into the binary.
type stamp struct {
	Version, Commit string
	Date            time.Time // zero for a build without git
}

var versionLineRE = regexp.MustCompile(`^gitship (\S+) \(commit (\S+), built (\S+)\)$`)

// parseVersionLine reads `gitship VERSION (commit SHA, built DATE)`.
func parseVersionLine(line string) (stamp, error) {
	m := versionLineRE.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return stamp{}, fmt.Errorf("unexpected `gitship --version` output %q", line)
	}
	s := stamp{Version: m[1], Commit: m[2]}
	if m[3] != "dev" {
		t, err := time.Parse(time.RFC3339, m[3])
		if err != nil {
			return stamp{}, fmt.Errorf("build date %q: %w", m[3], err)
		}
		s.Date = t.UTC()
	}
	return s, nil
}

var (
	// what `git describe --tags --always --dirty` prints for a tag
	describeTagRE = regexp.MustCompile(`^v?([0-9][0-9A-Za-z.+~-]*?)(?:-([0-9]+)-g([0-9a-f]+))?(-dirty)?$`)
	// ... and without a tag: the abbreviated commit (at least 7 hex digits;
	// a tag has a dot)
	describeShaRE = regexp.MustCompile(`^([0-9a-f]{7,40})(-dirty)?$`)
	// Debian policy 5.6.12, an upstream version without a revision
	debVersionRE = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)
)

// debVersion turns the stamped version (git describe, or "dev") into a
// Debian version: v1.2.0 -> 1.2.0, v1.2.0-rc1 -> 1.2.0~rc1, v1.2.0-3-gabc
// -> 1.2.0+git3.abc, abc1234 -> 0.0~gitYYYYMMDDhhmmss.abc1234 (the commit's
// date, so later commits sort later), dev -> 0.0~dev; -dirty adds
// .dirty (+dirty after a release).
func debVersion(v string, date time.Time) (string, error) {
	var out string
	switch {
	case v == "dev":
		out = "0.0~dev"
	case describeShaRE.MatchString(v):
		m := describeShaRE.FindStringSubmatch(v)
		if date.IsZero() {
			return "", errors.New("a version without a tag needs the commit date")
		}
		out = "0.0~git" + date.UTC().Format("20060102150405") + "." + m[1]
		if m[2] != "" {
			out += ".dirty"
		}
	case describeTagRE.MatchString(v):
		m := describeTagRE.FindStringSubmatch(v)
		out = strings.ReplaceAll(m[1], "-", "~")
		if m[2] != "" {
			out += "+git" + m[2] + "." + m[3]
		}
		if m[4] != "" {
			if m[2] != "" {
				out += ".dirty"
			} else {
				out += "+dirty"
			}
		}
	default:
		return "", fmt.Errorf("version %q: not a git describe output", v)
	}
	if !debVersionRE.MatchString(out) {
		return "", fmt.Errorf("version %q makes %q, not a Debian version", v, out)
	}
	return out, nil
}

// changelogText is a Debian changelog of one entry: this build.
func changelogText(version, commit string, date time.Time) []byte {
	return fmt.Appendf(nil, "gitship (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n",
		version, commit, maintainer, date.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
}

// gzipFile compresses src into dst the way Debian wants man pages: -9, no
// name, no time stamp.
func gzipFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return fmt.Errorf("%s is empty", src)
	}
	return gzipBytes(b, dst)
}

func gzipBytes(b []byte, dst string) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}
