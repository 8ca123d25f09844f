#!/bin/bash
# The supernode under load: bench/load (C, libcurl multi) plays NPEERS peers (default
# 2,000) registered on NTASKS tasks (default 50) of an nginx origin, each running dfget's
# pull/report loop over real HTTP from its own loopback address (PIECE_MS per piece, default
# 1000 ms: a 4 MiB piece at ~32 Mbit/s), while it samples /_ping every 100 ms, the REST API
# and the status page every second, and the supernode's RSS every second. Prints the
# figures; fails (exit 1) on any failed request or when the supernode's RSS at the end
# exceeds RSS_LIMIT_MB (default 256).
#
# Usage: bench/load.sh [SECONDS (60)] [NPEERS (2000)] [NTASKS (50)] [PIECE_MS (1000)]
# SN_FLAGS: extra supernode flags. FILE_MB: size of each task's file (default 16: 5
# pieces). Runs in its own network namespace as root (tests/lib/isolate.sh); needs nginx.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
source "$top_srcdir/tests/lib/isolate.sh"
source "$top_srcdir/tests/lib/origin.sh"
source "$top_srcdir/tests/lib/supernode.sh"
secs=${1:-60}
npeers=${2:-2000}
ntasks=${3:-50}
piece_ms=${4:-1000}
file_mb=${FILE_MB:-16}
LOAD=$top_builddir/bench/load
[[ -x $LOAD ]] || { echo "FAIL: $LOAD is not built (make -C $top_builddir bench/load)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/load_bench.XXXXXX")
trap 'sn_stop; origin_stop_all; rm -rf "$work"' EXIT
mkdir -p "$work/www"
for ((i = 0; i < ntasks; i++)); do
	# sparse files: the origin reads zeros, the supernode caches them for real
	truncate -s "${file_mb}M" "$work/www/f$i.bin"
done
origin_start "$work/www" 127.0.0.1 0 || exit 1
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# shellcheck disable=SC2086
sn_start "$work/sn" --www-dir "$top_srcdir/www" ${SN_FLAGS:-} || exit 1
echo "supernode pid $SN_PID at $SN_URL; origin $ORIGIN_URL; $ntasks files of $file_mb MiB"
echo "command: bench/load -a 127.0.0.1:$SN_API -u $ORIGIN_URL -t $ntasks -n $npeers -d $secs -w $piece_ms -P $SN_PID"
rc=0
"$LOAD" -a "127.0.0.1:$SN_API" -u "$ORIGIN_URL" -t "$ntasks" -n "$npeers" -d "$secs" \
	-w "$piece_ms" -P "$SN_PID" | tee "$work/load.out" || rc=1
end_kb=$(sed -n 's/.*KiB at most, \([0-9]*\) KiB at the end.*/\1/p' "$work/load.out")
limit=${RSS_LIMIT_MB:-256}
if [[ -n $end_kb ]] && ((end_kb > limit * 1024)); then
	echo "FAIL: the supernode's RSS ended at $((end_kb / 1024)) MiB (limit $limit MiB)"
	rc=1
fi
sn_alive || { echo "FAIL: the supernode died"; rc=1; }
sn_stop
grep 'stopped:' "$work/sn/sn.log" | sed 's/.*stopped: /supernode totals: /'
grep -E "Sanitizer|runtime error:" "$work/sn/sn.log" && rc=1
exit $rc
