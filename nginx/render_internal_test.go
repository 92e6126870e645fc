package nginx

import "testing"

// TestParseBackCatchesDrift makes sure the parse-back check in Render is
// not vacuous: text that parses but differs from the directives must fail.
func TestParseBackCatchesDrift(t *testing.T) {
	s := Site{App: "a", Release: "v1", Domains: []string{"a.test"}, Socket: "/run/a.sock", Listen: "80"}
	want := s.directives()
	for name, conf := range map[string]string{
		"split argument": "# gitship: a v1 — generated, do not edit\nupstream gitship_a { server unix:/run/a.sock max_fails=0; }\nserver { listen 80; server_name a.test b.test; }\n",
		"missing block":  "# gitship: a v1 — generated, do not edit\nupstream gitship_a { server unix:/run/a.sock max_fails=0; }\n",
		"unknown":        "gitship_bogus on;\n",
		"unbalanced":     "server {\n",
	} {
		if err := parseBack("a.conf", []byte(conf), want); err == nil {
			t.Errorf("%s: parseBack accepted %q", name, conf)
		}
	}
	ok, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := parseBack("a.conf", ok, want); err != nil {
		t.Errorf("parseBack rejected Render's own output: %v", err)
	}
}
