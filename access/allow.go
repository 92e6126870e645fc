package access

import "slices"

// Allow says whether key k may run req. Admin keys may run anything Parse
// accepts. Other keys may push, fetch and run commands for their own apps
// only, never the admin-only ones (init, destroy, keys). `apps` is allowed
// for every key: the caller shows only the key's apps.
// Allow does not check that the app exists; the caller does.
func Allow(k Key, req Request) error {
	if k.Admin {
		return nil
	}
	if req.IsAdminOnly() {
		return refusef("key %s: %s needs an admin key", k.Name, req.Args[0])
	}
	if req.Git == "" && req.App == "" && len(req.Args) > 0 && req.Args[0] == "apps" {
		return nil
	}
	if req.App == "" || !slices.Contains(k.Apps, req.App) {
		return refusef("key %s may not use app %q", k.Name, req.App)
	}
	return nil
}
