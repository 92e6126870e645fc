# Shell helpers shared by scripts/setup, scripts/demo, scripts/test and
# scripts/bench. Source after scripts/env.sh.

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# with_progress LABEL CMD...: says LABEL, runs CMD and, while it runs, says
# every 15 s (GITSHIP_PROGRESS_EVERY) how long it has taken so far (a cold compile or an apt-get
# install takes minutes and prints nothing), then how long it took. The
# ticker sleeps a second at a time: nothing of it outlives CMD by more, so
# it never holds a caller's pipe open. Returns CMD's status.
with_progress() {
	local label=$1 start=$SECONDS rc=0 ticker every=${GITSHIP_PROGRESS_EVERY:-15}
	shift
	say "$label"
	(
		n=0
		while sleep 1; do
			n=$((n + 1))
			[ $((n % every)) -eq 0 ] && printf '    ... still %s (%ds)\n' "$label" "$n"
		done
	) &
	ticker=$!
	"$@" || rc=$?
	kill "$ticker" 2>/dev/null || true
	wait "$ticker" 2>/dev/null || true
	[ "$rc" -eq 0 ] && say "$label: done in $((SECONDS - start))s"
	return "$rc"
}

# Debian packages gitship and its tests need.
GITSHIP_PACKAGES="podman runc nginx-light git curl ca-certificates uidmap busybox-static certbot"

# install_packages installs what is missing (apt-get only when needed).
install_packages() {
	missing=""
	for p in $GITSHIP_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	export DEBIAN_FRONTEND=noninteractive
	with_progress "apt-get update" apt-get update -qq
	# shellcheck disable=SC2086
	with_progress "installing$missing" apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# put_file PATH CONTENT: writes CONTENT (plus a newline) to PATH unless it
# already holds exactly that; says what it changed. Returns 0 either way.
put_file() {
	mkdir -p "$(dirname "$1")"
	if [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; then
		return 0
	fi
	say "writing $1"
	printf '%s\n' "$2" >"$1.tmp.$$"
	mv "$1.tmp.$$" "$1"
	CHANGED=$((${CHANGED:-0} + 1))
}

# podman_conf writes the two settings this kind of host needs: runc (crun
# refuses cgroup v1 here) and explicit ulimits (the defaults exceed the
# hard limits). Idempotent: rewrites only when the content differs.
podman_conf() {
	# A drop-in (read by Podman 4.3 too) leaves the operator's own
	# containers.conf alone. The package ships the same file (packaging/).
	put_file "${DESTDIR:-}/etc/containers/containers.conf.d/gitship.conf" \
		"$(cat "$(dirname "${BASH_SOURCE[0]}")/../packaging/containers.conf")"
}

# start_podman_service SOCKET: a private API service (where systemd's
# podman.socket is not available). Its descriptors are closed so that git
# never waits on it. Prints nothing; waits until the socket answers.
start_podman_service() {
	sock=$1
	rm -f "$sock"
	setsid podman system service --time=0 "unix://$sock" </dev/null >"$sock.log" 2>&1 &
	echo $! >"$sock.pid"
	for _ in $(seq 1 100); do
		[ -S "$sock" ] && podman --url "unix://$sock" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "podman system service did not start on $sock (see $sock.log)"
}

# remove_instance_images SOCK ROOT: removes the containers and images
# labelled gitship.root=ROOT through the Podman service on SOCK, never by
# force, under gitship's image lock (what config.ImagesLock names for the
# default [podman] storage): a removal takes the untagged parents of what
# it removes, which a build in progress may be using as its cache.
remove_instance_images() {
	local sock=$1 root=$2
	(
		set +e
		pmi() { podman --url "unix://$sock" "$@"; }
		ids=$(pmi ps -aq --filter "label=gitship.root=$root" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$ids" ] && pmi rm -f $ids >/dev/null 2>&1
		flock 9
		# An image with two tags (a warm build gives the same image a new
		# tag) cannot be removed by ID without -f, which would take other
		# builds' containers with it: by name first. That takes their
		# untagged parents; loop for what remains (build leftovers and
		# intermediate images carry the label too).
		ids=$(pmi images --filter "label=gitship.root=$root" --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>' | sort -u)
		# shellcheck disable=SC2086
		[ -n "$ids" ] && pmi rmi $ids >/dev/null 2>&1
		for _ in 1 2 3 4 5 6; do
			ids=$(pmi images -aq --filter "label=gitship.root=$root" 2>/dev/null | sort -u)
			[ -z "$ids" ] && break
			# shellcheck disable=SC2086
			pmi rmi $ids >/dev/null 2>&1
		done
		ids=$(pmi images -aq --filter "label=gitship.root=$root" 2>/dev/null | sort -u)
		[ -n "$ids" ] && printf 'warning: images labelled gitship.root=%s left behind: %s\n' "$root" "$(echo $ids)" >&2
	) 9>>/var/lib/containers/gitship-images.lock || true
	return 0
}

# end_watches ROOT: ends the watch processes of the instance under ROOT
# (`gitship watch`, detached after each switch: they keep a release warm
# and watch the new one for a minute) before the instance goes away.
end_watches() {
	local f pid
	for f in "$1"/apps/*/watch.json; do
		[ -f "$f" ] || continue
		pid=$(grep -o '"pid": *[0-9]*' "$f" | grep -o '[0-9]*$')
		[ -n "$pid" ] && [ "$pid" -gt 0 ] && kill "$pid" 2>/dev/null
	done
	return 0
}

# free_port prints a free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

# private_nginx DIR PORT: writes DIR/nginx.conf for an nginx of our own
# (pid, logs and temp paths under DIR, per-app files in DIR/conf.d) and
# starts it. Workers run as www-data, like Debian's.
private_nginx() {
	dir=$1 port=$2
	mkdir -p "$dir/conf.d" "$dir/logs" "$dir/temp"
	cat >"$dir/nginx.conf" <<NGINX
user www-data;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 1024; }
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/temp/client_body;
    proxy_temp_path $dir/temp/proxy;
    fastcgi_temp_path $dir/temp/fastcgi;
    uwsgi_temp_path $dir/temp/uwsgi;
    scgi_temp_path $dir/temp/scgi;
    server {
        listen 127.0.0.1:$port default_server;
        return 404 "no app here\n";
    }
    include $dir/conf.d/*.conf;
}
NGINX
	nginx -p "$dir" -c "$dir/nginx.conf"
}

# install_buildkitd [VERSION]: builds buildkitd (only that command) from the
# module proxy into /usr/local/bin, at the version of the BuildKit client in
# go.mod unless told otherwise, so daemon and client never drift apart. Does
# nothing when that version is already there: `go install` stamps no
# version into `buildkitd --version` (it says v0.0.0+unknown), so the module
# version is read from the binary's build info instead. go.mod is found next
# to this file, by the relative path scripts source it with: call it before
# any cd away from the repository root, or give VERSION.
install_buildkitd() {
	gomod="$(dirname "${BASH_SOURCE[0]}")/../go.mod"
	want=${1:-$(awk '$1 == "github.com/moby/buildkit" { print $2 }' "$gomod")}
	[ -n "$want" ] || die "no github.com/moby/buildkit version found in $gomod: give install_buildkitd a version"
	bin=/usr/local/bin/buildkitd
	have=""
	[ -x "$bin" ] && have=$(go version -m "$bin" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/moby/buildkit" { print $3 }')
	[ "$have" = "$want" ] && return 0
	GOBIN=/usr/local/bin GOFLAGS= CGO_ENABLED=0 with_progress \
		"installing buildkitd $want into /usr/local/bin (go install, ~2 min cold)${have:+, replacing $have}" \
		go install "github.com/moby/buildkit/cmd/buildkitd@$want" ||
		die "go install github.com/moby/buildkit/cmd/buildkitd@$want failed"
}
