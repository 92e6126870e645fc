// Package release is the deploy pipeline of gitship as one state machine,
// and what acts on an app's releases around it (rollback, config and
// domain changes, destroy, prune, boot, certificates). The on-disk model
// of apps and records is package state.
//
// One deploy walks these states; a record is written at each arrow, so a
// deploy killed anywhere leaves a record that says how far it got:
//
//	building ──► starting ──► live ──► (next switch) warm ──► retired
//	   │            │                          └───────────────────┘ (warm=0)
//	   └────────────┴──► failed   (the previous live release keeps serving)
//
//	building: the commit is exported with go-git and built into an image
//	          (diskguard.go, build.go)
//	starting: gitship-APP-vN runs beside the live release, on its own socket
//	          (start.go); it is probed over that socket (health.go), then
//	          nginx is pointed at it (route.go)
//	live:     nginx serves it; the previous release stays warm (retire.go,
//	          warm.go): its web containers run on for `warm`, for a
//	          rollback that points nginx back at them (rollback.go, adopt);
//	          a detached process (watch.go, `gitship watch`) drains and
//	          stops the older releases and retires the warm one when its
//	          window ends, its image kept for rollback
//	failed:   fail.go
//
// pipeline.go walks these steps in order. post-receive cannot refuse a
// push (the branch has moved already), so a failed deploy says so and
// names the release that is still live.
package release
