package doctor

import (
	"context"
	"fmt"
)

// kube checks the [kube] table, when set: the API server answers with
// the kubeconfig's credentials, and the registry speaks the registry API.
func (d *Doctor) kube(ctx context.Context) Check {
	k := d.Config.Kube
	if k.Registry == "" {
		return ok("kube", "no [kube] registry: no app can have target=kube")
	}
	if d.Kube == nil {
		return warn("kube", "cannot check the cluster from here", "")
	}
	ctx, cancel := d.service(ctx)
	defer cancel()
	version, err := d.Kube(ctx)
	if err != nil {
		return fail("kube", err.Error(), "set [kube] kubeconfig to a kubeconfig of the cluster whose API server answers from here")
	}
	if err := d.Registry(ctx, k.Registry, k.RegistryInsecure); err != nil {
		fix := "set [kube] registry to a registry this host can push to"
		if !k.RegistryInsecure {
			fix += " (registry_insecure = true for one over plain HTTP)"
		}
		return fail("kube", err.Error(), fix)
	}
	return ok("kube", fmt.Sprintf("the API server answers (%s); the registry %s answers", version, k.Registry))
}
