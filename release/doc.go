// Package release is the deploy pipeline of gitship as one state machine,
// the store of release records, and the per-app state they live in.
//
// One deploy walks these states; a record is written at each arrow, so a
// deploy killed anywhere leaves a record that says how far it got:
//
//	building ──► starting ──► live ──► (later) retired
//	   │            │
//	   └────────────┴──► failed   (the previous live release keeps serving)
//
//	building: the commit is exported with go-git and built into an image
//	starting: gitship-APP-vN runs beside the live release, on its own socket;
//	          it is probed over that socket, then nginx is pointed at it
//	live:     nginx serves it; the previous release is stopped and removed,
//	          its image kept for rollback
//
// post-receive cannot refuse a push (the branch has moved already), so a
// failed deploy says so and names the release that is still live.
package release
