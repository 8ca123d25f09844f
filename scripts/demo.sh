#!/bin/bash
# The main job: install what is missing, build, and run a real P2P distribution on this
# machine: an nginx origin and a supernode on loopback, and CLIENTS dfget processes at once
# (default 8; each a simulated host with its own work home and uploader) downloading one
# generated file of SIZE_MB MiB (default 200). Then a summary: file size, clients, seconds,
# what the origin served, what came from peers and from the supernode. Everything it
# starts is stopped on exit. As root the scenario runs in private network and PID
# namespaces (unshare), like the end-to-end tests.
#
# On loopback every link is fast, so a supernode would send every copy itself. Fleets
# need P2P because the supernode's uplink is the bottleneck; the demo shows that case by
# letting the supernode send at most 2 pieces at a time (--cdn-up-limit 2; set
# DEMO_SN_FLAGS to other supernode flags, or to " " for none).
# Usage: scripts/demo.sh [CLIENTS] [SIZE_MB]   (DEMO_BUILDDIR: build directory, default build/)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${DEMO_BUILDDIR:-$top/build}
clients=${1:-8}
size_mb=${2:-200}
case "$clients$size_mb" in *[!0-9]*)
	echo "usage: $0 [CLIENTS] [SIZE_MB]" >&2
	exit 1
	;;
esac
if [ -z "${DF_ISOLATED:-}" ]; then
	"$top/scripts/install-deps.sh" test
	"$top/scripts/build.sh" "$builddir"
	if [ "$(id -u)" -eq 0 ] && unshare -n -p -f --mount-proc true 2>/dev/null; then
		echo "==> running the distribution in private network and PID namespaces"
		export DF_ISOLATED=1 DEMO_BUILDDIR=$builddir
		exec unshare -n -p -f --mount-proc -- bash "$0" "$clients" "$size_mb"
	fi
	echo "==> not root: running on this machine's loopback"
else
	ip link set lo up
fi

top_srcdir=$top
top_builddir=$builddir
export top_srcdir top_builddir
set +eu
. "$top/tests/lib/origin.sh"
. "$top/tests/lib/supernode.sh"
. "$top/tests/lib/dfget.sh"
set -u
cleanup() {
	echo "==> stopping the uploaders, the supernode and the origin"
	dg_cleanup
	sn_stop
	origin_stop_all
}
trap cleanup EXIT
size=$((size_mb << 20))
human() { numfmt --to=iec-i --suffix=B "$1"; }

echo "==> generating a $size_mb MiB file to distribute"
mkdir -p "$DG_TMP/www" "$DG_TMP/out"
head -c "$size" /dev/urandom >"$DG_TMP/www/payload.bin"
sha=$(dg_sha "$DG_TMP/www/payload.bin")
echo "==> starting the origin (nginx) on 127.0.0.1"
origin_start "$DG_TMP/www" 127.0.0.1 0 || exit 1
echo "    $ORIGIN_URL/payload.bin"
sn_flags=${DEMO_SN_FLAGS:---cdn-up-limit 2}
echo "==> starting the supernode ($sn_flags: a busy uplink)"
# shellcheck disable=SC2086 # flags, split on purpose
sn_start "$DG_TMP/supernode" $sn_flags || exit 1
node=$(dg_node)
echo "    API $node, pieces on port $SN_DL"
echo "==> $clients dfget clients start at once, one work home each (a host with its own uploader)"
t0=$(date +%s%N)
pids=()
for ((i = 1; i <= clients; i++)); do
	DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$ORIGIN_URL/payload.bin" \
		-o "$DG_TMP/out/client$i.bin" -n "$node" --home "$(dg_home "host$i")" \
		--locallimit 0 --notbs 2>"$DG_TMP/client$i.err" &
	pids+=($!)
done
failed=0
for ((i = 1; i <= clients; i++)); do
	if ! wait "${pids[i - 1]}"; then
		failed=$((failed + 1))
	fi
done
ms=$((($(date +%s%N) - t0) / 1000000))
for ((i = 1; i <= clients; i++)); do
	ok="sha256 ok"
	[[ -f $DG_TMP/out/client$i.bin && $(dg_sha "$DG_TMP/out/client$i.bin") == "$sha" ]] ||
		ok="WRONG OR MISSING"
	printf '    client %2d: %s (%s)\n' "$i" "$(tail -1 "$DG_TMP/client$i.err" | sed 's/^dfget: //')" "$ok"
	[[ $ok == "sha256 ok" ]] || failed=$((failed + 1))
done

peer=0
for ((i = 1; i <= clients; i++)); do
	b=$(dg_uploaded_bytes "$(dg_home "host$i")")
	peer=$((peer + ${b:-0}))
done
origin_wait_requests 1 '^/payload\.bin$' 5 >/dev/null 2>&1
origin_sent=$(origin_bytes_sent)
total=$((clients * size))
from_sn=$((total > peer ? total - peer : 0))
echo
echo "==================== summary ===================="
printf 'file            %s (%d MiB)\n' "$(human "$size")" "$size_mb"
printf 'clients         %d at once, %d failed\n' "$clients" "$failed"
printf 'time            %d.%03d s until the last client had the whole file\n' $((ms / 1000)) $((ms % 1000))
printf 'delivered       %s (%d copies)\n' "$(human "$total")" "$clients"
printf 'origin served   %s (%s copies of the file)\n' "$(human "$origin_sent")" \
	"$(awk -v a="$origin_sent" -v b="$size" 'BEGIN { printf "%.2f", a / b }')"
printf 'from peers      %s (%d%%), counted by the peers'"'"' uploaders\n' "$(human "$peer")" $((peer * 100 / total))
printf 'from supernode  %s (%d%%)\n' "$(human "$from_sn")" $((from_sn * 100 / total))
echo "================================================="
[[ $failed == 0 ]]
