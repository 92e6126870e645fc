package main

// A private ACME server for the end-to-end scripts: internal/pebble,
// started per script.

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitship/gitship/internal/pebble"
	"github.com/gitship/gitship/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

// pebbleEnv is a private ACME server (Pebble + pebble-challtestsrv as its DNS) on loopback.
type pebbleEnv = pebble.Env

// pebbleBlocked is a domain Pebble refuses by policy, it and every name
// under it (urn:ietf:params:acme:error:rejectedIdentifier).
const pebbleBlocked = pebble.Blocked

// startPebble starts them for one script; httpPort is the port Pebble validates HTTP-01 on (the script's nginx); everything stops via e.Defer.
func startPebble(e *testscript.Env, httpPort int) (*pebbleEnv, error) {
	return startPebbleIn(filepath.Join(e.WorkDir, "pebble"), httpPort, e.Defer)
}

// startPebbleIn is startPebble for any caller that can defer (a script
// command passes ts.Defer): state and logs go in dir (the logs,
// pebble.log and pebble-challtestsrv.log, outlive a failed script with
// -testwork).
func startPebbleIn(dir string, httpPort int, deferFn func(func())) (*pebbleEnv, error) {
	return pebble.Start(dir, httpPort, deferFn)
}

// TestPebbleHelper checks startPebble end to end: real certbot obtains a
// certificate from it through a stand-in for nginx, and the certificate
// verifies against the issuing root startPebble saved.
func TestPebbleHelper(t *testing.T) {
	testenv.Need(t, "apt-get install certbot pebble openssl", "certbot", "pebble", "pebble-challtestsrv", "openssl")
	dir := t.TempDir()
	script := filepath.Join(dir, "pebble.txtar")
	if err := os.WriteFile(script, []byte(pebbleHelperScript), 0o644); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Files: []string{script},
		Setup: func(e *testscript.Env) error {
			webroot := filepath.Join(e.WorkDir, "acme")
			srv := httptest.NewServer(http.FileServer(http.Dir(webroot)))
			e.Defer(srv.Close)
			p, err := startPebble(e, srv.Listener.Addr().(*net.TCPAddr).Port)
			if err != nil {
				return err
			}
			e.Setenv("WEBROOT", webroot)
			e.Setenv("ACME_DIR", p.Directory)
			e.Setenv("REQUESTS_CA_BUNDLE", p.CABundle)
			e.Setenv("PEBBLE_ROOT", p.Root)
			e.Setenv("BLOCKED", "x."+pebbleBlocked)
			return nil
		},
	})
}

const pebbleHelperScript = `
# certbot obtains a certificate for two names.
mkdir $WEBROOT
exec certbot certonly --non-interactive --agree-tos --register-unsafely-without-email --webroot -w $WEBROOT --server $ACME_DIR --config-dir $WORK/le/config --work-dir $WORK/le/work --logs-dir $WORK/le/logs --cert-name app -d app.example.test -d www.app.example.test
stdout 'Successfully received certificate'

# It chains to the root startPebble saved.
exec openssl verify -CAfile $PEBBLE_ROOT -untrusted $WORK/le/config/live/app/chain.pem $WORK/le/config/live/app/cert.pem
stdout ': OK'

# Names under blocked.example.test are refused.
! exec certbot certonly --non-interactive --agree-tos --register-unsafely-without-email --webroot -w $WEBROOT --server $ACME_DIR --config-dir $WORK/le/config --work-dir $WORK/le/work --logs-dir $WORK/le/logs --cert-name blocked -d $BLOCKED
`
