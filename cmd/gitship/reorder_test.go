package main

import (
	"io"
	"strings"
	"testing"
)

func TestReorder(t *testing.T) {
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	tests := []struct{ in, want string }{
		{"gitship init myapp --domain a.example.com", "gitship init --domain a.example.com myapp"},
		{"gitship --config /c init myapp --domain=a.example.com", "gitship --config /c init --domain=a.example.com myapp"},
		{"gitship init --domain a.example.com myapp", "gitship init --domain a.example.com myapp"},
		{"gitship deploy myapp main", "gitship deploy myapp main"},
		{"gitship hook post-receive", "gitship hook post-receive"},
		{"gitship init myapp -- --domain", "gitship init myapp -- --domain"},
		{"gitship nosuch a --b", "gitship nosuch a --b"},
	}
	for _, tt := range tests {
		got := strings.Join(reorder(app, strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("reorder(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
