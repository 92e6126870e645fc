package build

import "testing"

func TestCleanError(t *testing.T) {
	tests := []struct{ in, want string }{
		{`building at STEP "COPY nope /nope": checking on sources under "/tmp/x": copier: stat: "/nope": no such file or directory`,
			`building at STEP "COPY nope /nope": checking on sources under "/tmp/x": copier: stat: "/nope": no such file or directory`},
		{"building at STEP \"RUN false\": while running runtime: exit status 1: &imagebuilder.Step{Env:[]string{\"A=b\"}}",
			`building at STEP "RUN false": while running runtime: exit status 1`},
		{"first line\nsecond line", "first line"},
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
