#!/bin/bash
# podman as a second real client: `podman pull` of an image whose registry has dfdaemon as
# its mirror (registries.conf), with vfs storage in a private root under the test's temp
# dir. The image's blobs reach podman through P2P: the registry serves each blob once, to
# the supernode, and no blob to podman directly (podman falls back to the registry
# silently when a mirror fails, so the counts are what proves the mirror was used); the
# pulled image has the layers that were pushed.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
. "$top_srcdir/tests/lib/registry.sh"
trap 'dd_stop; dg_cleanup; sn_stop; reg_cleanup' EXIT
set -u
for t in docker-registry skopeo podman; do
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
cat >"$T/registries.conf" <<CONF
unqualified-search-registries = []
[[registry]]
prefix = "$REG_ADDR"
location = "$REG_ADDR"
insecure = true
[[registry.mirror]]
location = "$DD_ADDR"
insecure = true
CONF
: >"$T/containers.conf"
export CONTAINERS_REGISTRIES_CONF=$T/registries.conf CONTAINERS_CONF=$T/containers.conf
pm=(podman --root "$T/root" --runroot "$T/runroot" --storage-driver vfs --tmpdir "$T/tmp"
	--events-backend none --cgroup-manager cgroupfs)
mkdir -p "$T/tmp"
if ! "${pm[@]}" images >"$T/podman.err" 2>&1; then
	echo "SKIP: podman cannot run here: $(tail -3 "$T/podman.err")"
	exit 77
fi
"${pm[@]}" pull -q "$REG_ADDR/lib/img:v1" >"$T/pull.out" 2>"$T/pull.err" ||
	{ dg_fail "podman pull: $(cat "$T/pull.err")"; fail=1; }
# the image is there, with the layers pushed (podman stores uncompressed diff ids)
"${pm[@]}" image inspect "$REG_ADDR/lib/img:v1" --format '{{len .RootFS.Layers}}' \
	>"$T/layers" 2>&1 || { dg_fail "podman image inspect: $(cat "$T/layers")"; fail=1; }
check "layers in the pulled image" "$(cat "$T/layers")" 3
for d in $blobs; do
	check "supernode GETs of ${d:0:12}" "$(reg_count GET "/blobs/sha256:$d" '^dragonfly-c' '^200$')" 1
done
check "blob GETs by podman at the registry" "$(reg_count GET /blobs/ '^([^d]|d[^r])')" 0
check "dfdaemon blob requests" "$(dd_stat blob_requests)" "$(wc -w <<<"$blobs")"
check "fallbacks" "$(dd_stat fallbacks)" 0
dd_stop
((DD_BAD == 0)) || fail=1
exit $fail
