package build

import "testing"

func TestStoreChanged(t *testing.T) {
	for msg, want := range map[string]bool{
		`building at STEP "COPY web /web": committing: layer not known`:                         true,
		`creating build container: 3f2a...: image not known`:                                    true,
		`building at STEP "COPY missing-file /missing-file": checking on sources: no such file`: false,
		`building at STEP "RUN make": while running runtime: exit status 2`:                     false,
	} {
		if got := storeChanged(msg); got != want {
			t.Errorf("storeChanged(%q) = %v, want %v", msg, got, want)
		}
	}
}
