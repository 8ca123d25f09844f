#!/bin/bash
# How the supernode reaches sources: HTTPS with the task's root CAs (base64 PEM in the
# registration) or with insecure, and refused without either; a source that refuses HEAD
# (the length comes from a one-byte ranged GET); the registration's headers reaching the
# source; and the bandwidth cap on source fetches (max-bandwidth).
set -u
source "$(dirname "$0")/../lib/isolate.sh"
source "$top_srcdir/tests/lib/origin.sh"
source "$top_srcdir/tests/lib/supernode.sh"

work=$(mktemp -d /tmp/sn_source.XXXXXX)
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
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; exit 77; }

# A private CA and a certificate for 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout "$work/ca.key" \
	-out "$work/ca.pem" 2>/dev/null || fail "openssl ca"
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$work/srv.key" \
	-out "$work/srv.csr" 2>/dev/null || fail "openssl csr"
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/ext"
openssl x509 -req -in "$work/srv.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
	-CAcreateserial -days 2 -extfile "$work/ext" -out "$work/srv.pem" 2>/dev/null ||
	fail "openssl sign"

mkdir -p "$work/www"
head -c 3000000 /dev/urandom >"$work/www/a.bin"
cp "$work/www/a.bin" "$work/www/nohead.bin"
tls_port=$((20000 + RANDOM % 20000))
ORIGIN_SERVER_CONF="listen 127.0.0.1:$tls_port ssl;
ssl_certificate $work/srv.pem; ssl_certificate_key $work/srv.key;
location = /nohead.bin { if (\$request_method = HEAD) { return 405; } }" \
	origin_start "$work/www" 127.0.0.1 0 || fail origin
HTTPS="https://127.0.0.1:$tls_port"
sn_start "$work/sn" --max-bandwidth 1MB --fail-access-interval 0 || fail "supernode start"

register() { # register URL CID [EXTRA_JSON]
	jq -cn --arg u "$1" --arg c "$2" --argjson x "${3:-{\}}" \
		'{rawUrl:$u, cid:$c, ip:"127.0.0.1", port:15001, path:"/peer/file/x"} + $x' |
		curl -s -XPOST -d @- "$SN_URL/peer/registry"
}
wait_done() { # wait_done TASK SECONDS
	local i meta="$work/sn/repo/download/${1:0:3}/$1.meta"
	for ((i = 0; i < $2 * 20; i++)); do
		[ "$(jq -r .finished "$meta" 2>/dev/null)" == true ] && return 0
		sleep 0.05
	done
	fail "${1:0:12} not cached after $2 s"
}

# HTTPS: an unknown CA is refused; the task's CA or insecure is accepted.
check "https, unknown CA: 610" "$(register "$HTTPS/a.bin" c1 | jq -r .code)" 610
ca=$(base64 -w0 <"$work/ca.pem")
resp=$(register "$HTTPS/a.bin" c2 "{\"rootCAs\":[\"$ca\"]}")
check "https with the task's root CA" "$(jq -r .code <<<"$resp")" 200
check "... its length" "$(jq -r .data.fileLength <<<"$resp")" 3000000
T1=$(jq -r .data.taskId <<<"$resp")
check "https insecure (same task, answered from memory)" "$(register "$HTTPS/a.bin" c3 '{"insecure":true}' | jq -r .code)" 200

# The bandwidth cap: 3 MB at 1 MB/s takes about 3 s (the first 100 KB are a burst).
t0=$(date +%s%N)
wait_done "$T1" 20
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 2000 ] || fail "3 MB came from the source in $ms ms despite max-bandwidth 1MB"
echo "ok: the capped fetch took $ms ms"
sn_stop

# A source that refuses HEAD: the length comes from a one-byte GET; headers go along.
sn_start "$work/sn" || fail "supernode restart"
resp=$(register "$ORIGIN_URL/nohead.bin" d1 '{"headers":["Authorization: Bearer t0ken"]}')
check "HEAD refused: registration" "$(jq -r .code <<<"$resp")" 200
check "HEAD refused: length" "$(jq -r .data.fileLength <<<"$resp")" 3000000
wait_done "$(jq -r .data.taskId <<<"$resp")" 10
origin_wait_requests 3 '^/nohead\.bin' 5
check "origin: HEAD 405, GET bytes=0-0 206, GET 200" \
	"$(awk -F'\t' '$4=="/nohead.bin" {printf "%s %s %s;", $3, $5, $7}' "$ORIGIN_LOG")" \
	"HEAD 405 -;GET 206 bytes=0-0;GET 200 -;"
check "the Authorization header reached the origin every time" \
	"$(awk -F'\t' '$4=="/nohead.bin" {printf "%s", $8}' "$ORIGIN_LOG")" 111

# A download of a range (a Range header in the registration): its own task, whose content
# is that range of the source.
resp=$(register "$ORIGIN_URL/a.bin" r1 '{"headers":["Range: bytes=1000-2000999"]}')
check "ranged registration" "$(jq -r .code <<<"$resp")" 200
check "ranged length" "$(jq -r .data.fileLength <<<"$resp")" 2000000
TR=$(jq -r .data.taskId <<<"$resp")
[ "$TR" != "$T1" ] || fail "the ranged download shares the whole file's task"
wait_done "$TR" 10
curl -s -H "Range: bytes=0-4194303" "http://127.0.0.1:$SN_DL/download/${TR:0:3}/$TR" |
	tail -c +5 | head -c -1 >"$work/range.out"
check "ranged content" "$(cmp -s "$work/range.out" <(tail -c +1001 "$work/www/a.bin" | head -c 2000000) && echo same)" same
sn_stop
check "exit status" "$SN_EXIT" 0
echo "PASS: sn_source"
