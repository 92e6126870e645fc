package state

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"myapp", true},
		{"my-app-2", true},
		{"a" + strings.Repeat("b", 29), true}, // 30 characters
		{"", false},
		{"MyApp", false},
		{"myApp", false},
		{"1app", false},
		{"-app", false},
		{"app-", false},
		{"my_app", false},
		{"my.app", false},
		{"my app", false},
		{"../etc", false},
		{"a" + strings.Repeat("b", 30), false}, // 31 characters
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.name)
			if tt.ok && err != nil {
				t.Fatalf("ValidateName(%q) = %v, want nil", tt.name, err)
			}
			if !tt.ok {
				if err == nil {
					t.Fatalf("ValidateName(%q) = nil, want an error", tt.name)
				}
				if !strings.Contains(err.Error(), `"`+tt.name+`"`) {
					t.Errorf("error %q does not quote the name", err)
				}
			}
		})
	}
}

func TestValidateDomain(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	label64 := strings.Repeat("a", 64)
	tests := []struct {
		domain string
		why    string // substring of the error; "" means valid
	}{
		{"example.com", ""},
		{"app.example.com", ""},
		{"a-b.c0.example.io", ""},
		{"1.example.com", ""},
		{label63 + ".com", ""},
		{"", "1-253 characters"},
		{strings.Repeat("a.", 127) + "com", "1-253 characters"}, // 257 characters
		{"localhost", "two labels"},
		{label64 + ".com", "label"},
		{"-app.example.com", `label "-app"`},
		{"app-.example.com", `label "app-"`},
		{"App.example.com", "lower case"},
		{"app.example.com.", `label ""`},
		{"app..example.com", `label ""`},
		{"*.x.com", `label "*"`},
		{"my_app.example.com", `label "my_app"`},
		{"app.example.com:80", "label"},
	}
	for _, tt := range tests {
		name := tt.domain
		if len(name) > 40 {
			name = name[:40] + "..."
		}
		t.Run(name, func(t *testing.T) {
			err := ValidateDomain(tt.domain)
			if tt.why == "" {
				if err != nil {
					t.Fatalf("ValidateDomain(%q) = %v, want nil", tt.domain, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateDomain(%q) = nil, want an error about %s", tt.domain, tt.why)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("ValidateDomain(%q) = %q, want it to mention %q", tt.domain, err, tt.why)
			}
		})
	}
}

func TestServedDomains(t *testing.T) {
	a := &App{Name: "demo"}
	if got, want := a.ServedDomains("example.com"), []string{"demo.example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("no domains: got %v, want %v", got, want)
	}
	a.Domains = []string{"demo.org", "www.demo.org"}
	if got := a.ServedDomains("example.com"); !reflect.DeepEqual(got, a.Domains) {
		t.Errorf("with domains: got %v, want %v", got, a.Domains)
	}
}

func TestSaveLoadApp(t *testing.T) {
	fsys := afero.NewMemMapFs()
	const apps = "/srv/gitship/apps"
	want := &App{
		Name: "demo",
		Settings: Settings{
			Domains:       []string{"demo.example.org"},
			Branch:        "prod",
			HealthPath:    "/healthz",
			HealthTimeout: Duration(30 * time.Second),
			Drain:         durp(5 * time.Second),
		},
		Env:     map[string]string{"KEY": "value"},
		Created: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
	}
	if err := SaveApp(fsys, apps, want); err != nil {
		t.Fatal(err)
	}
	data, err := afero.ReadFile(fsys, "/srv/gitship/apps/demo/app.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"health_timeout": "30s"`) {
		t.Errorf("app.json does not store the timeout as text:\n%s", data)
	}
	got, err := LoadApp(fsys, apps, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

func TestLoadAppDefaultsBranch(t *testing.T) {
	fsys := afero.NewMemMapFs()
	if err := afero.WriteFile(fsys, "/apps/demo/app.json", []byte(`{"name":"demo"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := LoadApp(fsys, "/apps", "demo")
	if err != nil {
		t.Fatal(err)
	}
	if a.Branch != "main" {
		t.Errorf("Branch = %q, want main", a.Branch)
	}
	if a.HealthTimeout != 0 {
		t.Errorf("HealthTimeout = %v, want 0", a.HealthTimeout)
	}
}

func TestLoadAppErrors(t *testing.T) {
	fsys := afero.NewMemMapFs()
	if err := afero.WriteFile(fsys, "/apps/broken/app.json", []byte(`{"name":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(fsys, "/apps/baddur/app.json", []byte(`{"name":"baddur","health_timeout":"soon"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		app    string
		noApp  bool
		substr []string
	}{
		{"missing", true, []string{"missing", "gitship init missing"}},
		{"broken", false, []string{"read app broken"}},
		{"baddur", false, []string{"read app baddur"}},
		{"Bad_Name", false, []string{"invalid app name"}},
	}
	for _, tt := range tests {
		t.Run(tt.app, func(t *testing.T) {
			_, err := LoadApp(fsys, "/apps", tt.app)
			if err == nil {
				t.Fatal("LoadApp succeeded, want an error")
			}
			if got := errors.Is(err, ErrNoApp); got != tt.noApp {
				t.Errorf("errors.Is(%q, ErrNoApp) = %v, want %v", err, got, tt.noApp)
			}
			for _, s := range tt.substr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"1m30s"`)); err != nil {
		t.Fatal(err)
	}
	if time.Duration(d) != 90*time.Second {
		t.Errorf("got %v, want 1m30s", time.Duration(d))
	}
	b, err := Duration(1500 * time.Millisecond).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `"1.5s"` {
		t.Errorf("MarshalJSON = %s, want \"1.5s\"", b)
	}
	for _, bad := range []string{`30`, `"30"`, `"abc"`, `""`} {
		d := Duration(7)
		if err := d.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("UnmarshalJSON(%s) = nil, want an error", bad)
		}
		if d != 7 {
			t.Errorf("UnmarshalJSON(%s) changed the value to %v", bad, time.Duration(d))
		}
	}
}

func TestListApps(t *testing.T) {
	fsys := afero.NewMemMapFs()
	for _, a := range []string{"zeta", "alpha"} {
		if err := SaveApp(fsys, "/apps", &App{Name: a}); err != nil {
			t.Fatal(err)
		}
	}
	// A dir without app.json and a stray file are not apps.
	if err := fsys.MkdirAll("/apps/halfmade/releases", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(fsys, "/apps/notes.txt", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ListApps(fsys, "/apps")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alpha", "zeta"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListApps = %v, want %v", got, want)
	}
	got, err = ListApps(fsys, "/nowhere")
	if err != nil || len(got) != 0 {
		t.Errorf("ListApps of a missing dir = %v, %v; want none, nil", got, err)
	}
}
