#!/bin/bash
# The whole legacy protocol against a real supernode and a real nginx origin, with curl as
# the client: register, pull piece tasks, fetch each piece from the piece port, verify its
# md5 against pieceMd5, report piece/suc and the next pull, finish; the reassembled content
# must equal the source. Then: a second registration of the same URL (as a form) is a cache
# hit (nginx saw one GET), the second client is sent to the first as a peer, failures
# against that peer isolate it, and the last reports answer as the spec says. Last, on a
# second supernode: pieces that clients moved from another supernode report before this
# one has cached them are handed out only once cached, with their md5.
set -u
source "$(dirname "$0")/../lib/isolate.sh"
source "$top_srcdir/tests/lib/origin.sh"
source "$top_srcdir/tests/lib/supernode.sh"

work=$(mktemp -d /tmp/sn_protocol.XXXXXX)
trap 'sn_stop; origin_stop_all; rm -rf "$work"' EXIT
fail() {
	echo "FAIL: $*"
	[ -f "${SN_HOME:-$work/sn}/sn.log" ] && tail -n 30 "${SN_HOME:-$work/sn}/sn.log"
	exit 1
}
check() { # check DESCRIPTION ACTUAL EXPECTED
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}

mkdir -p "$work/www"
size=$((2 * (4194304 - 5) + 12345)) # two full pieces and a short third
head -c "$size" /dev/urandom >"$work/www/blob.bin"
src_md5=$(md5sum <"$work/www/blob.bin" | cut -d' ' -f1)
src_sha=$(sha256sum <"$work/www/blob.bin" | cut -d' ' -f1)
origin_start "$work/www" 127.0.0.1 0 || fail "origin"
sn_start "$work/sn" --fail-limit 2 || fail "supernode start"
URL="$ORIGIN_URL/blob.bin?token=abc"

check "ping" "$(curl -s "$SN_URL/_ping")" "OK"
check "version" "$(curl -s "$SN_URL/version" | jq -r .program)" "supernode"

reg_json() { # reg_json CID PORT
	jq -cn --arg u "$URL" --arg c "$1" --argjson p "$2" \
		'{rawUrl:$u, taskUrl:$u, cid:$c, ip:"127.0.0.1", hostName:"h", port:$p,
		  path:("/peer/file/blob-" + $c), version:"1.0.6", pattern:"p2p",
		  headers:["X-Test: 1"]}'
}

# 1. Register.
reg=$(curl -s -XPOST -H 'Content-Type: application/json' -d "$(reg_json c1 15001)" \
	"$SN_URL/peer/registry")
check "register code" "$(jq -r .code <<<"$reg")" 200
TASK=$(jq -r .data.taskId <<<"$reg")
check "register fileLength" "$(jq -r .data.fileLength <<<"$reg")" "$size"
check "register pieceSize" "$(jq -r .data.pieceSize <<<"$reg")" 4194304
check "register cdnSource" "$(jq -r .data.cdnSource <<<"$reg")" supernode
[[ $TASK =~ ^[0-9a-f]{64}$ ]] || fail "taskId '$TASK'"

# 2. Pull, fetch, verify, report, until finish.
pull() { # pull CID STATUS RESULT RANGE DSTCID
	curl -s "$SN_URL/peer/task?srcCid=$1&dstCid=$5&range=$2&result=$3&status=$4&taskId=$TASK"
}
mkdir -p "$work/pieces"
status=700 result=502 range= dst=
finished=
for ((round = 0; round < 40; round++)); do
	resp=$(pull c1 "$range" "$result" "$status" "$dst")
	code=$(jq -r .code <<<"$resp")
	status=701 range= result=502 dst=
	if [ "$code" == 600 ]; then
		finished=$resp
		break
	fi
	[ "$code" == 602 ] && continue
	[ "$code" == 601 ] || fail "pull answered $resp"
	n=$(jq '.data | length' <<<"$resp")
	for ((i = 0; i < n; i++)); do
		item=$(jq -c ".data[$i]" <<<"$resp")
		num=$(jq -r .pieceNum <<<"$item")
		r=$(jq -r .range <<<"$item")
		pmd5=$(jq -r .pieceMd5 <<<"$item")
		cid=$(jq -r .cid <<<"$item")
		[ "$cid" == "cdnnode:127.0.0.1~$TASK" ] || fail "piece source cid '$cid'"
		[ "$(jq -r .peerPort <<<"$item")" == "$SN_DL" ] || fail "peerPort of $item"
		[ "$(jq -r .pieceSize <<<"$item")" == 4194304 ] || fail "pieceSize of $item"
		[ "$r" == "$((num * 4194304))-$((num * 4194304 + 4194303))" ] || fail "range $r"
		url="http://$(jq -r .peerIp <<<"$item"):$(jq -r .peerPort <<<"$item")$(jq -r .path <<<"$item")"
		http=$(curl -s -o "$work/pieces/$num" -w '%{http_code}' -H "Range: bytes=$r" \
			-H "pieceNum: $num" -H "pieceSize: 4194304" "$url")
		[ "$http" == 206 ] || fail "piece $num: HTTP $http"
		got="$(md5sum <"$work/pieces/$num" | cut -d' ' -f1):$(stat -c %s "$work/pieces/$num")"
		[ "$got" == "$pmd5" ] || fail "piece $num: md5:len $got, pieceMd5 $pmd5"
		suc=$(curl -s "$SN_URL/peer/piece/suc?taskId=$TASK&cid=c1&dstCid=$cid&pieceRange=$r")
		[ "$(jq -r .code <<<"$suc")" == 611 ] || fail "piece/suc answered $suc"
		range=$r result=503 dst=$cid
	done
done
[ -n "$finished" ] || fail "no finish after 40 pulls"
check "finish md5" "$(jq -r .data.md5 <<<"$finished")" "$src_md5"
check "finish fileLength (framed)" "$(jq -r .data.fileLength <<<"$finished")" $((size + 15))

# 3. Reassemble: strip each piece's 4-byte header and 1-byte trailer.
: >"$work/out.bin"
for num in 0 1 2; do
	[ "$(tail -c 1 "$work/pieces/$num" | od -An -tx1 | tr -d ' ')" == 7f ] ||
		fail "piece $num trailer"
	tail -c +5 "$work/pieces/$num" | head -c -1 >>"$work/out.bin"
done
check "reassembled sha256" "$(sha256sum <"$work/out.bin" | cut -d' ' -f1)" "$src_sha"
# Piece 2's header: content length | pieceSize << 4.
want=$(printf '%08x' $(((size - 2 * 4194299) | (4194304 << 4))))
check "framing header of the last piece" "$(head -c 4 "$work/pieces/2" | od -An -tx1 | tr -d ' \n')" "$want"

# 4. The same URL again, as a form, from another client: answered from memory.
reg2=$(curl -s -XPOST --data-urlencode "rawUrl=$URL" --data-urlencode "taskUrl=$URL" \
	-d cid=c2 -d ip=127.0.0.1 -d port=15002 -d path=/peer/file/blob-c2 "$SN_URL/peer/registry")
check "second registration (form) code" "$(jq -r .code <<<"$reg2")" 200
check "second registration taskId" "$(jq -r .data.taskId <<<"$reg2")" "$TASK"
origin_wait_requests 2 '^/blob\.bin' 5 >/dev/null 2>&1
check "origin GETs of the file" "$(awk -F'\t' '$3=="GET" && $4 ~ /^\/blob.bin/' "$ORIGIN_LOG" | wc -l)" 1
check "origin requests of the file" "$(origin_requests '^/blob\.bin')" 2

# 5. c2 is sent to c1 (it holds everything and serves it) rather than to the supernode.
resp=$(pull c2 "" 502 700 "")
check "c2 pull code" "$(jq -r .code <<<"$resp")" 601
check "c2 sources" "$(jq -r '[.data[].cid] | unique | join(",")' <<<"$resp")" c1
check "c2 peer port" "$(jq -r '.data[0].peerPort' <<<"$resp")" 15001
check "c2 peer path" "$(jq -r '.data[0].path' <<<"$resp")" /peer/file/blob-c1
# c1 "fails" twice (fail-limit 2): isolated, then c2 gets the supernode.
r0=$(jq -r '.data[0].range' <<<"$resp")
resp=$(pull c2 "$r0" 500 701 c1)
r1=$(jq -r '.data[0].range' <<<"$resp")
resp=$(pull c2 "$r1" 500 701 c1)
check "after isolation, sources" "$(jq -r '[.data[].cid] | map(startswith("cdnnode:")) | all' <<<"$resp")" true
grep -q "isolated after 2 failed uploads" "$work/sn/sn.log" || fail "no isolation logged"
echo "ok: isolation logged"

# 6. status 702 ends the task; service/down; reports about unknown things.
resp=$(pull c2 "" 501 702 "")
check "702 answer" "$(jq -r .code <<<"$resp")" 600
check "702 md5" "$(jq -r .data.md5 <<<"$resp")" "$src_md5"
check "service/down" "$(curl -s "$SN_URL/peer/service/down?taskId=$TASK&cid=c1" | jq -r .code)" 612
code=$(curl -s -o /dev/null -w '%{http_code}' "$SN_URL/peer/piece/suc?taskId=$(printf 'a%.0s' {1..64})&cid=c1&dstCid=x&pieceRange=0-4194303")
check "piece/suc for an unknown task: HTTP" "$code" 500
check "pull of an unknown client" "$(pull nobody "" 502 700 "" | jq -r .code)" 502
check "metrics report" "$(curl -s -XPOST -d "{\"taskId\":\"$TASK\",\"success\":true,\"fileLength\":$size}" "$SN_URL/task/metrics" | jq -r .code)" 200

sn_stop
check "exit status after SIGTERM" "$SN_EXIT" 0

# 7. Clients that moved here from another supernode report pieces they fetched there, before
# this supernode's CDN (slowed to 4 MB/s) has cached them: the pieces are handed out only
# with their md5, that is once cached (a peer's piece without it crashed the supernode).
sn_start "$work/sn2" --max-bandwidth 4MB || fail "second supernode"
URL="$ORIGIN_URL/blob.bin?moved=1"
reg=$(curl -s -XPOST -H 'Content-Type: application/json' -d "$(reg_json m1 15011)" \
	"$SN_URL/peer/registry")
TASK=$(jq -r .data.taskId <<<"$reg")
[[ $TASK =~ ^[0-9a-f]{64}$ ]] || fail "moved client's registration: $reg"
reg=$(curl -s -XPOST -H 'Content-Type: application/json' -d "$(reg_json m2 15012)" \
	"$SN_URL/peer/registry")
check "second moved client registered" "$(jq -r .code <<<"$reg")" 200
suc=$(curl -s "$SN_URL/peer/piece/suc?taskId=$TASK&cid=m1&dstCid=elsewhere&pieceRange=8388608-12582911")
check "a moved client reports a piece fetched elsewhere" "$(jq -r .code <<<"$suc")" 611
seen=
status=700
for ((round = 0; round < 20; round++)); do
	resp=$(pull m2 "" 502 "$status" "")
	status=701
	code=$(jq -r .code <<<"$resp" 2>/dev/null) || fail "pull of a moved client: '$resp'"
	[ "$code" == 602 ] && continue
	[ "$code" == 601 ] || fail "pull of a moved client answered $resp"
	bad=$(jq -r '.data[] | select(.pieceMd5 | test("^[0-9a-f]{32}:[0-9]+$") | not) | .range' <<<"$resp")
	[ -z "$bad" ] || fail "pieces handed out without their md5: $bad ($resp)"
	seen+=" $(jq -r '[.data[].pieceNum | tostring] | join(" ")' <<<"$resp")"
	[[ " $seen " == *" 2 "* ]] && break
done
[[ " $seen " == *" 2 "* ]] || fail "piece 2 never handed out (got:$seen)"
echo "ok: pieces a moved client holds are handed out once cached, with their md5 (got:$seen)"
check "the supernode still answers" "$(curl -s "$SN_URL/_ping")" "OK"
sn_stop
check "second supernode's exit status" "$SN_EXIT" 0
echo "PASS: sn_protocol"
