#!/bin/bash
# podman as a second real client: `podman pull` of an image whose registry has dfdaemon as
# its mirror (registries.conf), with vfs storage in a private root under the test's temp
# dir. The image's blobs reach podman through P2P (ddc_check_p2p: podman falls back to the
# registry silently when a mirror fails, so the counts are what proves the mirror was
# used); the pulled image has the layers that were pushed.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
. "$top_srcdir/tests/lib/registry.sh"
trap 'dd_stop; dg_cleanup; sn_stop; reg_cleanup' EXIT
set -u
ddc_setup podman
T=$DG_TMP
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
"${pm[@]}" pull -q "$DDC_IMAGE" >"$T/pull.out" 2>"$T/pull.err" ||
	{ dg_fail "podman pull: $(cat "$T/pull.err")"; DDC_FAIL=1; }
# the image is there, with the layers pushed (podman stores uncompressed diff ids)
"${pm[@]}" image inspect "$DDC_IMAGE" --format '{{len .RootFS.Layers}}' \
	>"$T/layers" 2>&1 || { dg_fail "podman image inspect: $(cat "$T/layers")"; DDC_FAIL=1; }
ddc_check "layers in the pulled image" "$(cat "$T/layers")" 3
ddc_check_p2p
dd_stop
((DD_BAD == 0)) || DDC_FAIL=1
exit $DDC_FAIL
