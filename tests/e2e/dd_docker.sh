#!/bin/bash
# docker as a fourth real client: a private dockerd (its own data root, exec root and
# socket under a temp dir; vfs storage, no iptables, no bridge) runs
# `docker pull <dfdaemon's address>/<repository>:<tag>` (docker mirrors Docker Hub only, so
# for any other registry it pulls through dfdaemon's address, listed as an insecure
# registry). The blobs reach docker through P2P (ddc_check_p2p) and the pulled image has
# the layers that were pushed.
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
ddc_setup dockerd docker

# dockerd, private to this test
mkdir -p "$D/root" "$D/exec"
printf '{ "insecure-registries": ["%s"] }\n' "$DD_ADDR" >"$D/daemon.json"
dockerd --config-file "$D/daemon.json" --data-root "$D/root" --exec-root "$D/exec" \
	--pidfile "$D/pid" -H "unix://$D/docker.sock" --storage-driver vfs --iptables=false \
	--ip6tables=false --bridge=none >"$D/dockerd.log" 2>&1 </dev/null &
DK_PID=$!
dk=(docker -H "unix://$D/docker.sock")
ddc_wait_daemon "$DK_PID" 20 "$D/dockerd.log" dockerd "${dk[@]}" version

ref=$DD_ADDR/lib/img:v1
"${dk[@]}" pull -q "$ref" >"$D/pull.out" 2>&1 ||
	{ dg_fail "docker pull: $(tail -5 "$D/pull.out")"; DDC_FAIL=1; }
"${dk[@]}" image inspect --format '{{len .RootFS.Layers}}' "$ref" >"$D/layers" 2>&1 ||
	{ dg_fail "docker image inspect: $(cat "$D/layers")"; DDC_FAIL=1; }
ddc_check "layers in the pulled image" "$(cat "$D/layers")" 3
ddc_check_p2p
dk_stop
dd_stop
((DD_BAD == 0)) || DDC_FAIL=1
exit $DDC_FAIL
