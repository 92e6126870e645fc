package nginx

import (
	"errors"
	"testing"

	"github.com/spf13/afero"
)

func TestConfDirInclude(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string // FILE:LINE; "" wants ErrNoInclude
	}{
		{name: "absolute, in http",
			files: map[string]string{"/etc/nginx/nginx.conf": "events {}\nhttp {\n    include /etc/nginx/gitship/*.conf;\n}\n"},
			want:  "/etc/nginx/nginx.conf:3"},
		{name: "relative to the main config's directory",
			files: map[string]string{"/etc/nginx/nginx.conf": "events {}\nhttp { include gitship/*.conf; }\n"},
			want:  "/etc/nginx/nginx.conf:2"},
		{name: "in an included file (Debian's sites-enabled)",
			files: map[string]string{
				"/etc/nginx/nginx.conf":              "events {}\nhttp { include /etc/nginx/sites-enabled/*; }\n",
				"/etc/nginx/sites-enabled/default":   "server { listen 80; }\ninclude /etc/nginx/gitship/*.conf;\n",
				"/etc/nginx/gitship/placeholder.txt": "",
			},
			want: "/etc/nginx/sites-enabled/default:2"},
		{name: "another directory only",
			files: map[string]string{"/etc/nginx/nginx.conf": "events {}\nhttp { include /etc/nginx/conf.d/*.conf; }\n"}},
		{name: "a pattern that misses APP.conf",
			files: map[string]string{"/etc/nginx/nginx.conf": "events {}\nhttp { include /etc/nginx/gitship/*.inc; }\n"}},
		{name: "commented out",
			files: map[string]string{"/etc/nginx/nginx.conf": "events {}\nhttp {\n  # include /etc/nginx/gitship/*.conf;\n}\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := afero.NewMemMapFs()
			for name, content := range tc.files {
				if err := afero.WriteFile(fs, name, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			m := &Manager{Fs: fs, Conf: "/etc/nginx/nginx.conf", ConfDir: "/etc/nginx/gitship/"}
			got, err := m.ConfDirInclude()
			if tc.want == "" {
				if !errors.Is(err, ErrNoInclude) {
					t.Fatalf("got %q, %v; want ErrNoInclude", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
