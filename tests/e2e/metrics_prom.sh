#!/bin/bash
# GET /metrics after real downloads: the text passes `promtool check metrics` (Debian's
# prometheus package), and its numbers are the ones that happened: the requests by handler
# and code, the bytes read from the source (one copy), the tasks by CDN state, the pieces
# scheduled, the downloads reported, the GC counts (an idle task forgotten) and the build
# info.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT
set -u
fail() {
	echo "FAIL: $*"
	exit 1
}
check() {
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}
command -v promtool >/dev/null || fail "promtool is missing: scripts/install-deps.sh test installs it (Debian package prometheus)"
metric() { # metric NAME_WITH_LABELS: its value in the last scrape
	awk -v m="$1" '$1 == m { print $2 }' "$DG_TMP/metrics"
}
scrape() {
	curl -s --noproxy '*' -o "$DG_TMP/metrics" -w '%{http_code} %{content_type}' "$SN_URL/metrics"
}

size=$((5 << 20))
mkdir -p "$DG_TMP/www"
head -c "$size" /dev/urandom >"$DG_TMP/www/m.bin"
origin_start "$DG_TMP/www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" --task-expire-time 1s --peer-gc-delay 1s || exit 1
check "scrape before any download" "$(scrape)" "200 text/plain; version=0.0.4; charset=utf-8"
promtool check metrics <"$DG_TMP/metrics" || fail "promtool rejects the metrics"
for h in a b; do
	DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$ORIGIN_URL/m.bin" -o "$DG_TMP/$h.out" \
		-n "$(dg_node)" --home "$(dg_home "$h")" -s 0 --notbs 2>"$DG_TMP/$h.err" ||
		fail "dfget $h: $(cat "$DG_TMP/$h.err")"
done
curl -s -o /dev/null "$SN_URL/api/v1/nope"
scrape >/dev/null
promtool check metrics <"$DG_TMP/metrics" || fail "promtool rejects the metrics"
echo "ok: promtool check metrics"
check "build info" "$(metric "dragonfly_supernode_build_info{version=\"$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")\",protocol=\"dragonfly-1.0\"}")" 1
check "registrations answered 200" "$(metric 'dragonfly_supernode_http_requests_total{handler="/peer/registry",code="200"}')" 2
check "the unknown API path counted as 404" "$(metric 'dragonfly_supernode_http_requests_total{handler="unknown",code="404"}')" 1
pulls=$(metric 'dragonfly_supernode_http_request_duration_seconds_count{handler="/peer/task"}')
[ "${pulls:-0}" -ge 2 ] || fail "pull durations not counted ($pulls)"
check "pull histogram +Inf = count" "$(metric 'dragonfly_supernode_http_request_duration_seconds_bucket{handler="/peer/task",le="+Inf"}')" "$pulls"
check "one copy from the source" "$(metric dragonfly_supernode_cdn_source_bytes_total)" "$size"
check "one CDN miss" "$(metric dragonfly_supernode_cdn_misses_total)" 1
check "tasks: one SUCCESS" "$(metric 'dragonfly_supernode_tasks{cdn_status="SUCCESS"}')" 1
check "downloads reported" "$(metric 'dragonfly_supernode_downloads_total{result="success"}')" 2
check "download histogram count" "$(metric dragonfly_supernode_download_duration_seconds_count)" 2
sched=$(($(metric 'dragonfly_supernode_pieces_scheduled_total{source="peer"}') + $(metric 'dragonfly_supernode_pieces_scheduled_total{source="supernode"}')))
[ "$sched" -ge 4 ] || fail "pieces scheduled: $sched, want at least 4 (two clients, two pieces)"
echo "ok: $sched pieces scheduled"
check "bytes reported by clients = two copies" \
	"$(($(metric 'dragonfly_supernode_piece_bytes_reported_total{source="peer"}') + $(metric 'dragonfly_supernode_piece_bytes_reported_total{source="supernode"}')))" $((2 * size))
check "peers: two healthy" "$(metric 'dragonfly_supernode_peers{health="healthy"}')" 2
served=$(metric dragonfly_supernode_piece_server_bytes_total)
[ "$served" -gt 0 ] || fail "no bytes served by the piece server"
echo "ok: the piece server sent $served bytes"
# The idle task is forgotten after task-expire-time (1s): GC counts it.
for ((i = 0; i < 100; i++)); do
	scrape >/dev/null
	[ "$(metric dragonfly_supernode_gc_tasks_total)" == 1 ] && break
	sleep 0.1
done
check "GC forgot the idle task" "$(metric dragonfly_supernode_gc_tasks_total)" 1
check "no task left" "$(metric 'dragonfly_supernode_tasks{cdn_status="SUCCESS"}')" 0
# The cache's use comes from a scan at most every 3 s.
for ((i = 0; i < 100; i++)); do
	scrape >/dev/null
	[ "$(metric dragonfly_supernode_cdn_cache_bytes)" -ge "$size" ] && break
	sleep 0.1
done
cache=$(metric dragonfly_supernode_cdn_cache_bytes)
[ "$cache" -ge "$size" ] || fail "cache bytes $cache, want at least $size"
echo "ok: the cache holds $cache bytes"
promtool check metrics <"$DG_TMP/metrics" || fail "promtool rejects the metrics"
sn_stop
check "exit status" "$SN_EXIT" 0
echo "PASS: metrics_prom"
