#!/bin/bash
# dfdaemon as an HTTP proxy (curl -x), with a real nginx origin (plain, rate-limited, and
# TLS with its own CA) and a supernode: the regex rules send matching GETs through P2P
# (the origin serves each file once, to the supernode), forward "direct" ones, rewrite
# with redirect= and use_https; CONNECT is tunnelled untouched to hosts not listed for
# hijack, and intercepted for listed ones with a certificate minted by dfdaemon's CA
# (the requests inside follow the rules, P2P included); bad requests get 4xx/502 and the
# daemon keeps serving; beyond --max-requests a request gets 503.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
. "$top_srcdir/tests/lib/registry.sh"
NGX_PID=
SLOW_PID=
cleanup() {
	[[ -n $SLOW_PID ]] && kill "$SLOW_PID" 2>/dev/null
	_reg_kill "$NGX_PID"
	dd_stop
	dg_cleanup
	sn_stop
	reg_cleanup
}
trap cleanup EXIT
set -u
if [[ -z ${DF_ISOLATED:-} ]]; then
	echo "SKIP: needs its own mount namespace (to add host names to /etc/hosts)"
	exit 77
fi
for t in nginx openssl; do
	command -v $t >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
fail=0
check() {
	if [[ $2 != "$3" ]]; then dg_fail "$1: got '$2', want '$3'"; fail=1; else echo "ok: $1 = $2"; fi
}
T=$DG_TMP
W=$T/www
mkdir -p "$W/p2p" "$W/direct" "$T/ngx/tmp"
head -c $((5 << 20)) /dev/urandom >"$W/p2p/a.bin"
head -c $((3 << 20)) /dev/urandom >"$W/p2p/c.bin"
head -c $((1 << 20)) /dev/urandom >"$W/direct/b.bin"
head -c $((2 << 20)) /dev/urandom >"$W/slow.bin"
echo "plain text" >"$W/plain.txt"
echo "other" >"$W/other.txt"

# Host names for the TLS origin, only in this test's mount namespace.
cp /etc/hosts "$T/hosts"
echo "127.0.0.1 tunnel.example hijack.example gone.example" >>"$T/hosts"
mount --bind "$T/hosts" /etc/hosts || { echo "SKIP: cannot bind-mount /etc/hosts"; exit 77; }

# The origin's CA and certificate; dfdaemon's CA.
ossl() { openssl "$@" >/dev/null 2>&1 || { echo "openssl $1 failed" >&2; exit 1; }; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T/oca.key" -out "$T/oca.crt" -days 2 \
	-subj /CN=origin-test-ca
ossl req -newkey rsa:2048 -nodes -keyout "$T/o.key" -out "$T/o.csr" -subj /CN=tls-origin
printf 'subjectAltName=DNS:tunnel.example,DNS:hijack.example\n' >"$T/o.ext"
ossl x509 -req -in "$T/o.csr" -CA "$T/oca.crt" -CAkey "$T/oca.key" -CAcreateserial \
	-out "$T/o.crt" -days 2 -extfile "$T/o.ext"
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/dca.key" \
	-out "$T/dca.crt" -days 2 -subj /CN=dfdaemon-test-ca \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign

# nginx: plain :8080, rate-limited :8081, TLS :8443; one access log with the user agent.
cat >"$T/ngx/nginx.conf" <<NGX
daemon off;
user root root;
worker_processes 1;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log;
events {}
http {
	log_format tl '\$server_port\t\$request_method\t\$request_uri\t\$status\t\$body_bytes_sent\t\$http_user_agent';
	access_log $T/ngx/access.log tl;
	client_body_temp_path $T/ngx/tmp; proxy_temp_path $T/ngx/tmp;
	fastcgi_temp_path $T/ngx/tmp; uwsgi_temp_path $T/ngx/tmp; scgi_temp_path $T/ngx/tmp;
	server { listen 127.0.0.1:8080; root $W; }
	server { listen 127.0.0.1:8081; root $W; limit_rate 64k; }
	server { listen 127.0.0.1:8443 ssl; root $W;
		ssl_certificate $T/o.crt; ssl_certificate_key $T/o.key; }
}
NGX
nginx -p "$T/ngx" -c "$T/ngx/nginx.conf" -e "$T/ngx/error.log" &
NGX_PID=$!
_reg_wait_http http://127.0.0.1:8080/plain.txt || { echo "nginx did not start" >&2; exit 1; }
# ngx_count PORT URI UA_ERE: GETs with status 200 logged
ngx_count() {
	awk -F'\t' -v p="$1" -v u="$2" -v a="$3" '$1 == p && $2 == "GET" && $3 == u &&
		$4 == 200 && $6 ~ a { n++ } END { print n + 0 }' "$T/ngx/access.log"
}

sn_start "$T/sn" || exit 1
dd_start "$T/dd" --registry "" --node "127.0.0.1:$SN_API" \
	--rule '/direct/ direct' --rule '/p2p/' --rule 'gone\.example redirect=127.0.0.1:8080' \
	--rule 'hijack\.example:8443/plain use_https' \
	--hijack "hijack\\.example:8443 certs=$T/oca.crt" --ca-cert "$T/dca.crt" \
	--ca-key "$T/dca.key" || exit 1
px=(-s --proxy "$DD_URL")

# Rules: P2P, direct, no rule, redirect, use_https
for i in 1 2; do
	curl "${px[@]}" -o "$T/a$i" http://127.0.0.1:8080/p2p/a.bin || { dg_fail "p2p GET $i"; fail=1; }
	cmp -s "$T/a$i" "$W/p2p/a.bin" || { dg_fail "p2p GET $i: content differs"; fail=1; }
done
check "origin GETs of a.bin by the supernode" "$(ngx_count 8080 /p2p/a.bin '^dragonfly-c')" 1
check "origin GETs of a.bin by anyone else" "$(ngx_count 8080 /p2p/a.bin '^curl')" 0
check "P2P downloads" "$(dd_stat p2p_started)" 1
curl "${px[@]}" -o "$T/b" http://127.0.0.1:8080/direct/b.bin && cmp -s "$T/b" "$W/direct/b.bin" ||
	{ dg_fail "direct rule"; fail=1; }
check "direct: origin GETs by the client" "$(ngx_count 8080 /direct/b.bin '^curl')" 1
check "no rule: forwarded" "$(curl "${px[@]}" http://127.0.0.1:8080/other.txt)" other
check "redirect rule" "$(curl "${px[@]}" http://gone.example/plain.txt)" "plain text"
check "use_https rule" "$(curl "${px[@]}" http://hijack.example:8443/plain.txt)" "plain text"
# (redirect and use_https rules are not "direct": those GETs went through P2P, so the
# supernode fetched them, over https for use_https, trusting the CA given for that host)
check "use_https: the supernode fetched over TLS" "$(ngx_count 8443 /plain.txt '^dragonfly-c')" 1
check "P2P downloads after the rewriting rules" "$(dd_stat p2p_started)" 3

# CONNECT to a host not listed: a plain tunnel, the origin's own certificate.
check "tunnel" "$(curl "${px[@]}" --cacert "$T/oca.crt" https://tunnel.example:8443/plain.txt)" \
	"plain text"
check "tunnels" "$(dd_stat tunnels)" 1
# CONNECT to a hijacked host: our CA's certificate, and the rules apply inside (P2P).
curl "${px[@]}" --cacert "$T/dca.crt" -o "$T/c" https://hijack.example:8443/p2p/c.bin &&
	cmp -s "$T/c" "$W/p2p/c.bin" || { dg_fail "hijacked P2P GET"; fail=1; }
check "hijacked sessions" "$(dd_stat hijacked)" 1
check "P2P downloads after the hijacked GET" "$(dd_stat p2p_started)" 4
check "TLS origin GETs of c.bin by the supernode" "$(ngx_count 8443 /p2p/c.bin '^dragonfly-c')" 1
check "TLS origin GETs of c.bin by anyone else" "$(ngx_count 8443 /p2p/c.bin '^curl')" 0
curl "${px[@]}" --cacert "$T/oca.crt" -o /dev/null https://hijack.example:8443/plain.txt &&
	{ dg_fail "a hijacked host showed the origin's certificate"; fail=1; }
check "fallbacks" "$(dd_stat fallbacks)" 0

# Bad requests: 4xx or 502, and the daemon goes on.
check "CONNECT to a closed port" "$(curl "${px[@]}" -o /dev/null -w '%{http_connect}' \
	https://127.0.0.1:1/)" 502
exec 3<>"/dev/tcp/127.0.0.1/$DD_PORT"
printf 'CONNECT nohost HTTP/1.1\r\n\r\n' >&3
read -r -t 5 line <&3
exec 3<&-
check "CONNECT without a port" "${line:0:12}" "HTTP/1.1 400"
exec 3<>"/dev/tcp/127.0.0.1/$DD_PORT"
printf 'GET http://bad_url:99999/ HTTP/1.1\r\nHost: x\r\n\r\n' >&3
read -r -t 5 line <&3
exec 3<&-
check "a bad absolute URL" "${line:0:10}" "HTTP/1.1 4"
check "still serving" "$(curl -s "$DD_URL/_dfdaemon/ping")" OK

# Beyond --max-requests: 503 (a slow download holds the only slot).
dd_stop
dd_start "$T/dd2" --registry "" --node "127.0.0.1:$SN_API" --max-requests 1 || exit 1
curl -s --proxy "$DD_URL" -o /dev/null http://127.0.0.1:8081/slow.bin &
SLOW_PID=$!
for ((i = 0; i < 100; i++)); do
	[[ $(dd_stat active) == 1 ]] && break
	sleep 0.05
done
check "a second request while one runs" "$(curl "${px[@]/$DD_URL/}" --proxy "$DD_URL" \
	-o /dev/null -w '%{http_code}' http://127.0.0.1:8080/plain.txt)" 503
check "rejected" "$(dd_stat rejected)" 1
kill "$SLOW_PID" 2>/dev/null
wait "$SLOW_PID" 2>/dev/null
SLOW_PID=
for ((i = 0; i < 100; i++)); do
	[[ $(dd_stat active) == 0 ]] && break
	sleep 0.05
done
check "served again once it ended" "$(curl -s --proxy "$DD_URL" http://127.0.0.1:8080/plain.txt)" \
	"plain text"
dd_stop
((DD_BAD == 0)) || fail=1
exit $fail
