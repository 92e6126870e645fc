// Package kube is gitship's Kubernetes target (issue 17): it renders one
// release into typed objects (Render), prints them as YAML (YAML) and
// applies them to a cluster by server-side apply (Client).
//
// What maps to what, in the namespace named after the app:
//
//	app environment      Secret APP-env-vN (immutable; envFrom of every pod)
//	/data                PersistentVolumeClaim APP-data (created once, never changed or pruned)
//	Procfile web         Deployment APP-web, readiness probe GET health_path on $PORT (5000),
//	                     rolling update with maxUnavailable 0, maxSurge 1
//	Procfile worker      Deployment APP-worker (one per type with replicas above 0)
//	scale TYPE=N         the Deployment's replicas
//	memory, cpus         each container's limits
//	domains              Service APP-web (80 -> 5000), Ingress APP (TLS with [kube] cluster_issuer)
//	Procfile release     Job APP-release-vN, which must succeed before the Deployments change
//	app.json cron        CronJob APP-cron-ID, concurrencyPolicy Forbid
//
// A release is re-applied whole: a rollback to vN applies vN's Before and
// Rollout objects again (its image digest, its Secret, its settings), and
// Prune then removes what vN does not have (a type scaled to 0, a cron
// job it did not list, later releases' Secrets). The claim is never part
// of that: the data outlives every release.
//
// The package is a leaf: it imports no other gitship package but
// internal/usererr, and no Kubernetes clientset (see Client).
package kube

import (
	"fmt"

	"github.com/gitship/gitship/internal/usererr"
)

// CheckListen refuses an app whose web process answered on the unix
// socket only (listen is the release record's Listen, "socket" or
// "port"; "" is not known yet and passes): a socket does not cross from
// the ingress to a pod, so on Kubernetes the app must listen on $PORT.
func CheckListen(app, listen string) error {
	if listen != "socket" {
		return nil
	}
	return usererr.New(fmt.Sprintf("%s listens on the unix socket only: on Kubernetes an app must listen on $PORT (%d)", app, Port),
		"make the app listen on $PORT, or keep target=podman")
}
