#!/bin/bash
# tests/e2e/hostile_http.sh -- hostile HTTP against the supernode's API and piece ports and
# a dfget uploader, on the testbed (hosts: origin, supernode, a peer, a good client, an
# evil client), with tests/tools/hostileclient:
#   1. malformed requests (no request line, an unknown HTTP version, a header without a
#      colon, a NUL in the path, a negative or doubled Content-Length, bad chunking,
#      binary garbage): a 4xx/505 answer or a closed connection, never a crash;
#   2. oversized input: a 200 KB header (431), a 100 KB URL (414), a body over the cap
#      (413: 1 MiB on the API, 4 KiB on the uploader), a JSON nested 100,000 deep (400);
#   3. slow clients: the evil host holds far more idle connections than the per-IP limit
#      (an eighth of --max-connections on the supernode, 512 on the uploader), and drips
#      request heads one byte a second (slowloris): the server keeps only its per-IP share,
#      and meanwhile the good client's /_ping answers and its download is exact.
# After each part every server still answers.
# Exit 0 on success, 1 on failure, 77 (SKIP) without root, network namespaces or nginx.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/isolate.sh
. "$here/../lib/isolate.sh"
# shellcheck source=tests/lib/testbed.sh
. "$here/../lib/testbed.sh"
# shellcheck source=tests/lib/fleet.sh
. "$here/../lib/fleet.sh"
# shellcheck source=tests/lib/fault.sh
. "$here/../lib/fault.sh"
HC=${HOSTILECLIENT:-$top_builddir/tests/tools/hostileclient}

tb_check || { echo "SKIP: no testbed on this machine (see above)"; exit 77; }
_origin_nginx >/dev/null || { echo "SKIP: nginx not found (apt-get install nginx-light)"; exit 77; }
[[ -x $HC ]] || { echo "FAIL: $HC is not built"; exit 1; }
t0=$EPOCHREALTIME
tb_init || { echo "FAIL: tb_init"; exit 1; }
tb_add_host origin "$TB_ORIGIN_ADDR" 0 0 &&
	tb_add_host sn "$TB_SUPERNODE_ADDR" 0 0 &&
	tb_add_host peer "$(tb_client_addr 1)" 0 0 &&
	tb_add_host good "$(tb_client_addr 2)" 0 0 &&
	tb_add_host evil "$(tb_client_addr 3)" 0 0 || { echo "FAIL: tb_add_host"; exit 1; }
www=$TB_DIR/www
mkdir -p "$www" "$TB_DIR/out"
SIZE=$((12 << 20))
head -c "$SIZE" /dev/urandom >"$www/f.bin"
sha=$(rl_sha "$www/f.bin")
tb_origin_start origin "$www" 80 || { echo "FAIL: origin"; exit 1; }
MAXC=256
fl_sn_start sn "$TB_DIR/sn" --max-connections $MAXC || { echo "FAIL: supernode"; exit 1; }
node=$(fl_sn_node sn)
SNA=$(tb_addr sn)
API=${FL_SN_API[sn]}
DL=$(sed -n 's/^supernode ready: .*download_port=\([0-9]*\).*/\1/p' "$TB_DIR/sn/sn.log")
# The peer downloads the file: its uploader serves it from now on.
rl_expect peer 0 "" -u "$ORIGIN_URL/f.bin" -o "$TB_DIR/out/peer.bin" -n "$node" \
	--home "$TB_DIR/hpeer" --notbs --alivetime 10m || { echo "FAIL: the peer's download"; exit 1; }
UP=$(_fl_upport "$TB_DIR/hpeer")
PA=$(tb_addr peer)
echo "hostile HTTP: API $SNA:$API, pieces $SNA:$DL, uploader $PA:$UP"

# raw HOST ADDR PORT REQUEST [hostileclient args]: print the answer's status line.
raw() {
	local host=$1 addr=$2 port=$3 req=$4
	shift 4
	printf '%b' "$req" | tb_exec "$host" "$HC" raw -a "$addr" -p "$port" -t "${RAW_T:-10}" "$@" |
		head -n 1
}
# expect NAME ERE HOST ADDR PORT REQUEST [args]: the status line matches ERE.
expect() {
	local name=$1 ere=$2 got
	shift 2
	got=$(raw "$@")
	if [[ $got =~ $ere ]]; then
		rl_ok "$name: $got"
	else
		rl_bad "$name: got '$got', want /$ere/"
	fi
}
alive() { # every server answers the good client
	local got
	got=$(tb_exec good curl -s --noproxy '*' --max-time 5 "http://$SNA:$API/_ping")
	[[ $got == OK ]] || rl_bad "the API does not answer after $1 ($got)"
	got=$(tb_exec good curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' \
		"http://$SNA:$DL/download/000/0")
	[[ $got == 404 ]] || rl_bad "the piece port does not answer after $1 ($got)"
	got=$(tb_exec good curl -s --noproxy '*' --max-time 5 "http://$PA:$UP/server/ping")
	[[ $got == success ]] || rl_bad "the uploader does not answer after $1 ($got)"
	kill -0 "${FL_SN_PID[sn]}" 2>/dev/null || rl_bad "the supernode died during $1"
}

FOURXX='^HTTP/1\.[01] 4[0-9][0-9] '
CLOSED_OR_4XX='^(HTTP/1\.[01] 4[0-9][0-9] |none)'
echo "-- 1. malformed requests"
for target in "API $SNA $API" "pieces $SNA $DL" "uploader $PA $UP"; do
	read -r name addr port <<<"$target"
	# (none: no answer within 3 s; the connection is the client's own loss)
	RAW_T=3 expect "$name, no request line" "$CLOSED_OR_4XX" evil "$addr" "$port" 'HELLO\r\n\r\n'
	expect "$name, HTTP/9.9" '^HTTP/1\.[01] (505|400) ' evil "$addr" "$port" 'GET / HTTP/9.9\r\nHost: x\r\n\r\n'
	expect "$name, header without colon" "$FOURXX" evil "$addr" "$port" 'GET / HTTP/1.1\r\nHost: x\r\nJunk\r\n\r\n'
	RAW_T=3 expect "$name, NUL in the path" "$CLOSED_OR_4XX" evil "$addr" "$port" 'GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n'
	expect "$name, negative Content-Length" "$FOURXX" evil "$addr" "$port" 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n'
	expect "$name, two Content-Lengths" "$FOURXX" evil "$addr" "$port" 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg'
	expect "$name, bad chunk size" "$FOURXX" evil "$addr" "$port" 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'
	RAW_T=3 expect "$name, binary garbage" "$CLOSED_OR_4XX" evil "$addr" "$port" "$(head -c 3000 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/../\\x&/g')"
	alive "malformed requests to the $name port"
done

echo "-- 2. oversized input"
for target in "API $SNA $API" "pieces $SNA $DL" "uploader $PA $UP"; do
	read -r name addr port <<<"$target"
	expect "$name, a 200 KB header" '^HTTP/1\.[01] 431 ' evil "$addr" "$port" 'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' -s 200000
	expect "$name, a 100 KB URL" '^HTTP/1\.[01] 414 ' evil "$addr" "$port" "GET /$(head -c 100000 /dev/zero | tr '\0' a) HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
done
expect "API, a 3 MB registration" '^HTTP/1\.[01] 413 ' evil "$SNA" "$API" 'POST /peer/registry HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n' -s 3000000
expect "uploader, a 100 KB body" '^HTTP/1\.[01] 413 ' evil "$PA" "$UP" 'POST /server/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' -s 100000
deep=$(head -c 100000 /dev/zero | tr '\0' '[')$(head -c 100000 /dev/zero | tr '\0' ']')
expect "API, JSON nested 100,000 deep" "$FOURXX" evil "$SNA" "$API" "POST /peer/registry HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: 200000\\r\\n\\r\\n$deep"
alive "oversized input"

echo "-- 3. slow clients"
# hold NAME ADDR PORT PING_PATH N LIMIT [DRIP]: evil holds N connections for 6 s (idle, or
# dripping a request head); meanwhile the good client asks that server for PING_PATH and
# downloads. The server keeps at most LIMIT of the evil host's connections.
hold() {
	local name=$1 addr=$2 port=$3 ping=$4 n=$5 limit=$6 drip=${7:-0} pid got o
	tb_spawn evil "$TB_DIR/hold.$name" "$HC" hold -a "$addr" -p "$port" -n "$n" -t 6 -d "$drip"
	pid=$TB_LAST_PID
	sleep 2 # let the evil host open its connections (nothing to wait for on our side)
	got=$(tb_exec good curl -s --noproxy '*' --max-time 3 -o /dev/null -w '%{http_code} %{time_total}' \
		"http://$addr:$port$ping")
	[[ $got == [24]0* ]] && rl_ok "$name: $ping answered during the siege (${got% *}, ${got#* } s)" ||
		rl_bad "$name: $ping during the siege: '$got'"
	o=$TB_DIR/out/good.$name
	rl_expect good 0 "" -u "$ORIGIN_URL/f.bin" -o "$o" -n "$node" --home "$TB_DIR/hgood.$name" --notbs -s 0 &&
		[[ $(rl_sha "$o") == "$sha" ]] && rl_ok "$name: a download during the siege is exact"
	tb_wait "$pid" 20
	got=$(cat "$TB_DIR/hold.$name")
	if [[ $got =~ open=([0-9]+) ]] && ((BASH_REMATCH[1] <= limit)); then
		rl_ok "$name: $n connections attempted, the server kept ${BASH_REMATCH[1]} (limit $limit): $got"
	else
		rl_bad "$name: $got (want open <= $limit)"
	fi
	alive "$name"
}
hold "API, idle" "$SNA" "$API" /_ping 400 $((MAXC / 8))
hold "pieces, slowloris" "$SNA" "$DL" /download/000/0 400 $((MAXC / 8)) 1
hold "uploader, idle" "$PA" "$UP" /server/ping 700 512

fl_sn_stop sn
grep -E "Sanitizer|runtime error:" "$TB_DIR/sn/sn.log" >/dev/null &&
	rl_bad "sanitizer reports in the supernode's log"
printf 'hostile HTTP: %d failure(s), %.1f s\n' "$RL_FAILS" "$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { print a - b }')"
((RL_FAILS == 0))
