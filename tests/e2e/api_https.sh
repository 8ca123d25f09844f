#!/bin/bash
# HTTPS for the operators' API (GnuTLS through libmicrohttpd): a test CA and a server
# certificate made here with openssl; curl trusts the CA and reaches /api/v1, /metrics and
# the page over TLS, refuses the certificate without it; calls that change something need
# the HTTPS port (403 on the plain one, so the token never travels in clear) and the token;
# reads and the peer protocol stay on the plain port for dfget. Bad TLS settings stop the
# start with a clear message.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
work=$(mktemp -d /tmp/api_https.XXXXXX)
trap 'sn_stop; origin_stop_all; rm -rf "$work"' EXIT
set -u
TOKEN=tls-token
fail() {
	echo "FAIL: $*"
	[ -f "$work/sn/sn.log" ] && tail -n 20 "$work/sn/sn.log"
	exit 1
}
check() {
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}
SN=$top_builddir/supernode

# A CA, and a certificate for 127.0.0.1 signed by it.
cd "$work" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
	-subj /CN=dragonfly-test-ca >/dev/null 2>&1 || fail "openssl: CA"
openssl req -newkey rsa:2048 -nodes -keyout sn.key -out sn.csr -subj /CN=127.0.0.1 \
	>/dev/null 2>&1 || fail "openssl: CSR"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >ext.cnf
openssl x509 -req -in sn.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out sn.pem -days 2 \
	-extfile ext.cnf >/dev/null 2>&1 || fail "openssl: sign"
cd - >/dev/null || exit 1

sn_start "$work/sn" --tls-cert "$work/sn.pem" --tls-key "$work/sn.key" --https-port 0 \
	--api-token "$TOKEN" || exit 1
HTTPS=$(sed -n 's/.*https_port=\([0-9]*\).*/\1/p' "$work/sn/sn.out")
[ -n "$HTTPS" ] || fail "no https_port in the ready line: $(cat "$work/sn/sn.out")"
S=https://127.0.0.1:$HTTPS
echo "ok: HTTPS on port $HTTPS"

tls() { curl -s --cacert "$work/ca.pem" "$@"; }
check "summary over HTTPS" "$(tls -o /dev/null -w '%{http_code}' "$S/api/v1/summary")" 200
check "... names the HTTPS port" "$(tls "$S/api/v1/summary" | jq .httpsPort)" "$HTTPS"
check "metrics over HTTPS" "$(tls "$S/metrics" | grep -c '^dragonfly_supernode_build_info')" 1
curl -s -o /dev/null "$S/api/v1/summary"
check "without the CA, curl refuses the certificate (60)" "$?" 60
check "plain HTTP to the HTTPS port fails" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTPS/_ping")" 000

mkdir -p "$work/www"
head -c 2000 /dev/urandom >"$work/www/f.bin"
origin_start "$work/www" 127.0.0.1 0 || exit 1
body="{\"type\":\"file\",\"url\":\"$ORIGIN_URL/f.bin\"}"
check "preheat on the plain port, with the token: 403" \
	"$(curl -s -o "$work/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -d "$body" "$SN_URL/api/v1/preheats")" 403
grep -q 'HTTPS port' "$work/out" || fail "the 403 does not point to the HTTPS port: $(cat "$work/out")"
check "preheat over HTTPS without the token: 401" \
	"$(tls -o /dev/null -w '%{http_code}' -d "$body" "$S/api/v1/preheats")" 401
check "preheat over HTTPS with the token: 201" \
	"$(tls -o "$work/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -d "$body" "$S/api/v1/preheats")" 201
id=$(jq -r .ID "$work/out")
for ((i = 0; i < 200; i++)); do
	[ "$(tls "$S/api/v1/preheats/$id" | jq -r .status)" == SUCCESS ] && break
	sleep 0.05
done
check "the preheat succeeded" "$(tls "$S/api/v1/preheats/$id" | jq -r .status)" SUCCESS
check "reads stay on the plain port" "$(curl -s -o /dev/null -w '%{http_code}' "$SN_URL/api/v1/tasks")" 200
check "the peer protocol stays on the plain port" "$(curl -s "$SN_URL/_ping")" OK
sn_stop
check "exit status" "$SN_EXIT" 0

# Bad settings: a clear message and exit 1, before anything listens.
"$SN" --home-dir "$work/x" --port 0 --download-port 0 --tls-cert "$work/sn.pem" >"$work/out" 2>&1
check "cert without key: exit 1" "$?" 1
grep -q 'tls-cert and tls-key go together' "$work/out" || fail "message: $(cat "$work/out")"
"$SN" --home-dir "$work/x" --port 0 --download-port 0 --tls-cert "$work/nope.pem" --tls-key "$work/sn.key" >"$work/out" 2>&1
check "missing cert file: exit 1" "$?" 1
grep -q 'cannot read .*nope.pem' "$work/out" || fail "message: $(cat "$work/out")"
echo garbage >"$work/bad.pem"
timeout 20 "$SN" --home-dir "$work/x" --port 0 --download-port 0 --https-port 0 --tls-cert "$work/bad.pem" --tls-key "$work/sn.key" >"$work/out" 2>&1
check "a certificate that is not PEM: exit 1" "$?" 1
grep -q 'TLS certificate and key valid' "$work/out" || fail "message: $(cat "$work/out")"
echo "PASS: api_https"
