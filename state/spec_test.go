package state

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// key is the key a test sets for sp: the key itself, or a member of a
// family.
func key(sp Spec) string {
	if sp.Prefix != "" {
		return sp.Prefix + "NODE_ENV"
	}
	return sp.Key
}

// TestSpecsWalk walks every setting of the table through set → describe
// → unset: its example is stored (and survives app.json), status shows
// it and nothing else changes, and unset puts back what was there.
func TestSpecsWalk(t *testing.T) {
	seen := map[string]bool{}
	for _, sp := range Specs() {
		t.Run(sp.Key, func(t *testing.T) {
			if seen[sp.Key] {
				t.Fatalf("key %s is in the table twice", sp.Key)
			}
			seen[sp.Key] = true
			if sp.Value == "" || sp.Help == "" || sp.Example == "" || strings.Contains(sp.Help, "\n") {
				t.Errorf("spec %s needs a value form, one help line and an example: %+v", sp.Key, sp)
			}
			k := key(sp)
			s := Settings{Branch: "main"} // as LoadApp reads a fresh app.json
			before := s.Describe()
			if err := s.Set(k + "=" + sp.Example); err != nil {
				t.Fatalf("Set %s=%s: %v", k, sp.Example, err)
			}
			want := k + "=" + sp.Example
			after := s.Describe()
			if !slices.Contains(after, want) {
				t.Errorf("Describe after Set %s = %q, want it to hold %s", want, after, want)
			}
			if slices.Contains(before, want) {
				t.Errorf("the example of %s is its default: Describe before Set holds %s", sp.Key, want)
			}
			if !reflect.DeepEqual(without(after, k), without(before, k)) {
				t.Errorf("Set %s changed other settings:\nbefore %q\nafter  %q", want, before, after)
			}
			data, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			var stored Settings
			if err := json.Unmarshal(data, &stored); err != nil {
				t.Fatal(err)
			}
			if got := stored.Describe(); !reflect.DeepEqual(got, after) {
				t.Errorf("Set %s does not survive app.json: stored %s, read back %q", want, data, got)
			}
			if err := s.Unset(k); err != nil {
				t.Fatalf("Unset %s: %v", k, err)
			}
			if got := s.Describe(); !reflect.DeepEqual(got, before) {
				t.Errorf("Describe after Unset %s = %q, want %q", k, got, before)
			}
		})
	}
}

// without drops the line of key from a Describe.
func without(lines []string, key string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, key+"=") {
			out = append(out, l)
		}
	}
	return out
}

// TestSpecsCoverSettings: every field of Settings is set by a spec of the
// table (domains have their own command), so a new setting cannot be
// added without its spec.
func TestSpecsCoverSettings(t *testing.T) {
	// Scale's spec (scale.TYPE) comes with `gitship scale` (issue 13).
	covered := map[string]bool{"Domains": true, "Scale": true}
	for _, sp := range Specs() {
		var s Settings
		if err := s.Set(key(sp) + "=" + sp.Example); err != nil {
			t.Fatalf("Set %s: %v", key(sp), err)
		}
		v := reflect.ValueOf(s)
		for i := 0; i < v.NumField(); i++ {
			if !v.Field(i).IsZero() {
				covered[v.Type().Field(i).Name] = true
			}
		}
	}
	typ := reflect.TypeOf(Settings{})
	for i := 0; i < typ.NumField(); i++ {
		if f := typ.Field(i).Name; !covered[f] {
			t.Errorf("Settings.%s is set by no spec of the table", f)
		}
	}
}

func TestSetUnknown(t *testing.T) {
	var s Settings
	err := s.Set("port=8080")
	want := `invalid setting "port=8080": use KEY=VALUE with KEY one of branch, cpus, dockerfile, drain, health_path, health_timeout, hsts, keep, memory, release_timeout, snapshots, target, warm, watch, watch_errors, watch_min, or build_arg.NAME, scale.TYPE`
	if err == nil || err.Error() != want {
		t.Errorf("Set port=8080 = %v, want %s", err, want)
	}
	if err := s.Set("build_arg.X"); err == nil || !strings.HasPrefix(err.Error(), `invalid setting "build_arg.X": use KEY=VALUE`) {
		t.Errorf("Set of a build arg without = : %v", err)
	}
	if err := s.Unset("port"); err == nil || err.Error() != `invalid setting "port": one of branch, cpus, dockerfile, drain, health_path, health_timeout, hsts, keep, memory, release_timeout, snapshots, target, warm, watch, watch_errors, watch_min` {
		t.Errorf("Unset port = %v", err)
	}
}

// TestScaleCount: every type runs one container until scale says
// otherwise; 0 stops a type; more than MaxScale or a bad type is refused
// with one line.
func TestScaleCount(t *testing.T) {
	var s Settings
	if s.Count("web") != 1 || s.Count("worker") != 1 {
		t.Errorf("Count without scale = %d, %d, want 1, 1", s.Count("web"), s.Count("worker"))
	}
	for _, kv := range []string{"scale.worker=0", "scale.web=3"} {
		if err := s.Set(kv); err != nil {
			t.Fatal(err)
		}
	}
	if s.Count("worker") != 0 || s.Count("web") != 3 || s.Count("clock") != 1 {
		t.Errorf("Count = worker %d web %d clock %d, want 0 3 1", s.Count("worker"), s.Count("web"), s.Count("clock"))
	}
	for _, kv := range []string{"scale.worker=21", "scale.worker=-1", "scale.worker=two", "scale.a b=1", "scale.=1"} {
		err := s.Set(kv)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("Set %s = %v, want a one-line error", kv, err)
		}
	}
	if s.Count("worker") != 0 {
		t.Errorf("a refused scale changed the count to %d", s.Count("worker"))
	}
}

// TestTarget: an app runs on this host until set to kube; podman is the
// default and stores nothing, anything else is refused with one line.
func TestTarget(t *testing.T) {
	var s Settings
	if got := s.EffectiveTarget(); got != TargetPodman {
		t.Errorf("EffectiveTarget of a new app = %q, want podman", got)
	}
	if d := s.Describe(); len(without(d, "target")) != len(d) {
		t.Errorf("Describe of a new app = %q, want no target line (shown once set)", d)
	}
	if err := s.Set("target=kube"); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if s.EffectiveTarget() != TargetKube || !strings.Contains(string(data), `"target":"kube"`) || !slices.Contains(s.Describe(), "target=kube") {
		t.Errorf("after target=kube: EffectiveTarget %q, app.json %s", s.EffectiveTarget(), data)
	}
	if err := s.Set("target=podman"); err != nil {
		t.Fatal(err)
	}
	if s.Target != "" || s.EffectiveTarget() != TargetPodman {
		t.Errorf("after target=podman: Target %q, EffectiveTarget %q, want \"\", podman", s.Target, s.EffectiveTarget())
	}
	for _, v := range []string{"k8s", "Kube", "", "podman "} {
		err := s.Set("target=" + v)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "podman (this host) or kube") {
			t.Errorf("Set target=%s = %v, want a one-line error naming podman and kube", v, err)
		}
	}
	if err := s.Set("target=kube"); err != nil {
		t.Fatal(err)
	}
	if err := s.Unset("target"); err != nil || s.EffectiveTarget() != TargetPodman {
		t.Errorf("Unset target = %v, EffectiveTarget %q", err, s.EffectiveTarget())
	}
}
