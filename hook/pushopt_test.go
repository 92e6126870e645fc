package hook

import (
	"reflect"
	"strings"
	"testing"
)

func TestPushOptions(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    map[string]string
		wantErr string
	}{
		{name: "no options", env: nil, want: map[string]string{}},
		{name: "zero", env: map[string]string{"GIT_PUSH_OPTION_COUNT": "0"}, want: map[string]string{}},
		{name: "key value and bare key", env: map[string]string{
			"GIT_PUSH_OPTION_COUNT": "3",
			"GIT_PUSH_OPTION_0":     "skip-health=1",
			"GIT_PUSH_OPTION_1":     "verbose",
			"GIT_PUSH_OPTION_2":     "note=a=b c",
		}, want: map[string]string{"skip-health": "1", "verbose": "true", "note": "a=b c"}},
		{name: "empty value kept", env: map[string]string{"GIT_PUSH_OPTION_COUNT": "1", "GIT_PUSH_OPTION_0": "k="},
			want: map[string]string{"k": ""}},
		{name: "later wins", env: map[string]string{
			"GIT_PUSH_OPTION_COUNT": "2", "GIT_PUSH_OPTION_0": "k=1", "GIT_PUSH_OPTION_1": "k=2",
		}, want: map[string]string{"k": "2"}},
		{name: "only count options read", env: map[string]string{
			"GIT_PUSH_OPTION_COUNT": "1", "GIT_PUSH_OPTION_0": "a", "GIT_PUSH_OPTION_1": "b",
		}, want: map[string]string{"a": "true"}},
		{name: "not a number", env: map[string]string{"GIT_PUSH_OPTION_COUNT": "two"}, wantErr: `GIT_PUSH_OPTION_COUNT "two"`},
		{name: "negative", env: map[string]string{"GIT_PUSH_OPTION_COUNT": "-1"}, wantErr: `"-1"`},
		{name: "huge", env: map[string]string{"GIT_PUSH_OPTION_COUNT": "99999999"}, wantErr: `"99999999"`},
		{name: "missing option", env: map[string]string{"GIT_PUSH_OPTION_COUNT": "1"}, wantErr: "push option 0"},
		{name: "empty key", env: map[string]string{"GIT_PUSH_OPTION_COUNT": "1", "GIT_PUSH_OPTION_0": "=v"},
			wantErr: `push option 0 "=v"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PushOptions(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
