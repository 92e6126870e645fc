// Package access is gitship's ssh door: it manages the authorized_keys file
// whose forced command sends every ssh login to `gitship ssh --key NAME`,
// parses SSH_ORIGINAL_COMMAND without a shell, decides what a key may run,
// and appends to the audit log.
//
// sshd runs the forced command for every login, whatever the client asked
// for, so Parse is the only thing between a deployer's key and the server:
// it refuses rather than guesses, and everything it accepts is a plain argv
// that the caller runs without a shell.
package access
