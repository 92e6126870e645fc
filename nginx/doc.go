// Package nginx renders one app's nginx server block and installs it safely.
//
// Each app gets one file, ConfDir/APP.conf, included inside http{} of a main
// nginx config. Render builds the file from crossplane directives (so quoting
// is crossplane's job, not a template's) and parses it back before handing it
// out. Manager swaps the file in atomically, asks `nginx -t` before nginx ever
// sees it for real, puts the previous file back if nginx rejects the new one,
// and reloads only when the bytes changed.
//
// nginx -t checks every per-app file at once, so Install and Remove for
// different apps must be serialized by the caller (a host-wide lock): a broken
// file from a concurrent Install would make this one's test fail too.
package nginx
