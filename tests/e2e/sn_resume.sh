#!/bin/bash
# The cache across restarts. A fetch stopped half way (SIGTERM while the origin is slow)
# resumes after a restart with a Range request from the last whole piece, and the result
# is byte-exact. A finished cache is a hit after a restart: one conditional request (304),
# no download. A client reporting a damaged supernode piece makes the supernode check its
# copy and drop it; the next registration fetches it again.
set -u
source "$(dirname "$0")/../lib/isolate.sh"
source "$top_srcdir/tests/lib/origin.sh"
source "$top_srcdir/tests/lib/supernode.sh"

work=$(mktemp -d /tmp/sn_resume.XXXXXX)
trap 'sn_stop; origin_stop_all; rm -rf "$work"' EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$work/sn/sn.log" ] && tail -n 30 "$work/sn/sn.log"
	[ -n "${ORIGIN_LOG:-}" ] && tail -n 10 "$ORIGIN_LOG"
	exit 1
}
check() {
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}

PS=4194304
CONTENT=$((PS - 5))
mkdir -p "$work/www"
size=$((6 * CONTENT - 1000)) # six pieces
head -c "$size" /dev/urandom >"$work/www/big.bin"
head -c $((CONTENT + 77)) /dev/urandom >"$work/www/small.bin"
ORIGIN_SERVER_CONF="location /slow/ { alias $work/www/; limit_rate 4m; }" \
	origin_start "$work/www" 127.0.0.1 0 || fail origin

register() { # register URL CID
	jq -cn --arg u "$1" --arg c "$2" '{rawUrl:$u, cid:$c, ip:"127.0.0.1", port:15001,
	  path:"/peer/file/x"}' | curl -s -XPOST -d @- "$SN_URL/peer/registry"
}
piece_code() { # piece_code TASK N
	curl -s -o /dev/null -w '%{http_code}' -H "Range: bytes=$(($2 * PS))-$(($2 * PS + PS - 1))" \
		"http://127.0.0.1:$SN_DL/download/${1:0:3}/$1"
}
wait_piece() { # wait_piece TASK N SECONDS
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		[ "$(piece_code "$1" "$2")" == 206 ] && return 0
		sleep 0.05
	done
	fail "piece $2 of ${1:0:12} not cached after $3 s"
}
reassemble() { # reassemble TASK NPIECES OUT
	local n
	: >"$3"
	for ((n = 0; n < $2; n++)); do
		curl -s -H "Range: bytes=$((n * PS))-$((n * PS + PS - 1))" \
			"http://127.0.0.1:$SN_DL/download/${1:0:3}/$1" | tail -c +5 | head -c -1 >>"$3"
	done
}

# 1. Start a slow fetch, stop the supernode after two pieces.
sn_start "$work/sn" || fail "supernode start"
resp=$(register "$ORIGIN_URL/slow/big.bin" c1)
check "register" "$(jq -r .code <<<"$resp")" 200
TASK=$(jq -r .data.taskId <<<"$resp")
wait_piece "$TASK" 1 20
sn_stop
check "SIGTERM mid-fetch: exit status" "$SN_EXIT" 0
meta="$work/sn/repo/download/${TASK:0:3}/$TASK.meta"
check "meta: unfinished" "$(jq -r .finished "$meta")" false
k=$(jq '.pieceMd5 | length' "$meta")
[ "$k" -ge 2 ] && [ "$k" -lt 6 ] || fail "meta records $k pieces"
echo "ok: meta records $k whole pieces"

# 2. Restart: the fetch resumes from piece k with a Range request.
sn_start "$work/sn" || fail "supernode restart"
check "register after restart" "$(jq -r .code <<<"$(register "$ORIGIN_URL/slow/big.bin" c1)")" 200
wait_piece "$TASK" 5 30
origin_wait_requests 4 '^/slow/big\.bin' 10
last=$(awk -F'\t' '$3=="GET" && $4=="/slow/big.bin"' "$ORIGIN_LOG" | tail -n 1)
check "resume request Range" "$(cut -f7 <<<"$last")" "bytes=$((k * CONTENT))-"
check "resume answer" "$(cut -f5 <<<"$last")" 206
check "resumed bytes" "$(cut -f6 <<<"$last")" $((size - k * CONTENT))
reassemble "$TASK" 6 "$work/out.bin"
check "content after resume" "$(sha256sum <"$work/out.bin" | cut -d' ' -f1)" \
	"$(sha256sum <"$work/www/big.bin" | cut -d' ' -f1)"
for ((i = 0; i < 40; i++)); do
	[ "$(jq -r .finished "$meta")" == true ] && break
	sleep 0.05
done
check "meta: finished" "$(jq -r .finished "$meta")" true
check "meta: sha256" "$(jq -r .sha256 "$meta")" "$(sha256sum <"$work/www/big.bin" | cut -d' ' -f1)"

# 3. Restart again: a cache hit after one conditional request.
sn_stop
origin_reset_log
sn_start "$work/sn" || fail "supernode restart 2"
resp=$(register "$ORIGIN_URL/slow/big.bin" c2)
check "register on a cached task" "$(jq -r .code <<<"$resp")" 200
check "its length" "$(jq -r .data.fileLength <<<"$resp")" "$size"
resp=$(curl -s "$SN_URL/peer/task?srcCid=c2&taskId=$TASK&status=700&result=502")
check "pieces at once" "$(jq -r .code <<<"$resp")" 601
origin_wait_requests 1 '' 5
check "origin: one request" "$(origin_requests)" 1
check "origin: conditional, answered 304" "$(awk -F'\t' '{print $3, $5}' "$ORIGIN_LOG")" "HEAD 304"
grep -q "cache hit" "$work/sn/sn.log" || fail "no cache hit logged"

# 4. A damaged supernode piece, reported by a client, is checked and the cache dropped.
resp=$(register "$ORIGIN_URL/small.bin" d1)
T2=$(jq -r .data.taskId <<<"$resp")
wait_piece "$T2" 1 10
for ((i = 0; i < 40; i++)); do # finished
	[ "$(jq -r .finished "$work/sn/repo/download/${T2:0:3}/$T2.meta" 2>/dev/null)" == true ] && break
	sleep 0.05
done
printf 'X' | dd of="$work/sn/repo/download/${T2:0:3}/$T2" bs=1 seek=1000 conv=notrunc 2>/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' "$SN_URL/peer/piece/error?taskId=$T2&range=0-$((PS - 1))&srcCid=d1&dstCid=cdnnode:127.0.0.1~$T2&dstIp=127.0.0.1&realMd5=x&expectedMd5=y&errorType=FILE_MD5_NOT_MATCH")
check "piece/error answer" "$code" 200
for ((i = 0; i < 100; i++)); do
	c=$(curl -s "$SN_URL/peer/task?srcCid=d1&taskId=$T2&status=701&result=502" | jq -r .code)
	[ "$c" == 500 ] && break
	sleep 0.05
done
check "a damaged cache fails the task" "$c" 500
grep -q "is damaged" "$work/sn/sn.log" || fail "no damage logged"
n=$(origin_requests '^/small\.bin')
check "registering again refetches" "$(jq -r .code <<<"$(register "$ORIGIN_URL/small.bin" d2)")" 200
wait_piece "$T2" 1 10
reassemble "$T2" 2 "$work/small.out"
check "the new copy is intact" "$(cmp -s "$work/small.out" "$work/www/small.bin" && echo same)" same
[ "$(origin_requests '^/small\.bin')" -gt "$n" ] || fail "no new request to the origin"

sn_stop
check "exit status" "$SN_EXIT" 0
echo "PASS: sn_resume"
