#!/bin/bash
# Pull throughput of the supernode: NPEERS clients (default 1,000) on one task of a
# 100 MB file, played by wrk (bench/sn_pull.lua): register, pull, piece/suc, pull with the
# result... as dfget does, with no transfer time in between, so the scheduler and the API
# are all that is measured. A warm-up run (its clients stay as partial seeds) precedes the
# measured run. Prints req/s (all and pulls), latency p50/p99, and the supernode's RSS.
# Targets (issue 3): >= 10,000 pulls/s, p99 < 10 ms, RSS < 64 MB on 2 cores.
#
# Usage: bench/sn_pull_bench.sh [SECONDS (20)] [NPEERS (1000)] [WRK_THREADS (8)]
# SN_FLAGS: extra supernode flags. Runs in its own network namespace as root
# (tests/lib/isolate.sh); needs wrk and nginx.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
source "$top_srcdir/tests/lib/isolate.sh"
source "$top_srcdir/tests/lib/origin.sh"
source "$top_srcdir/tests/lib/supernode.sh"
secs=${1:-20}
npeers=${2:-1000}
threads=${3:-8}
command -v wrk >/dev/null || { echo "SKIP: wrk is not installed (apt-get install wrk)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

work=$(mktemp -d /tmp/sn_pull_bench.XXXXXX)
trap 'sn_stop; origin_stop_all; rm -rf "$work"' EXIT
mkdir -p "$work/www"
head -c $((100 * 1024 * 1024)) /dev/urandom >"$work/www/f100m.bin"
origin_start "$work/www" 127.0.0.1 0 || exit 1
ulimit -n 65536 2>/dev/null
sn_start "$work/sn" ${SN_FLAGS:-} || exit 1
URL="$ORIGIN_URL/f100m.bin"

# Cache the file first: the benchmark measures scheduling, not the source.
resp=$(curl -s -XPOST -d "{\"rawUrl\":\"$URL\",\"cid\":\"seed\",\"ip\":\"127.0.0.1\",\"port\":0}" \
	"$SN_URL/peer/registry")
task=$(jq -r .data.taskId <<<"$resp")
last=$(((100 * 1024 * 1024 + 4194298) / 4194299 - 1))
for ((i = 0; i < 600; i++)); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Range: bytes=$((last * 4194304))-$((last * 4194304 + 9))" \
		"http://127.0.0.1:$SN_DL/download/${task:0:3}/$task")
	[ "$code" == 206 ] && break
	sleep 0.1
done
echo "task ${task:0:12}: $((last + 1)) pieces cached"

lua="$top_srcdir/bench/sn_pull.lua"
echo "== warm-up: 5 s, $npeers clients"
wrk -t "$threads" -c "$threads" -d 5s -s "$lua" "$SN_URL" -- "$URL" "$npeers" "$threads" warm |
	grep -E '^(requests|pull answers|latency)'
echo "== measured: ${secs} s, $npeers clients, wrk -t$threads -c$threads (one connection per thread)"
echo "   command: wrk -t $threads -c $threads -d ${secs}s --latency -s bench/sn_pull.lua URL -- SRC $npeers $threads run"
wrk -t "$threads" -c "$threads" -d "${secs}s" --latency -s "$lua" "$SN_URL" -- "$URL" "$npeers" \
	"$threads" run | grep -E '^(requests|pull answers|latency)'
echo "supernode memory: $(grep -E '^VmRSS' /proc/$SN_PID/status | tr -s ' \t' ' '), peak $(grep -E '^VmHWM' /proc/$SN_PID/status | awk '{print $2, $3}')"
sn_stop
grep 'stopped:' "$work/sn/sn.log" | sed 's/.*stopped: /supernode totals: /'
