package release

import (
	"encoding/json"
	"strings"
	"testing"
)

// decodeJSON prints v as the listings' --json does and decodes it back
// as a generic document, so the test sees the field names a script sees.
func decodeJSON(t *testing.T, what string, v any) any {
	t.Helper()
	var b strings.Builder
	if err := WriteJSON(&b, v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var doc any
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, b.String())
	}
	if !strings.HasPrefix(b.String(), "[\n  ") && !strings.HasPrefix(b.String(), "{\n  ") {
		t.Errorf("%s: not one indented document:\n%s", what, b.String())
	}
	return doc
}

func first(t *testing.T, what string, doc any) map[string]any {
	t.Helper()
	l, ok := doc.([]any)
	if !ok || len(l) == 0 {
		t.Fatalf("%s: %v, want a non-empty array", what, doc)
	}
	return l[0].(map[string]any)
}

// Every listing's --json decodes, with the field names the README
// documents.
func TestListingsJSON(t *testing.T) {
	e := newOsEnv(t)
	e.src.files["app.json"] = appJSON1
	e.mustDeploy(t, sha1)
	ctx := t.Context()
	if err := e.d.SetEnv(ctx, "demo", []string{"SECRET=hunter2"}, false, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Snapshot(ctx, "demo", "release v2", &Progress{W: &strings.Builder{}, Now: e.d.Now}); err != nil {
		t.Fatal(err)
	}

	apps, err := e.d.Apps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a := first(t, "apps", decodeJSON(t, "apps", apps)); a["name"] != "demo" || a["release"] != "v1" || a["commit"] != sha1 || a["container"] != "running" || a["live_since"] == nil || a["url"] == nil {
		t.Errorf("apps: %v", a)
	}

	st, err := e.d.Status(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	s := decodeJSON(t, "status", st).(map[string]any)
	if s["app"] != "demo" || s["release"] != "v1" || s["kind"] != "push" || s["listens"] != "socket" || len(s["domains"].([]any)) != 1 || len(s["cron"].([]any)) != 1 {
		t.Errorf("status: %v", s)
	}
	if c := s["containers"].([]any)[0].(map[string]any); c["type"] != "web" || c["number"] != 1.0 || c["state"] != "running" {
		t.Errorf("status containers: %v", s["containers"])
	}

	rels, err := e.d.Releases("demo")
	if err != nil {
		t.Fatal(err)
	}
	if r := first(t, "releases", decodeJSON(t, "releases", rels)); r["release"] != "v1" || r["version"] != 1.0 || r["status"] != "live" || r["kind"] != "push" || r["commit"] != sha1 || r["pruned"] != false {
		t.Errorf("releases: %v", r)
	}

	ds, err := e.d.Domains("demo")
	if err != nil {
		t.Fatal(err)
	}
	if l := decodeJSON(t, "domains", ds).([]any); len(l) != 1 || !strings.HasPrefix(l[0].(string), "demo.") {
		t.Errorf("domains: %v", l)
	}

	for reveal, want := range map[bool]string{false: "***", true: "hunter2"} {
		env, err := e.d.EnvMap("demo", reveal)
		if err != nil {
			t.Fatal(err)
		}
		if m := decodeJSON(t, "config", env).(map[string]any); m["SECRET"] != want {
			t.Errorf("config list (reveal %v): %v", reveal, m)
		}
	}

	_, ps, err := e.d.Ps(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if p := first(t, "ps", decodeJSON(t, "ps", ps)); p["type"] != "web" || p["number"] != 1.0 || p["state"] != "running" || p["restarts"] != 0.0 {
		t.Errorf("ps: %v", p)
	}

	var b strings.Builder
	if err := e.d.WriteSnapshots(&b, "demo", true); err != nil {
		t.Fatal(err)
	}
	var snaps []map[string]any
	if err := json.Unmarshal([]byte(b.String()), &snaps); err != nil || len(snaps) != 1 || snaps[0]["id"] != "s-1" || snaps[0]["before"] != "release v2" || snaps[0]["paused"] == nil {
		t.Errorf("snapshots: %v %v", snaps, err)
	}

	jobs, err := e.d.Jobs("demo")
	if err != nil {
		t.Fatal(err)
	}
	if j := first(t, "cron", decodeJSON(t, "cron list", jobs)); j["schedule"] != "*/5 * * * *" || j["command"] != "/web report" || j["id"] == "" {
		t.Errorf("cron list: %v", j)
	}
}
