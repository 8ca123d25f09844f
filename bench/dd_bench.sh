#!/bin/bash
# dfdaemon blob throughput, in the same run and on loopback: one layer of SIZE_MB random
# bytes pulled with curl (1) straight from docker-registry, (2) through dfdaemon, cold
# (the supernode fetches it from the registry while dfdaemon streams it), (3) through a
# second dfdaemon (its own home and uploader, as on another host), warm (the supernode
# has it cached), and (4) from the first dfdaemon again (its finished copy). Prints each
# time, the rate, the ratio to the direct pull, and dfdaemon's peak memory.
# Usage (root; it runs in its own namespaces): bench/dd_bench.sh [SIZE_MB]   (default 256)
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
. "$top_srcdir/tests/lib/isolate.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
. "$top_srcdir/tests/lib/registry.sh"
DD2_PID=
trap '_reg_kill "$DD2_PID"; dd_stop; dg_cleanup; sn_stop; reg_cleanup' EXIT
set -u
mb=${1:-256}
reg_start 5000 none || exit 1
reg_make_oci "$DG_TMP/img" v1 $((mb * 1024)) || exit 1
blob=$REG_LAYERS
size=$(stat -c %s "$DG_TMP/img/blobs/sha256/$blob")
reg_push "$DG_TMP/img" v1 "$REG_ADDR/lib/img:v1" || exit 1
sn_start "$DG_TMP/sn" || exit 1

rate() { awk -v b="$size" -v ms="$1" 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }'; }
ratio() { awk -v a="$1" -v b="$direct" 'BEGIN { printf "%.2f", a / b }'; }

# pull NAME URL: time one curl GET, check the digest, print a line; sets MS
pull() {
	local t0 out=$DG_TMP/pull.out
	rm -f "$out"
	t0=$(date +%s%N)
	curl -sf --noproxy '*' -o "$out" "$2" || { echo "$1: curl failed" >&2; exit 1; }
	MS=$((($(date +%s%N) - t0) / 1000000))
	[[ $(dg_sha "$out") == "$blob" ]] || { echo "$1: wrong digest" >&2; exit 1; }
	printf '%-34s %7d ms  %8s MB/s' "$1" "$MS" "$(rate "$MS")"
}

echo "blob: $size bytes ($mb MiB of random data, gzip)"
pull "direct from the registry" "$REG_URL/v2/lib/img/blobs/sha256:$blob"
direct=$MS
echo "  (baseline)"
dd_start "$DG_TMP/dd1" --registry "$REG_URL" --node "127.0.0.1:$SN_API" --ratelimit 0 || exit 1
pull "dfdaemon, cold (registry->CDN->P2P)" "$DD_URL/v2/lib/img/blobs/sha256:$blob"
printf '  %sx the direct time\n' "$(ratio "$MS")"
first_url=$DD_URL
first_pid=$DD_PID
first_home=$DD_HOME
DD_PID=
dd_start "$DG_TMP/dd2" --registry "$REG_URL" --node "127.0.0.1:$SN_API" --ratelimit 0 || exit 1
DD2_PID=$DD_PID
pull "second dfdaemon, warm supernode" "$DD_URL/v2/lib/img/blobs/sha256:$blob"
printf '  %sx the direct time\n' "$(ratio "$MS")"
t0=$(date +%s%N)
DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$REG_URL/v2/lib/img/blobs/sha256:$blob" \
	-o "$DG_TMP/dfget.out" -n "127.0.0.1:$SN_API" --home "$DG_TMP/h3" -s 0 --notbs \
	2>/dev/null || { echo "dfget failed" >&2; exit 1; }
MS=$((($(date +%s%N) - t0) / 1000000))
printf '%-34s %7d ms  %8.1f MB/s  %.2fx the direct time\n' "dfget alone, warm (for reference)" \
	"$MS" "$(rate "$MS")" "$(ratio "$MS")"
pull "first dfdaemon again (its copy)" "$first_url/v2/lib/img/blobs/sha256:$blob"
printf '  %sx the direct time\n' "$(ratio "$MS")"
for p in "$first_pid" "$DD2_PID"; do
	echo "dfdaemon pid $p peak RSS: $(sed -n 's/^VmHWM:[[:space:]]*//p' "/proc/$p/status")"
done
echo "registry blob GETs: $(reg_count GET "/blobs/sha256:$blob" . '^200$') (the direct pull and the supernode's)"
DD_PID=$first_pid
DD_HOME=$first_home
