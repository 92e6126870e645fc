package hook

import (
	"reflect"
	"strings"
	"testing"
)

const (
	sha1a = "1111111111111111111111111111111111111111"
	sha1b = "2222222222222222222222222222222222222222"
	zero  = "0000000000000000000000000000000000000000"
	sha2a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	zero2 = "0000000000000000000000000000000000000000000000000000000000000000"
)

func TestParseRefUpdates(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []RefUpdate
		wantErr string // substring; "" means no error
	}{
		{name: "empty", in: "", want: []RefUpdate{}},
		{name: "one line no newline", in: sha1a + " " + sha1b + " refs/heads/main",
			want: []RefUpdate{{sha1a, sha1b, "refs/heads/main"}}},
		{name: "trailing newline", in: sha1a + " " + sha1b + " refs/heads/main\n",
			want: []RefUpdate{{sha1a, sha1b, "refs/heads/main"}}},
		{name: "crlf", in: zero + " " + sha1b + " refs/heads/main\r\n" + sha1a + " " + zero + " refs/tags/v1\r\n",
			want: []RefUpdate{{zero, sha1b, "refs/heads/main"}, {sha1a, zero, "refs/tags/v1"}}},
		{name: "sha256", in: zero2 + " " + sha2a + " refs/heads/main\n",
			want: []RefUpdate{{zero2, sha2a, "refs/heads/main"}}},
		{name: "two fields", in: sha1a + " " + sha1b + "\n", wantErr: "line 1 "},
		{name: "four fields", in: sha1a + " " + sha1b + " refs/heads/a refs/heads/b\n", wantErr: "got 4 fields"},
		{name: "bad line skipped never", in: sha1a + " " + sha1b + " refs/heads/main\nnot a ref line at all\n",
			wantErr: `line 2 "not a ref line at all"`},
		{name: "empty line in the middle", in: sha1a + " " + sha1b + " refs/heads/main\n\n" + sha1a + " " + sha1b + " refs/heads/x\n",
			wantErr: "line 2 "},
		{name: "tab separated", in: sha1a + "\t" + sha1b + "\trefs/heads/main\n", wantErr: "line 1"},
		{name: "short sha", in: "1111111 " + sha1b + " refs/heads/main\n", wantErr: `old sha "1111111"`},
		{name: "uppercase sha", in: sha1a + " " + strings.ToUpper("abcdef"+sha1b[6:]) + " refs/heads/main\n", wantErr: "new sha"},
		{name: "non-hex sha", in: sha1a + " " + "g" + sha1b[1:] + " refs/heads/main\n", wantErr: "new sha"},
		{name: "mixed sha lengths", in: sha1a + " " + sha2a + " refs/heads/main\n", wantErr: "differ in length"},
		{name: "ref without refs/", in: sha1a + " " + sha1b + " main\n", wantErr: `ref "main"`},
		{name: "bare refs/", in: sha1a + " " + sha1b + " refs/\n", wantErr: `ref "refs/"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRefUpdates(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q (got %v)", err, tt.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestRefUpdateMethods(t *testing.T) {
	tests := []struct {
		u          RefUpdate
		wantDelete bool
		wantCreate bool
		wantBranch string
		wantIsBr   bool
	}{
		{RefUpdate{sha1a, sha1b, "refs/heads/main"}, false, false, "main", true},
		{RefUpdate{zero, sha1b, "refs/heads/feat/x"}, false, true, "feat/x", true},
		{RefUpdate{sha1a, zero, "refs/heads/main"}, true, false, "main", true},
		{RefUpdate{zero2, sha2a, "refs/heads/main"}, false, true, "main", true},
		{RefUpdate{sha2a, zero2, "refs/tags/v1"}, true, false, "", false},
		{RefUpdate{sha1a, sha1b, "refs/tags/main"}, false, false, "", false},
		{RefUpdate{sha1a, sha1b, "refs/heads/"}, false, false, "", false},
		{RefUpdate{sha1a, sha1b, "refs/remotes/origin/main"}, false, false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.u.Ref, func(t *testing.T) {
			if got := tt.u.IsDelete(); got != tt.wantDelete {
				t.Errorf("IsDelete() = %v, want %v", got, tt.wantDelete)
			}
			if got := tt.u.IsCreate(); got != tt.wantCreate {
				t.Errorf("IsCreate() = %v, want %v", got, tt.wantCreate)
			}
			b, ok := tt.u.Branch()
			if b != tt.wantBranch || ok != tt.wantIsBr {
				t.Errorf("Branch() = %q, %v, want %q, %v", b, ok, tt.wantBranch, tt.wantIsBr)
			}
		})
	}
}

func TestPick(t *testing.T) {
	mainPush := RefUpdate{sha1a, sha1b, "refs/heads/main"}
	mainCreate := RefUpdate{zero, sha1b, "refs/heads/main"}
	tests := []struct {
		name      string
		updates   []RefUpdate
		branch    string
		want      *RefUpdate
		wantNotes []string
	}{
		{name: "none", updates: nil, branch: "main"},
		{name: "main", updates: []RefUpdate{mainPush}, branch: "main", want: &mainPush},
		{name: "first push creates main", updates: []RefUpdate{mainCreate}, branch: "main", want: &mainCreate},
		{name: "feature", updates: []RefUpdate{{sha1a, sha1b, "refs/heads/feature"}}, branch: "main",
			wantNotes: []string{`push to refs/heads/feature: not the deploy branch "main", nothing deployed`}},
		{name: "other deploy branch", updates: []RefUpdate{mainPush}, branch: "prod",
			wantNotes: []string{`push to refs/heads/main: not the deploy branch "prod", nothing deployed`}},
		{name: "delete main", updates: []RefUpdate{{sha1a, zero, "refs/heads/main"}}, branch: "main",
			wantNotes: []string{"branch main deleted: nothing deployed"}},
		{name: "delete feature", updates: []RefUpdate{{sha1a, zero, "refs/heads/feature"}}, branch: "main",
			wantNotes: []string{"branch feature deleted: nothing deployed"}},
		{name: "tag", updates: []RefUpdate{{zero, sha1b, "refs/tags/v1"}}, branch: "main",
			wantNotes: []string{"tag v1: not deployed"}},
		{name: "tag named like the branch", updates: []RefUpdate{{zero, sha1b, "refs/tags/main"}}, branch: "main",
			wantNotes: []string{"tag main: not deployed"}},
		{name: "tag delete", updates: []RefUpdate{{sha1b, zero, "refs/tags/v1"}}, branch: "main",
			wantNotes: []string{"tag v1 deleted: not deployed"}},
		{name: "notes ref", updates: []RefUpdate{{zero, sha1b, "refs/notes/commits"}}, branch: "main",
			wantNotes: []string{"push to refs/notes/commits: not a branch, nothing deployed"}},
		{name: "multiple", branch: "main",
			updates: []RefUpdate{{zero, sha1b, "refs/tags/v1"}, mainPush, {sha1a, sha1b, "refs/heads/feature"}},
			want:    &mainPush,
			wantNotes: []string{
				"tag v1: not deployed",
				`push to refs/heads/feature: not the deploy branch "main", nothing deployed`,
			}},
		{name: "duplicate main keeps the first", branch: "main",
			updates:   []RefUpdate{mainPush, {sha1b, sha1a, "refs/heads/main"}},
			want:      &mainPush,
			wantNotes: []string{`push to refs/heads/main: already deploying another update of "main", ignored`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes := Pick(tt.updates, tt.branch)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("deploy = %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(notes, tt.wantNotes) {
				t.Errorf("notes = %q, want %q", notes, tt.wantNotes)
			}
		})
	}
}

func TestPickDoesNotAliasInput(t *testing.T) {
	updates := []RefUpdate{{sha1a, sha1b, "refs/heads/main"}}
	got, _ := Pick(updates, "main")
	updates[0].New = zero
	if got == nil || got.New != sha1b {
		t.Fatalf("deploy changed with the input slice: %+v", got)
	}
}

func TestShort(t *testing.T) {
	tests := map[string]string{
		sha1a:            "111111111111",
		sha2a:            "aaaaaaaaaaaa",
		"abc":            "abc",
		"":               "",
		"12345678901234": "123456789012",
	}
	for in, want := range tests {
		if got := Short(in); got != want {
			t.Errorf("Short(%q) = %q, want %q", in, got, want)
		}
	}
}
