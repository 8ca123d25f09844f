#!/bin/bash
# Preheat of files through the REST API, in-process (no dfget is forked): the supernode
# fetches the file once into its cache and a later download costs the origin nothing;
# the preheat's id is the task's; a filter drops query keys from the id; a re-post while
# it runs returns the same id (200), a re-post after it finished runs it again (201, the
# original answered "already exists" for ever), which also retries a failed one; DELETE
# forgets it; the legacy /preheats paths work; bad bodies get a 400 that says what to send.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT
set -u
TOKEN=preheat-token
AUTH="Authorization: Bearer $TOKEN"
fail() {
	echo "FAIL: $*"
	[ -f "$DG_TMP/sn/sn.log" ] && tail -n 20 "$DG_TMP/sn/sn.log"
	exit 1
}
check() {
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}
# post PATH JSON: prints "STATUS ID"
post() {
	local out
	out=$(curl -s -w '\n%{http_code}' -H "$AUTH" -H 'Content-Type: application/json' -d "$2" "$SN_URL$1")
	echo "$(tail -n1 <<<"$out") $(sed '$d' <<<"$out" | jq -r '.ID // .message')"
}
# wait_status PATH ID STATUS: poll (10 s) until the preheat has STATUS.
wait_status() {
	local i s=
	for ((i = 0; i < 200; i++)); do
		s=$(curl -s "$SN_URL$1/$2" | jq -r .status)
		[ "$s" == "$3" ] && return 0
		[ "$3" != FAILED ] && [ "$s" == FAILED ] && break
		sleep 0.05
	done
	fail "preheat $2 is $s, want $3: $(curl -s "$SN_URL$1/$2")"
}

mkdir -p "$DG_TMP/www"
head -c $((6 << 20)) /dev/urandom >"$DG_TMP/www/a.bin"
head -c $((4 << 20)) /dev/urandom >"$DG_TMP/www/slow.bin"
origin_start "$DG_TMP/www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" --api-token "$TOKEN" --fail-access-interval 10m || exit 1

# A file preheat fills the cache; its id is the task's.
read -r st ID < <(post /api/v1/preheats "{\"type\":\"file\",\"url\":\"$ORIGIN_URL/a.bin\"}")
check "preheat: 201" "$st" 201
wait_status /api/v1/preheats "$ID" SUCCESS
echo "ok: the preheat succeeded"
p=$(curl -s "$SN_URL/api/v1/preheats/$ID")
check "preheat: its blob (the file) is cached" "$(jq -r '.items[0].status, .items[0].length, .items[0].taskId' <<<"$p" | tr '\n' ' ')" "SUCCESS $((6 << 20)) $ID "
check "preheat: times" "$(jq -r '(.startTime | length > 0) and (.finishTime | length > 0)' <<<"$p")" true
check "the task is the preheat's" "$(curl -s "$SN_URL/api/v1/tasks/$ID" | jq -r '.cdnStatus, .bytes.source' | tr '\n' ' ')" "SUCCESS $((6 << 20)) "
origin_wait_requests 1 '^/a\.bin' || true
n=$(origin_requests '^/a\.bin$')
bytes=$(origin_bytes_sent)
# A download now costs the origin nothing.
DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$ORIGIN_URL/a.bin" -o "$DG_TMP/a.out" -n "$(dg_node)" \
	--home "$(dg_home c1)" -s 0 --notbs 2>"$DG_TMP/c1.err" || fail "dfget: $(cat "$DG_TMP/c1.err")"
cmp -s "$DG_TMP/a.out" "$DG_TMP/www/a.bin" || fail "the download differs"
check "the origin saw no new request" "$(origin_requests '^/a\.bin$')" "$n"
check "... and sent no more bytes" "$(origin_bytes_sent)" "$bytes"
[ -z "$(ps --ppid "$SN_PID" -o pid=)" ] || fail "the supernode has child processes: preheat must not fork"
echo "ok: no child process"

# Re-post after it finished: it runs again (the cache makes it quick).
read -r st id2 < <(post /api/v1/preheats "{\"type\":\"file\",\"url\":\"$ORIGIN_URL/a.bin\"}")
check "re-post after success: 201, same id" "$st $id2" "201 $ID"
wait_status /api/v1/preheats "$ID" SUCCESS
check "it ran twice" "$(curl -s "$SN_URL/api/v1/preheats/$ID" | jq .runs)" 2

# A failure, then a retry once the file exists (the failure is remembered for
# registrations for 10 minutes, but a preheat tries again).
read -r st MID < <(post /api/v1/preheats "{\"type\":\"file\",\"url\":\"$ORIGIN_URL/later.bin\"}")
check "missing file: 201" "$st" 201
wait_status /api/v1/preheats "$MID" FAILED
msg=$(curl -s "$SN_URL/api/v1/preheats/$MID" | jq -r .errorMsg)
[[ $msg == *607* ]] || fail "the error does not say not found: $msg"
echo "ok: FAILED: $msg"
head -c 1000 /dev/urandom >"$DG_TMP/www/later.bin"
read -r st id2 < <(post /api/v1/preheats "{\"type\":\"file\",\"url\":\"$ORIGIN_URL/later.bin\"}")
check "re-post after a failure: 201, same id" "$st $id2" "201 $MID"
wait_status /api/v1/preheats "$MID" SUCCESS
echo "ok: the retry succeeded"

# A filter: query keys it names do not change the id.
read -r st F1 < <(post /api/v1/preheats "{\"type\":\"file\",\"url\":\"$ORIGIN_URL/a.bin?sig=1&v=2\",\"filter\":\"sig\"}")
read -r st F2 < <(post /api/v1/preheats "{\"type\":\"file\",\"url\":\"$ORIGIN_URL/a.bin?sig=9&v=2\",\"filter\":\"sig\"}")
check "filtered keys do not change the id" "$F1" "$F2"
[ "$F1" != "$ID" ] || fail "another query, the same id"
wait_status /api/v1/preheats "$F1" SUCCESS

# Slow source (1 MB/s): a re-post while it runs gives the same id and no second run;
# DELETE forgets it while it runs.
ORIGIN_NAME=slow ORIGIN_SERVER_CONF='limit_rate 1m;' origin_start "$DG_TMP/www" 127.0.0.1 0 || exit 1
slow=$ORIGIN_URL/slow.bin
read -r st SID < <(post /preheats "{\"type\":\"file\",\"url\":\"$slow\",\"headers\":{\"X-Test\":\"1\"}}")
check "legacy path: 201" "$st" 201
wait_status /preheats "$SID" RUNNING
read -r st id2 < <(post /preheats "{\"type\":\"file\",\"url\":\"$slow\"}")
check "re-post while running: 200, same id" "$st $id2" "200 $SID"
check "it runs once" "$(curl -s "$SN_URL/preheats/$SID" | jq .runs)" 1
check "the list holds it" "$(curl -s "$SN_URL/preheats" | jq --arg id "$SID" '[.[] | select(.ID == $id)] | length')" 1
check "delete without the token: 401" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$SN_URL/preheats/$SID")" 401
check "delete: 200" "$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" -X DELETE "$SN_URL/preheats/$SID")" 200
check "deleted: 404" "$(curl -s -o /dev/null -w '%{http_code}' "$SN_URL/api/v1/preheats/$SID")" 404
check "... as JSON" "$(curl -s "$SN_URL/api/v1/preheats/$SID" | jq .code)" 404

# Bad requests: 400 with a message that says what to send.
for body in '{}' '{"type":"file"}' '{"type":"file","url":"ftp://x/y"}' \
	'{"type":"image","url":"http://r/v2/x/blobs/sha256:1"}' '{"type":"file","url":"http://a/b","headers":{"X":1}}' \
	'{"type":"file","url":"http://a/b","headers":{"Bad Name":"v"}}' '[1,2]' 'not json'; do
	read -r st msg < <(post /api/v1/preheats "$body")
	check "bad body $body: 400" "$st" 400
	[ -n "$msg" ] && [ "$msg" != null ] || fail "no message for $body"
done
check "still serving" "$(curl -s "$SN_URL/_ping")" OK
sn_stop
check "exit status" "$SN_EXIT" 0
echo "PASS: preheat_file"
