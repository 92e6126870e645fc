# Sourced by every script under scripts/ and by .ci/run: the one place that
# says how gitship is built. The Podman bindings need CGO_ENABLED=0 and the
# `remote` tag (what podman-remote uses); without the tag the build fails on
# gpgme. `go vet` and `go test` need the same flags.
export CGO_ENABLED=0
export GOFLAGS="-tags=remote,exclude_graphdriver_btrfs,btrfs_noversion,containers_image_openpgp ${GOFLAGS_EXTRA:-}"
export PATH="/usr/local/go/bin:$PATH"
