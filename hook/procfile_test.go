package hook

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gitship/gitship/internal/usererr"
)

func TestParseProcfile(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Process // every process, in file order
		wantErr string    // the whole line
	}{
		{name: "web and workers in file order",
			in: "web: gunicorn -b :$PORT app:app\nworker: celery -A tasks worker\nclock: python clock.py\n",
			want: []Process{
				{Type: "web", Command: "gunicorn -b :$PORT app:app", Line: 1},
				{Type: "worker", Command: "celery -A tasks worker", Line: 2},
				{Type: "clock", Command: "python clock.py", Line: 3},
			}},
		{name: "comments blanks CRLF BOM and spacing",
			in:   "\uFEFF# processes\r\n\r\n   // dokku style\r\nweb:python app.py  \r\n\t urgent_worker-2:  x \r\n",
			want: []Process{{Type: "web", Command: "python app.py", Line: 4}, {Type: "urgent_worker-2", Command: "x", Line: 5}}},
		{name: "space before the colon", in: "web :x\n",
			wantErr: `Procfile line 1: "web :x": want TYPE: COMMAND`},
		{name: "no space after the colon, tabs before the command",
			in:   "web:python app.py\nrelease:\t./migrate\n",
			want: []Process{{Type: "web", Command: "python app.py", Line: 1}, {Type: "release", Command: "./migrate", Line: 2}}},
		{name: "colons and a trailing comment stay in the command",
			in:   "worker: rake jobs:work # the queue\n",
			want: []Process{{Type: "worker", Command: "rake jobs:work # the queue", Line: 1}}},
		{name: "case kept",
			in:   "Worker: a\nworker: b\n",
			want: []Process{{Type: "Worker", Command: "a", Line: 1}, {Type: "worker", Command: "b", Line: 2}}},
		{name: "63 characters",
			in:   strings.Repeat("w", 63) + ": x\n",
			want: []Process{{Type: strings.Repeat("w", 63), Command: "x", Line: 1}}},
		{name: "no trailing newline",
			in:   "web: x",
			want: []Process{{Type: "web", Command: "x", Line: 1}}},

		{name: "missing colon", in: "# c\n\nweb python app.py\n",
			wantErr: `Procfile line 3: "web python app.py": want TYPE: COMMAND`},
		{name: "merge conflict", in: "<<<<<<< HEAD\nweb: a\n=======\nweb: b\n>>>>>>> x\n",
			wantErr: `Procfile line 1: "<<<<<<< HEAD": want TYPE: COMMAND`},
		{name: "bad character in type", in: "web.1: x\n",
			wantErr: `Procfile line 1: "web.1: x": want TYPE: COMMAND`},
		{name: "space in type", in: "my worker: x\n",
			wantErr: `Procfile line 1: "my worker: x": want TYPE: COMMAND`},
		{name: "type too long", in: strings.Repeat("w", 64) + ": x\n",
			wantErr: `Procfile line 1: process type "` + strings.Repeat("w", 64) + `" is longer than 63 characters`},
		{name: "duplicate", in: "web: a\nworker: b\n\nweb: c\n",
			wantErr: `Procfile lines 1 and 4 both declare "web": keep one`},
		{name: "empty command", in: "web: a\nworker:   \n",
			wantErr: `Procfile line 2: "worker" has no command`},
		{name: "comment for a command", in: "worker: # later\n",
			wantErr: `Procfile line 1: "worker" has no command`},
		{name: "miscased web", in: "Web: a\n",
			wantErr: `Procfile line 1: process type "Web": types are case-sensitive: write "web"`},
		{name: "miscased release", in: "RELEASE: a\n",
			wantErr: `Procfile line 1: process type "RELEASE": types are case-sensitive: write "release"`},
		{name: "only comments", in: "# nothing yet\n\n",
			wantErr: "Procfile declares no process: add a line such as `web: COMMAND`, or remove the file to run the image's CMD"},
		{name: "empty file", in: "",
			wantErr: "Procfile declares no process: add a line such as `web: COMMAND`, or remove the file to run the image's CMD"},
		{name: "line too long", in: "web: " + strings.Repeat("x", 70000) + "\n",
			wantErr: "Procfile line 1: bufio.Scanner: token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pf, err := ParseProcfile(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseProcfile = %+v, want error %q", pf.Processes(), tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("error\n got %q\nwant %q", err, tt.wantErr)
				}
				var ue *usererr.Error
				if !errors.Is(err, ErrBadProcfile) || !errors.As(err, &ue) {
					t.Errorf("error %q is not a user error wrapping ErrBadProcfile", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseProcfile: %v", err)
			}
			if got := pf.Processes(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("processes\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestProcfileRoles(t *testing.T) {
	pf, err := ParseProcfile(strings.NewReader("clock: c\nrelease: r\nweb: w\nworker: k\nWorker: K\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := pf.Web(); !ok || p.Command != "w" || p.Line != 3 || p.IsWorker() {
		t.Errorf("Web() = %+v, %v", p, ok)
	}
	if p, ok := pf.Release(); !ok || p.Command != "r" || p.IsWorker() {
		t.Errorf("Release() = %+v, %v", p, ok)
	}
	var types []string
	for _, p := range pf.Workers() {
		types = append(types, p.Type)
	}
	if want := []string{"clock", "worker", "Worker"}; !reflect.DeepEqual(types, want) {
		t.Errorf("Workers() = %q, want %q (file order)", types, want)
	}
	if _, ok := pf.Lookup("nope"); ok {
		t.Error("Lookup(nope) found something")
	}

	only, err := ParseProcfile(strings.NewReader("worker: k\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := only.Web(); ok {
		t.Error("Web() found in a worker-only Procfile")
	}
	if _, ok := only.Release(); ok {
		t.Error("Release() found in a worker-only Procfile")
	}
}

// Processes returns a copy: a caller cannot change the Procfile.
func TestProcfileProcessesCopy(t *testing.T) {
	pf, err := ParseProcfile(strings.NewReader("web: a\n"))
	if err != nil {
		t.Fatal(err)
	}
	pf.Processes()[0].Command = "changed"
	if p, _ := pf.Web(); p.Command != "a" {
		t.Errorf("Web().Command = %q after changing Processes()", p.Command)
	}
}

func TestReadProcfile(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantOK  bool
		wantWeb string
		wantErr string
	}{
		{name: "absent", setup: func(t *testing.T, d string) {
			writeFile(t, d, "Dockerfile", "FROM scratch\n", 0o644)
		}},
		{name: "lowercase and nested do not count", setup: func(t *testing.T, d string) {
			writeFile(t, d, "procfile", "web: x\n", 0o644)
			writeFile(t, d, "Procfile.txt", "web: x\n", 0o644)
			writeFile(t, d, "sub/Procfile", "web: x\n", 0o644)
		}},
		{name: "present", setup: func(t *testing.T, d string) {
			writeFile(t, d, "Procfile", "web: ./server\n", 0o644)
		}, wantOK: true, wantWeb: "./server"},
		{name: "symlink inside", setup: func(t *testing.T, d string) {
			writeFile(t, d, "deploy/Procfile", "web: ./server\n", 0o644)
			symlink(t, "deploy/Procfile", filepath.Join(d, "Procfile"))
		}, wantOK: true, wantWeb: "./server"},
		{name: "malformed", setup: func(t *testing.T, d string) {
			writeFile(t, d, "Procfile", "web ./server\n", 0o644)
		}, wantErr: `Procfile line 1: "web ./server": want TYPE: COMMAND`},
		{name: "a directory", setup: func(t *testing.T, d string) {
			writeFile(t, d, "Procfile/x", "", 0o644)
		}, wantErr: "Procfile at the root of"},
		{name: "symlink out of the tree", setup: func(t *testing.T, d string) {
			symlink(t, "/etc/hostname", filepath.Join(d, "Procfile"))
		}, wantErr: "Procfile at the root of"},
		{name: "too large", setup: func(t *testing.T, d string) {
			writeFile(t, d, "Procfile", strings.Repeat("# padding\n", maxManifest/10+1), 0o644)
		}, wantErr: "Procfile is larger than 1024 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			pf, ok, err := ReadProcfile(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadProcfile error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || ok != tt.wantOK {
				t.Fatalf("ReadProcfile = %v, %v; want ok %v", ok, err, tt.wantOK)
			}
			if web, _ := pf.Web(); web.Command != tt.wantWeb {
				t.Errorf("web command %q, want %q", web.Command, tt.wantWeb)
			}
		})
	}
}

// FuzzParseProcfile: no input panics, and what parses keeps the rules:
// valid unique types, non-empty commands, lines in order.
func FuzzParseProcfile(f *testing.F) {
	for _, s := range []string{
		"web: a\nworker: b\n", "# c\n\nweb:x", "web x", "web: a\nweb: b", "Web: a", ":\n", "\uFEFFw: \t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		pf, err := ParseProcfile(strings.NewReader(in))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			return
		}
		seen := map[string]bool{}
		last := 0
		for _, p := range pf.Processes() {
			if !procType.MatchString(p.Type) || seen[p.Type] || p.Command == "" || p.Line <= last {
				t.Errorf("bad process %+v from %q", p, in)
			}
			seen[p.Type] = true
			last = p.Line
		}
	})
}
