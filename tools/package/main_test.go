package main

import (
	"os/exec"
	"testing"
	"time"
)

func TestDebVersion(t *testing.T) {
	date := time.Date(2026, 11, 28, 7, 12, 55, 0, time.UTC)
	for _, tc := range []struct{ in, want string }{
		{"v1.2.0", "1.2.0"},
		{"1.2.0", "1.2.0"},
		{"v1.2.0-rc1", "1.2.0~rc1"},
		{"v1.2.0-3-g085e7f1", "1.2.0+git3.085e7f1"},
		{"v1.2.0-3-g085e7f1-dirty", "1.2.0+git3.085e7f1.dirty"},
		{"v1.2.0-dirty", "1.2.0+dirty"},
		{"085e7f1", "0.0~git20261128071255.085e7f1"},
		{"085e7f1-dirty", "0.0~git20261128071255.085e7f1.dirty"},
		{"dev", "0.0~dev"},
	} {
		got, err := debVersion(tc.in, date)
		if err != nil || got != tc.want {
			t.Errorf("debVersion(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			continue
		}
		// dpkg agrees it is a version (when dpkg is here)
		if dpkg, err := exec.LookPath("dpkg"); err == nil {
			if out, err := exec.Command(dpkg, "--validate-version", got).CombinedOutput(); err != nil {
				t.Errorf("dpkg --validate-version %s: %v %s", got, err, out)
			}
		}
	}
	for _, bad := range []string{"", "not a version", "v", "-dirty", "v1.0 beta"} {
		if got, err := debVersion(bad, date); err == nil {
			t.Errorf("debVersion(%q) = %q, want an error", bad, got)
		}
	}
	if _, err := debVersion("085e7f1", time.Time{}); err == nil {
		t.Error("a commit without a date made a version")
	}
	// later commits sort later, a release after the snapshots
	older, _ := debVersion("085e7f1", date)
	newer, _ := debVersion("95d22d4", date.Add(time.Hour))
	release, _ := debVersion("v0.1.0", date)
	for _, pair := range [][2]string{{older, newer}, {newer, release}} {
		if dpkg, err := exec.LookPath("dpkg"); err == nil {
			if err := exec.Command(dpkg, "--compare-versions", pair[0], "lt", pair[1]).Run(); err != nil {
				t.Errorf("%s does not sort before %s", pair[0], pair[1])
			}
		}
	}
}

func TestParseVersionLine(t *testing.T) {
	s, err := parseVersionLine("gitship 085e7f1 (commit 085e7f1, built 2026-11-28T07:12:55Z)\n")
	if err != nil || s.Version != "085e7f1" || s.Commit != "085e7f1" || !s.Date.Equal(time.Date(2026, 11, 28, 7, 12, 55, 0, time.UTC)) {
		t.Errorf("got %+v, %v", s, err)
	}
	if s, err := parseVersionLine("gitship dev (commit dev, built dev)"); err != nil || !s.Date.IsZero() {
		t.Errorf("dev build: %+v, %v", s, err)
	}
	if _, err := parseVersionLine("NAME:\n   gitship - deploys"); err == nil {
		t.Error("a help page parsed as a version")
	}
}
