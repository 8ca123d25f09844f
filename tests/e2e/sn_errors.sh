#!/bin/bash
# Source failures and bad requests: a missing file (404) answers 607, 401/407 answer 608,
# a 500 answers 610, a refused connection 607, and each failure is remembered (the origin
# sees no second request) unless the registration brings other headers. Malformed
# registrations and reports get 4xx; the piece server answers 206/400/404/416/405 as the
# spec says; and after all of it the supernode still serves.
set -u
source "$(dirname "$0")/../lib/isolate.sh"
source "$top_srcdir/tests/lib/origin.sh"
source "$top_srcdir/tests/lib/supernode.sh"

work=$(mktemp -d /tmp/sn_errors.XXXXXX)
trap 'sn_stop; origin_stop_all; rm -rf "$work"' EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$work/sn/sn.log" ] && tail -n 30 "$work/sn/sn.log"
	exit 1
}
check() {
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}

mkdir -p "$work/www"
head -c $((4194299 + 1000)) /dev/urandom >"$work/www/two.bin" # two pieces
ORIGIN_SERVER_CONF='location = /auth.bin { if ($http_authorization = "Bearer good") { rewrite ^ /two.bin last; } return 401; }
location = /proxy.bin { return 407; }
location = /boom.bin { return 500; }' origin_start "$work/www" 127.0.0.1 0 || fail origin
sn_start "$work/sn" --fail-access-interval 1m || fail "supernode start"

register() { # register URL CID [HEADER] -> body
	local h=${3:-}
	jq -cn --arg u "$1" --arg c "$2" --arg h "$h" \
		'{rawUrl:$u, cid:$c, ip:"127.0.0.1", port:15001, path:"/peer/file/x",
		  headers:(if $h == "" then [] else [$h] end)}' |
		curl -s -XPOST -H 'Content-Type: application/json' -d @- "$SN_URL/peer/registry"
}
code_of() { jq -r .code <<<"$1"; }

# Source failures and their codes.
check "404 -> 607" "$(code_of "$(register "$ORIGIN_URL/missing.bin" a)")" 607
check "401 -> 608" "$(code_of "$(register "$ORIGIN_URL/auth.bin" a)")" 608
check "407 -> 608" "$(code_of "$(register "$ORIGIN_URL/proxy.bin" a)")" 608
check "500 -> 610" "$(code_of "$(register "$ORIGIN_URL/boom.bin" a)")" 610
check "refused -> 607" "$(code_of "$(register "http://127.0.0.1:1/x.bin" a)")" 607
n404=$(origin_requests '^/missing\.bin')
n401=$(origin_requests '^/auth\.bin')
# Remembered: the same registration again costs the origin nothing.
check "404 remembered" "$(code_of "$(register "$ORIGIN_URL/missing.bin" b)")" 607
check "401 remembered" "$(code_of "$(register "$ORIGIN_URL/auth.bin" b)")" 608
sleep 0.2
check "origin saw no new request for the 404" "$(origin_requests '^/missing\.bin')" "$n404"
check "origin saw no new request for the 401" "$(origin_requests '^/auth\.bin')" "$n401"
# Other headers (a token) are tried at once, and succeed.
resp=$(register "$ORIGIN_URL/auth.bin" c "Authorization: Bearer good")
check "401 then a good token -> 200" "$(code_of "$resp")" 200
[ "$(awk -F'\t' '$4=="/auth.bin" && $8==1' "$ORIGIN_LOG" | wc -l)" -gt 0 ] ||
	fail "the Authorization header did not reach the origin"
echo "ok: the token reached the origin"

# A good task for the piece server checks.
resp=$(register "$ORIGIN_URL/two.bin" p1)
check "good registration" "$(code_of "$resp")" 200
TASK=$(jq -r .data.taskId <<<"$resp")
PIECES="http://127.0.0.1:$SN_DL/download/${TASK:0:3}/$TASK"
total=$((4194299 + 1000 + 10))
for ((i = 0; i < 100; i++)); do # wait until the CDN has both pieces
	c=$(curl -s -o /dev/null -w '%{http_code}' -H "Range: bytes=4194304-8388607" "$PIECES")
	[ "$c" == 206 ] && break
	sleep 0.05
done
piece() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check "piece 0: 206" "$(piece -H 'Range: bytes=0-4194303' "$PIECES")" 206
check "last piece, nominal range: 206" "$(piece -H 'Range: bytes=4194304-8388607' "$PIECES")" 206
check "last piece trimmed to the file" "$(curl -s -H 'Range: bytes=4194304-8388607' "$PIECES" | wc -c)" 1005
check "Content-Range" "$(curl -s -D - -o /dev/null -H 'Range: bytes=0-9' "$PIECES" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-range"{print $2}')" "bytes 0-9/$total"
check "no Range: 400" "$(piece "$PIECES")" 400
check "malformed Range: 400" "$(piece -H 'Range: bytes=x-y' "$PIECES")" 400
check "beyond the end: 416" "$(piece -H "Range: bytes=$total-" "$PIECES")" 416
check "unknown task: 404" "$(piece -H 'Range: bytes=0-1' "http://127.0.0.1:$SN_DL/download/aaa/$(printf 'a%.0s' {1..64})")" 404
check "mismatched dir: 404" "$(piece -H 'Range: bytes=0-1' "http://127.0.0.1:$SN_DL/download/bbb/$TASK")" 404
check "traversal: 404" "$(piece --path-as-is -H 'Range: bytes=0-1' "http://127.0.0.1:$SN_DL/download/../../etc/passwd")" 404
check "other path: 404" "$(piece -H 'Range: bytes=0-1' "http://127.0.0.1:$SN_DL/")" 404
check "POST: 405" "$(piece -XPOST -d x -H 'Range: bytes=0-1' "$PIECES")" 405

# Bad requests to the API: 4xx, and the server keeps serving.
api() { curl -s -o "$work/body" -w '%{http_code}' "$@"; }
check "garbage registration: 400" "$(api -XPOST -H 'Content-Type: application/json' -d 'garbage' "$SN_URL/peer/registry")" 400
check "... with code 501" "$(jq -r .code "$work/body")" 501
check "registration without cid: 400" "$(api -XPOST -d "{\"rawUrl\":\"$ORIGIN_URL/two.bin\"}" "$SN_URL/peer/registry")" 400
check "... says what is missing" "$(jq -r .msg "$work/body" | grep -c cid)" 1
check "registration with a bad URL: 400" "$(api -XPOST -d '{"rawUrl":"file:///etc/passwd","cid":"x"}' "$SN_URL/peer/registry")" 400
check "registration with a bad port: 400" "$(api -XPOST -d "{\"rawUrl\":\"$ORIGIN_URL/two.bin\",\"cid\":\"x\",\"port\":22}" "$SN_URL/peer/registry")" 400
head -c 2000000 /dev/zero | tr '\0' 'a' >"$work/big"
check "oversized body: 413" "$(api -XPOST --data-binary @"$work/big" "$SN_URL/peer/registry")" 413
check "GET on registry: 405" "$(api "$SN_URL/peer/registry")" 405
check "unknown endpoint: 404" "$(api "$SN_URL/nope")" 404
check "pull without taskId: code 501" "$(curl -s "$SN_URL/peer/task?srcCid=a" | jq -r .code)" 501
check "pull with a bad status: code 501" "$(curl -s "$SN_URL/peer/task?srcCid=a&taskId=$TASK&status=999" | jq -r .code)" 501
check "pull of an unknown task: code 502" "$(curl -s "$SN_URL/peer/task?srcCid=a&taskId=$(printf 'b%.0s' {1..64})" | jq -r .code)" 502
check "piece/suc without params: 400" "$(api "$SN_URL/peer/piece/suc")" 400
check "piece/suc with a bad range: 400" "$(api "$SN_URL/peer/piece/suc?taskId=$TASK&cid=p1&pieceRange=1-2")" 400
check "piece/error with a bad type: 400" "$(api "$SN_URL/peer/piece/error?taskId=$TASK&srcCid=p1&dstCid=x&errorType=NOPE")" 400
check "metrics without JSON: 400" "$(api -XPOST -d 'x' "$SN_URL/task/metrics")" 400
# A download that names the wrong md5: the CDN copy fails its check (clients fall back).
resp=$(curl -s -XPOST -d "{\"rawUrl\":\"$ORIGIN_URL/two.bin\",\"cid\":\"q\",\"md5\":\"00000000000000000000000000000000\"}" "$SN_URL/peer/registry")
check "registration with a wrong md5" "$(code_of "$resp")" 200
T2=$(jq -r .data.taskId <<<"$resp")
for ((i = 0; i < 50; i++)); do
	c=$(curl -s "$SN_URL/peer/task?srcCid=q&taskId=$T2&status=700&result=502" | jq -r .code)
	[ "$c" == 500 ] && break
done
check "pull once the md5 check failed: code" "$c" 500
check "registering it again: 610" "$(code_of "$(curl -s -XPOST -d "{\"rawUrl\":\"$ORIGIN_URL/two.bin\",\"cid\":\"q2\",\"md5\":\"00000000000000000000000000000000\"}" "$SN_URL/peer/registry")")" 610

check "still serving: ping" "$(curl -s "$SN_URL/_ping")" OK
check "still serving: pieces" "$(piece -H 'Range: bytes=0-4194303' "$PIECES")" 206
sn_alive || fail "the supernode died"
sn_stop
check "exit status" "$SN_EXIT" 0

# Nothing remembered (fail-access-interval 0): each registration asks the source once and
# gets its answer.
sn_start "$work/sn" --fail-access-interval 0 || fail "supernode restart"
n=$(origin_requests '^/missing\.bin')
check "interval 0: 404 -> 607" "$(code_of "$(register "$ORIGIN_URL/missing.bin" a)")" 607
check "interval 0: again 607" "$(code_of "$(register "$ORIGIN_URL/missing.bin" a)")" 607
sleep 0.2
check "interval 0: one request per registration" "$(origin_requests '^/missing\.bin')" $((n + 2))
sn_stop
echo "PASS: sn_errors"
