#!/bin/bash
# docker as a fourth real client: a private dockerd (its own data root, exec root and
# socket under the test's temp dir; vfs storage, no iptables, no bridge) runs
# `docker pull <dfdaemon's address>/<repository>:<tag>` (docker mirrors Docker Hub only, so
# for any other registry it pulls through dfdaemon's address, listed as an insecure
# registry). The blobs reach docker through P2P: the registry serves each blob once, to the
# supernode, and none to anyone else; dfdaemon answered every blob request itself; the
# pulled image has the layers that were pushed.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
. "$top_srcdir/tests/lib/registry.sh"
DK_PID=
dk_stop() { [[ -n $DK_PID ]] && _reg_kill "$DK_PID"; DK_PID=; }
# short paths: dockerd's containerd puts its sockets in the exec root
D=$(mktemp -d /tmp/dk.XXXXXX) || exit 1
trap 'dk_stop; rm -rf "$D"; dd_stop; dg_cleanup; sn_stop; reg_cleanup' EXIT
set -u
for t in docker-registry skopeo dockerd docker; do
	command -v $t >/dev/null || { echo "SKIP: $t is not installed (scripts/install-deps.sh)"; exit 77; }
done
fail=0
check() {
	if [[ $2 != "$3" ]]; then dg_fail "$1: got '$2', want '$3'"; fail=1; else echo "ok: $1 = $2"; fi
}
T=$DG_TMP
reg_start 5000 none || exit 1
reg_make_oci "$T/img" v1 3072 1024 64 || exit 1
blobs="$REG_LAYERS $REG_CONFIG"
reg_push "$T/img" v1 "$REG_ADDR/lib/img:v1" || exit 1
: >"$REG_LOG"
sn_start "$T/sn" || exit 1
dd_start "$T/dd" --registry "$REG_URL" --node "127.0.0.1:$SN_API" || exit 1

# dockerd, private to this test
mkdir -p "$D/root" "$D/exec"
printf '{ "insecure-registries": ["%s"] }\n' "$DD_ADDR" >"$D/daemon.json"
dockerd --config-file "$D/daemon.json" --data-root "$D/root" --exec-root "$D/exec" \
	--pidfile "$D/pid" -H "unix://$D/docker.sock" --storage-driver vfs --iptables=false \
	--ip6tables=false --bridge=none >"$D/dockerd.log" 2>&1 </dev/null &
DK_PID=$!
dk=(docker -H "unix://$D/docker.sock")
for ((i = 0; i < 400; i++)); do # up to 20 s
	"${dk[@]}" version >/dev/null 2>&1 && break
	_reg_alive "$DK_PID" || break
	sleep 0.05
done
if ! "${dk[@]}" version >"$D/version" 2>&1; then
	echo "SKIP: dockerd cannot run here: $(tail -3 "$D/dockerd.log")"
	exit 77
fi

"${dk[@]}" pull -q "$DD_ADDR/lib/img:v1" >"$D/pull.out" 2>&1 ||
	{ dg_fail "docker pull: $(tail -5 "$D/pull.out")"; fail=1; }
"${dk[@]}" image inspect --format '{{len .RootFS.Layers}}' "$DD_ADDR/lib/img:v1" >"$D/layers" 2>&1 ||
	{ dg_fail "docker image inspect: $(cat "$D/layers")"; fail=1; }
check "layers in the pulled image" "$(cat "$D/layers")" 3
for d in $blobs; do
	check "supernode GETs of ${d:0:12}" "$(reg_count GET "/blobs/sha256:$d" '^dragonfly-c' '^200$')" 1
done
check "blob GETs by others at the registry" "$(reg_count GET /blobs/ '^([^d]|d[^r])')" 0
check "dfdaemon blob requests" "$(dd_stat blob_requests)" "$(wc -w <<<"$blobs")"
check "fallbacks" "$(dd_stat fallbacks)" 0
dk_stop
dd_stop
((DD_BAD == 0)) || fail=1
exit $fail
