package build

import "testing"

func TestCleanError(t *testing.T) {
	tests := []struct{ in, want string }{
		{`building at STEP "COPY nope /nope": checking on sources under "/tmp/x": copier: stat: "/nope": no such file or directory`,
			`building at STEP "COPY nope /nope": checking on sources under "/tmp/x": copier: stat: "/nope": no such file or directory`},
		{"building at STEP \"RUN false\": while running runtime: exit status 1: &imagebuilder.Step{Env:[]string{\"A=b\"}}",
			`building at STEP "RUN false": while running runtime: exit status 1`},
		{"first line\nsecond line", "first line"},
		// COPY of a symlink that leaves the context (Podman 4.3), the
		// struct shortened
		{`building at STEP "COPY leak /leak": reading "/var/tmp/b/build/leak": error during bulk transfer for copier.request{Request:"GET", Root:"/", Globs:[]string{"/leak"}, StatOptions:copier.StatOptions{CheckForArchives:false}, GetOptions:copier.GetOptions{ChownDirs:(*idtools.IDPair)(0xc00048eca0), Rename:map[string]string(nil)}, Note:"a } in a \"string\" {"}: copier: get: lstat "/leak"("/etc/hostname"): lstat /etc/hostname: no such file or directory`,
			`building at STEP "COPY leak /leak": reading "/var/tmp/b/build/leak": error during bulk transfer: copier: get: lstat "/leak"("/etc/hostname"): lstat /etc/hostname: no such file or directory`},
		{`step failed: &imagebuilder.Step{Env:[]string{"A`, `step failed`},
	}
	for _, tt := range tests {
		if got := CleanError(tt.in); got != tt.want {
			t.Errorf("CleanError(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLabelListSorted(t *testing.T) {
	got := labelList(map[string]string{"b": "2", "a": "1"})
	if len(got) != 2 || got[0] != "a=1" || got[1] != "b=2" {
		t.Errorf("labelList = %v", got)
	}
}
