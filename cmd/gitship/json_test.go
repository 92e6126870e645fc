package main

import (
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/gitship/gitship/access"
	"github.com/spf13/afero"
	"golang.org/x/crypto/ssh"
)

// keys list --json is one array of the documented fields; the key blob
// stays out of it.
func TestKeysListJSON(t *testing.T) {
	cfgPath := writeConfig(t, "")
	pub := func(seed byte) []byte {
		s := make([]byte, ed25519.SeedSize)
		s[0] = seed
		pk, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(s).Public())
		if err != nil {
			t.Fatal(err)
		}
		return ssh.MarshalAuthorizedKey(pk)
	}
	k := &access.Keys{Fs: afero.NewOsFs(), Path: filepath.Join(filepath.Dir(cfgPath), "authorized_keys"), Bin: "/usr/bin/gitship", Config: cfgPath}
	if err := k.Add("root", nil, true, pub(1)); err != nil {
		t.Fatal(err)
	}
	if err := k.Add("alice", []string{"demo"}, false, pub(2)); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMain(t, cfgPath, "keys", "list", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var keys []map[string]any
	if err := json.Unmarshal([]byte(stdout), &keys); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(keys) != 2 {
		t.Fatalf("keys: %v", keys)
	}
	for _, key := range keys {
		if len(key) != 4 || key["type"] != "ssh-ed25519" || key["apps"] == nil {
			t.Errorf("key %v: want name, type, admin, apps", key)
		}
	}
	if keys[0]["name"] != "root" || keys[0]["admin"] != true || keys[1]["name"] != "alice" || keys[1]["apps"].([]any)[0] != "demo" {
		t.Errorf("keys: %v", keys)
	}
}
