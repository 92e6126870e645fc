package main

// A real Kubernetes control plane for the end-to-end scripts of the kube
// target (internal/kubetest: etcd, kube-apiserver, controller-manager,
// scheduler, kwok's one node, a registry on loopback), started per script.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gitship/gitship/internal/kubetest"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdKubeCluster starts a control plane for the script and adds the
// [kube] table naming it to the instance's config: its kubeconfig, its
// registry (plain HTTP, so registry_insecure), its storage class. It sets
// KUBECONFIG and KUBECTL (kubectl of the same version) for the script's
// own checks, and REGISTRY.
//
//	kubecluster
func cmdKubeCluster(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: kubecluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := kubetest.Start(ctx, ts.MkAbs("kube"))
	ts.Check(err)
	ts.Defer(c.Stop)
	path := ts.Getenv("GITSHIP_CONFIG")
	b, err := os.ReadFile(path)
	ts.Check(err)
	if strings.Contains(string(b), "\n[kube]\n") {
		ts.Fatalf("%s has a [kube] table already", path)
	}
	table := fmt.Sprintf("\n[kube]\nkubeconfig = %q\nregistry = %q\nregistry_insecure = true\nstorage_class = %q\n",
		c.Kubeconfig, c.Registry+"/gitship", c.StorageClass)
	ts.Check(os.WriteFile(path, append(b, table...), 0o644))
	ts.Setenv("KUBECONFIG", c.Kubeconfig)
	ts.Setenv("KUBECTL", c.Kubectl)
	ts.Setenv("REGISTRY", c.Registry)
}
