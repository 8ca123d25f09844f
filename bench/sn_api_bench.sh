#!/bin/bash
# Latency of the operators' API while the supernode distributes a file, against the same
# calls on the same supernode when idle (the baseline of the same run): GET /api/v1/summary,
# /api/v1/tasks, /api/v1/peers, /api/v1/tasks/{id}?pieces=true and /metrics, each REQS
# times, one after the other (what a dashboard and a scraper do). During the busy phase
# NCLIENTS dfget processes download a SIZE_MB file from an origin limited to 10 MB/s, so
# the distribution is still running while the API is measured. Prints, per call, the
# median and p95 in ms, idle and busy, and their ratio; and how long the downloads took
# with the API polled (ten status pages' worth: the page's four calls every 0.1 s) against a
# run without polling.
#
# Usage: bench/sn_api_bench.sh [REQS (200)] [NCLIENTS (8)] [SIZE_MB (200)]
# Runs in its own network namespace as root (tests/lib/isolate.sh); needs nginx and jq.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
source "$top_srcdir/tests/lib/isolate.sh"
source "$top_srcdir/tests/lib/origin.sh"
source "$top_srcdir/tests/lib/supernode.sh"
source "$top_srcdir/tests/lib/dfget.sh"
reqs=${1:-200}
nclients=${2:-8}
size_mb=${3:-200}
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT
mkdir -p "$DG_TMP/www"
head -c $((size_mb << 20)) /dev/urandom >"$DG_TMP/www/f.bin"
ORIGIN_SERVER_CONF='limit_rate 10m;' origin_start "$DG_TMP/www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" || exit 1
paths=(/api/v1/summary /api/v1/tasks /api/v1/peers "/api/v1/tasks/TASK?pieces=true" /metrics)

# measure PATH: REQS sequential GETs; prints "median p95" in ms.
measure() {
	local i
	for ((i = 0; i < reqs; i++)); do
		curl -s -o /dev/null -w '%{time_total}\n' "$SN_URL$1"
	done | sort -n | awk '{ t[NR] = $1 * 1000 } END { printf "%.2f %.2f\n", t[int(NR / 2) + 1], t[int(NR * 0.95)] }'
}

# downloads [poll]: NCLIENTS concurrent downloads of a new copy of the file (a new URL:
# a new task); prints the seconds they took. With poll, a page-like poller runs meanwhile.
round=0
downloads() {
	local i pids=() t0 poller=
	round=$((round + 1))
	cp "$DG_TMP/www/f.bin" "$DG_TMP/www/f$round.bin"
	t0=$(date +%s%N)
	for ((i = 1; i <= nclients; i++)); do
		DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$ORIGIN_URL/f$round.bin" -o "$DG_TMP/out$i" \
			-n "$(dg_node)" --home "$(dg_home "r$round-$i")" -s 0 --notbs 2>/dev/null &
		pids+=($!)
	done
	if [ "${1:-}" = poll ]; then
		(while :; do for p in /api/v1/summary /api/v1/tasks /api/v1/peers /metrics; do
			curl -s -o /dev/null "$SN_URL$p"; done; sleep 0.1; done) &
		poller=$!
	fi
	for p in "${pids[@]}"; do wait "$p" || echo "a download failed" >&2; done
	[ -n "$poller" ] && kill "$poller" 2>/dev/null && wait "$poller" 2>/dev/null
	echo "scale=2; ($(date +%s%N) - $t0) / 1000000000" | bc
}

# The idle baseline: one finished task in memory (so task detail has something to show).
downloads >/dev/null
TASK=$(curl -s "$SN_URL/api/v1/tasks" | jq -r '.[0].ID')
declare -A idle busy
for p in "${paths[@]}"; do idle[$p]=$(measure "${p/TASK/$TASK}"); done

# Busy: measure while a distribution runs (started in the background).
downloads >"$DG_TMP/busy.time" &
dl=$!
sleep 1 # let registrations and the first pieces start
for p in "${paths[@]}"; do busy[$p]=$(measure "${p/TASK/$TASK}"); done
running=$(curl -s "$SN_URL/api/v1/summary" | jq .clients.active)
wait "$dl"
echo "supernode API latency, $reqs sequential GETs per call, idle vs during a distribution"
echo "($nclients clients, ${size_mb} MB at 10 MB/s from the origin; $running still active at the end of the measurement)"
printf '%-34s %16s %16s %8s\n' call "idle p50/p95 ms" "busy p50/p95 ms" "p50 x"
for p in "${paths[@]}"; do
	read -r i50 i95 <<<"${idle[$p]}"
	read -r b50 b95 <<<"${busy[$p]}"
	printf '%-34s %16s %16s %8s\n' "$p" "$i50/$i95" "$b50/$b95" "$(echo "scale=2; $b50 / $i50" | bc)"
done
t_plain=$(downloads)
t_poll=$(downloads poll)
echo "distribution time: $t_plain s without API polling, $t_poll s with the API polled every 0.1 s ($(echo "scale=2; $t_poll / $t_plain" | bc)x)"
