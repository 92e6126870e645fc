package hook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindDockerfile(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		want    string
		wantErr string
		wantIs  error
	}{
		{name: "Dockerfile", setup: func(t *testing.T, d string) {
			writeFile(t, d, "Dockerfile", "FROM scratch\n", 0o644)
		}, want: "Dockerfile"},
		{name: "Containerfile", setup: func(t *testing.T, d string) {
			writeFile(t, d, "Containerfile", "FROM scratch\n", 0o644)
		}, want: "Containerfile"},
		{name: "both prefers Dockerfile", setup: func(t *testing.T, d string) {
			writeFile(t, d, "Dockerfile", "FROM scratch\n", 0o644)
			writeFile(t, d, "Containerfile", "FROM scratch\n", 0o644)
		}, want: "Dockerfile"},
		{name: "symlink inside", setup: func(t *testing.T, d string) {
			writeFile(t, d, "build/Dockerfile", "FROM scratch\n", 0o644)
			symlink(t, "build/Dockerfile", filepath.Join(d, "Dockerfile"))
		}, want: "Dockerfile"},
		{name: "neither", setup: func(t *testing.T, d string) {
			writeFile(t, d, "README.md", "hi\n", 0o644)
		}, wantIs: ErrNoDockerfile, wantErr: "no Dockerfile or Containerfile at the root of "},
		{name: "lowercase and nested do not count", setup: func(t *testing.T, d string) {
			writeFile(t, d, "dockerfile", "FROM scratch\n", 0o644)
			writeFile(t, d, "sub/Dockerfile", "FROM scratch\n", 0o644)
		}, wantIs: ErrNoDockerfile},
		{name: "Dockerfile is a directory", setup: func(t *testing.T, d string) {
			writeFile(t, d, "Dockerfile/x", "", 0o644)
			writeFile(t, d, "Containerfile", "FROM scratch\n", 0o644)
		}, wantErr: "Dockerfile at the root of"},
		{name: "symlink out of the tree", setup: func(t *testing.T, d string) {
			symlink(t, "/etc/hostname", filepath.Join(d, "Dockerfile"))
		}, wantErr: "Dockerfile at the root of"},
		{name: "dangling symlink", setup: func(t *testing.T, d string) {
			symlink(t, "nowhere", filepath.Join(d, "Containerfile"))
		}, wantErr: "Containerfile at the root of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			got, err := FindDockerfile(dir)
			if tt.wantErr == "" && tt.wantIs == nil {
				if err != nil || got != tt.want {
					t.Fatalf("FindDockerfile = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("FindDockerfile = %q, want an error", got)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
			if tt.wantIs == nil && errors.Is(err, ErrNoDockerfile) {
				t.Errorf("error %q says no Dockerfile, but one is there", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not contain %q and the dir", err, tt.wantErr)
			}
		})
	}
}

func TestFindDockerfileMissingDir(t *testing.T) {
	_, err := FindDockerfile(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrNoDockerfile) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
