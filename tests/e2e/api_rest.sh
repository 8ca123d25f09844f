#!/bin/bash
# The REST API (/api/v1) on a real supernode after real downloads: three dfget processes
# (each its own host and uploader) fetch one file from an nginx origin; then peers (list,
# paging, sorting, get, delete), tasks (list, status filter, detail with pieces, holders,
# bytes from the source / supernode / peers, download times), the token on mutating calls
# (401 without it, the peer protocol stays open), JSON errors with the right 4xx (400, 404,
# 405, 409-free delete, 413 over the body limit) and DELETE ?full=true dropping the cache.
# The supernode keeps serving after every bad request.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT
set -u
TOKEN=s3cr3t-t0ken
fail() {
	echo "FAIL: $*"
	[ -f "$DG_TMP/sn/sn.log" ] && tail -n 20 "$DG_TMP/sn/sn.log"
	exit 1
}
check() {
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}
# api METHOD PATH [curl args...]: prints the body, then the HTTP status on the last line.
api() {
	local m=$1 p=$2
	shift 2
	curl -s --noproxy '*' -X "$m" -w '\n%{http_code}' "$@" "$SN_URL$p"
}
status_of() { tail -n1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }

size=$((9 << 20)) # three 4 MiB pieces
www=$DG_TMP/www
mkdir -p "$www" "$DG_TMP/out"
head -c "$size" /dev/urandom >"$www/file.bin"
sha=$(dg_sha "$www/file.bin")
origin_start "$www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" --api-token "$TOKEN" || exit 1

# Three real downloads; the second and third run together after the first.
get() {
	DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$ORIGIN_URL/file.bin" -o "$DG_TMP/out/$1" \
		-n "$(dg_node)" --home "$(dg_home "$1")" -s 0 --notbs 2>"$DG_TMP/$1.err"
}
get h1 || fail "h1: $(cat "$DG_TMP/h1.err")"
get h2 & p2=$!
get h3 || fail "h3: $(cat "$DG_TMP/h3.err")"
wait "$p2" || fail "h2: $(cat "$DG_TMP/h2.err")"
for h in h1 h2 h3; do
	[ "$(dg_sha "$DG_TMP/out/$h")" == "$sha" ] || fail "$h: content differs"
done
echo "ok: three downloads"

# Peers: one per uploader.
r=$(api GET /api/v1/peers -D "$DG_TMP/hdr")
check "peers: 200" "$(status_of "$r")" 200
peers=$(body_of "$r")
check "peers: three" "$(jq length <<<"$peers")" 3
check "peers: X-Total-Count" "$(tr -d '\r' <"$DG_TMP/hdr" | sed -n 's/^X-Total-Count: //p')" 3
ports=$(for h in h1 h2 h3; do dg_uploader_port "$(dg_home "$h")"; done | sort -n | tr '\n' ' ')
check "peers: their ports are the uploaders'" "$(jq -r '.[].port' <<<"$peers" | sort -n | tr '\n' ' ')" "$ports"
check "peers: all healthy" "$(jq -r '[.[] | .health] | unique | join(",")' <<<"$peers")" healthy
check "peers: each finished one task" "$(jq -r '[.[] | .finished] | unique | join(",")' <<<"$peers")" 1
r=$(api GET '/api/v1/peers?sortKey=port&sortDirect=DESC&pageSize=2&pageNum=0')
check "peers: sorted by port, descending, page 0 of 2" \
	"$(body_of "$r" | jq -r '.[].port' | tr '\n' ' ')" "$(tr ' ' '\n' <<<"$ports" | sed '/^$/d' | sort -rn | head -2 | tr '\n' ' ')"
r=$(api GET '/api/v1/peers?sortKey=port&sortDirect=desc&pageSize=2&pageNum=1')
check "peers: page 1 holds the third" "$(body_of "$r" | jq -r '.[].port')" "$(tr ' ' '\n' <<<"$ports" | sed '/^$/d' | sort -rn | tail -1)"
r=$(api GET '/api/v1/peers?sortKey=color')
check "peers: bad sortKey: 400" "$(status_of "$r")" 400
check "peers: the error is JSON {code,message}" "$(body_of "$r" | jq -r '.code, (.message | test("sortKey"))' | tr '\n' ' ')" "400 true "
r=$(api GET '/api/v1/peers?pageSize=x')
check "peers: bad pageSize: 400" "$(status_of "$r")" 400
id=$(jq -r '.[0].ID' <<<"$peers")
r=$(api GET "/api/v1/peers/$id")
check "peer: get" "$(status_of "$r") $(body_of "$r" | jq -r .ID)" "200 $id"
check "peer: unknown: 404" "$(status_of "$(api GET /api/v1/peers/10.9.9.9:1)")" 404

# Tasks.
r=$(api GET /api/v1/tasks)
check "tasks: one" "$(body_of "$r" | jq length)" 1
TASK=$(body_of "$r" | jq -r '.[0].ID')
check "tasks: SUCCESS" "$(body_of "$r" | jq -r '.[0].cdnStatus')" SUCCESS
check "tasks: filter FAILED" "$(body_of "$(api GET '/api/v1/tasks?status=FAILED')" | jq length)" 0
check "tasks: filter success,failed" "$(body_of "$(api GET '/api/v1/tasks?status=success,failed')" | jq length)" 1
check "tasks: bad filter: 400" "$(status_of "$(api GET '/api/v1/tasks?status=DONE')")" 400
r=$(api GET "/api/v1/tasks/$TASK?pieces=true")
check "task: 200" "$(status_of "$r")" 200
t=$(body_of "$r")
check "task: length" "$(jq .fileLength <<<"$t")" "$size"
check "task: every piece cached" "$(jq '.piecesCached == .pieceTotal and .pieceTotal == 3' <<<"$t")" true
check "task: three clients finished" "$(jq .clients.finished <<<"$t")" 3
check "task: source bytes = one copy" "$(jq .bytes.source <<<"$t")" "$size"
check "task: supernode + peers = three copies" "$(jq '.bytes.supernode + .bytes.peers' <<<"$t")" $((3 * size))
check "task: holders per piece: 3 each" "$(jq -r '.holders.min, .holders.max, .holders.histogram["2-4"]' <<<"$t" | tr '\n' ' ')" "3 3 3 "
check "task: one entry per piece" "$(jq '.pieces | length' <<<"$t")" 3
check "task: three downloads reported" "$(jq .downloads.succeeded <<<"$t")" 3
echo "downloads: $(jq -c .downloads <<<"$t")"
check "task: a minimum time" "$(jq '.downloads.minimumSeconds > 0 and .downloads.medianVsMinimum >= 1' <<<"$t")" true
check "task: md5 of the file" "$(jq -r .md5 <<<"$t")" "$(md5sum "$www/file.bin" | cut -d' ' -f1)"
check "task: unknown: 404" "$(status_of "$(api GET "/api/v1/tasks/$(printf 'a%.0s' {1..64})")")" 404
check "task: malformed id: 400" "$(status_of "$(api GET /api/v1/tasks/xyz)")" 400

# Summary: the totals agree with the task.
s=$(body_of "$(api GET /api/v1/summary)")
check "summary: bytes from source" "$(jq .bytes.source <<<"$s")" "$size"
check "summary: peers" "$(jq .peers.total <<<"$s")" 3
check "summary: token required" "$(jq .tokenRequired <<<"$s")" true

# Errors of the API itself.
check "unknown endpoint: 404" "$(status_of "$(api GET /api/v1/nope)")" 404
r=$(api PUT /api/v1/tasks -H "Authorization: Bearer $TOKEN")
check "PUT on the task list: 405" "$(status_of "$r")" 405
r=$(api POST /api/v1/preheats -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary "@-" < <(head -c 100000 /dev/zero | tr '\0' ' '))
check "body over the limit: 413" "$(status_of "$r")" 413
check "... JSON" "$(body_of "$r" | jq -r .code)" 413
r=$(api POST /api/v1/preheats -H "Authorization: Bearer $TOKEN" -d '{"type":"file"')
check "malformed JSON: 400" "$(status_of "$r")" 400
r=$(api POST /api/v1/preheats -H "Authorization: Bearer $TOKEN" -d '{"type":"disk","url":"http://a/b"}')
check "unknown type: 400" "$(status_of "$r")" 400
body_of "$r" | jq -r .message | grep -q 'file' || fail "the message does not say which types exist"

# The token: mutating calls need it; reads and the peer protocol do not.
check "delete without token: 401" "$(status_of "$(api DELETE "/api/v1/tasks/$TASK")")" 401
check "delete with a wrong token: 401" "$(status_of "$(api DELETE "/api/v1/tasks/$TASK" -H 'Authorization: Bearer nope')")" 401
check "preheat without token: 401" "$(status_of "$(api POST /api/v1/preheats -d '{"type":"file","url":"http://127.0.0.1/x"}')")" 401
check "legacy preheat without token: 401" "$(status_of "$(api POST /preheats -d '{"type":"file","url":"http://127.0.0.1/x"}')")" 401
check "the task still exists" "$(status_of "$(api GET "/api/v1/tasks/$TASK")")" 200
check "the peer protocol stays open" "$(curl -s "$SN_URL/peer/task?taskId=$TASK&srcCid=nobody" | jq .code)" 502

# Delete a peer: its record and its clients go.
r=$(api DELETE "/api/v1/peers/$id" -H "Authorization: Bearer $TOKEN")
check "peer delete: 200" "$(status_of "$r")" 200
check "peer delete: one client dropped" "$(body_of "$r" | jq .clientsDropped)" 1
check "peer: gone" "$(status_of "$(api GET "/api/v1/peers/$id")")" 404
check "task: two clients left" "$(body_of "$(api GET "/api/v1/tasks/$TASK")" | jq .clients.total)" 2

# Delete the task with its cache.
cache=$DG_TMP/sn/repo/download/${TASK:0:3}/$TASK
[ -f "$cache" ] || fail "no cache file $cache"
r=$(api DELETE "/api/v1/tasks/$TASK?full=true" -H "Authorization: Bearer $TOKEN")
check "task delete full: 200" "$(status_of "$r")" 200
check "task: gone" "$(status_of "$(api GET "/api/v1/tasks/$TASK")")" 404
[ ! -e "$cache" ] && [ ! -e "$cache.meta" ] || fail "the cache files are still there"
echo "ok: the cache files are gone"
check "delete again: 404" "$(status_of "$(api DELETE "/api/v1/tasks/$TASK" -H "Authorization: Bearer $TOKEN")")" 404

# A download after the full delete fetches from the origin again, and works.
n0=$(origin_requests '^/file\.bin')
get h4 || fail "h4 after the delete: $(cat "$DG_TMP/h4.err")"
[ "$(dg_sha "$DG_TMP/out/h4")" == "$sha" ] || fail "h4: content differs"
origin_wait_requests $((n0 + 1)) '^/file\.bin' || fail "the origin was not asked again"
echo "ok: a download after the delete refetches"
check "still serving" "$(curl -s "$SN_URL/_ping")" OK
sn_stop
check "exit status" "$SN_EXIT" 0
echo "PASS: api_rest"
