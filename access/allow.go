package access

import "slices"

// Allow decides whether key k may run req; every policy of the ssh door is
// here, so the caller only parses, asks and runs. Admin keys may run anything
// Parse accepts. Other keys may push, fetch and run commands for their own
// apps only, never the admin-only ones: init, destroy, keys, and apps (it
// lists every app; a key sees its own with `status APP`).
//
// appExists reports whether an app exists (access does not know where apps
// live: the caller does); it must not be nil. A request about an app that
// does not exist is refused, except init, which creates it. The key is
// checked first, so a key learns nothing about apps it may not use.
func Allow(k Key, req Request, appExists func(app string) error) error {
	if (req.Git == "" && len(req.Args) == 0) || (req.Git != "" && req.App == "") {
		return refusef("incomplete request") // Parse never makes one
	}
	if !k.Admin {
		if err := allowKey(k, req); err != nil {
			return err
		}
	}
	if req.needsApp() {
		if err := appExists(req.App); err != nil {
			return refusef("no app %s", req.App)
		}
	}
	return nil
}

// allowKey is Allow for a key that is not an admin key.
func allowKey(k Key, req Request) error {
	if req.IsAdminOnly() {
		if req.Args[0] == "apps" {
			return refusef("apps lists every app: admin keys only (use status APP)")
		}
		return refusef("key %s: %s needs an admin key", k.Name, req.Args[0])
	}
	if req.App == "" || !slices.Contains(k.Apps, req.App) {
		return refusef("key %s may not use app %q", k.Name, req.App)
	}
	return nil
}

// needsApp reports whether req is about an app that must exist already:
// every request naming an app but init.
func (r Request) needsApp() bool {
	return r.App != "" && (r.Git != "" || r.Args[0] != "init")
}
