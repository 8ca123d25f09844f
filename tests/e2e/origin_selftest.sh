#!/bin/bash
# tests/e2e/origin_selftest.sh -- checks tests/lib/origin.sh on loopback: nginx comes up on a
# port of its own, serves whole files, ranges (206 with the right bytes), HEAD and
# conditional requests, logs what the tests count, runs as several instances, and stops.
# Exit 0 on success, 1 on failure, 77 (SKIP) without root or nginx.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/isolate.sh
. "$here/../lib/isolate.sh"
# shellcheck source=tests/lib/origin.sh
. "$here/../lib/origin.sh"

for c in curl sha256sum; do
	command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c not found"; exit 77; }
done
_origin_nginx >/dev/null || { echo "SKIP: nginx not found (apt-get install nginx-light)"; exit 77; }

t0=$EPOCHREALTIME
failures=0
work=$(mktemp -d "${TMPDIR:-/tmp}/origin_selftest.XXXXXX")
trap 'origin_stop_all; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ok() { printf '  ok    %s\n' "$*"; }
bad() { printf '  FAIL  %s\n' "$*"; failures=$((failures + 1)); }
# expect WHAT GOT WANT
expect() { if [[ $2 == "$3" ]]; then ok "$1 ($2)"; else bad "$1: got '$2', want '$3'"; fi; }

curl_() { curl -s --noproxy '*' --max-time 10 "$@"; }

size=1048576
mkdir -p "$work/www/sub"
head -c "$size" /dev/urandom >"$work/www/a.bin"
echo hello >"$work/www/sub/b.txt"

echo "origin.sh self-test"
if ! origin_start "$work/www" 127.0.0.1 0; then
	echo "FAIL: origin_start"
	exit 1
fi
ok "origin_start: $ORIGIN_URL (pid $ORIGIN_PID)"
url=$ORIGIN_URL
if ! tr '\0' ' ' <"/proc/$ORIGIN_PID/cmdline" | grep -q nginx; then
	bad "ORIGIN_PID $ORIGIN_PID is not nginx"
fi

# Whole file.
got=$(curl_ "$url/a.bin" | sha256sum | cut -d' ' -f1)
expect "GET sha256" "$got" "$(sha256sum <"$work/www/a.bin" | cut -d' ' -f1)"

# Range: status, Content-Range and the bytes themselves.
code=$(curl_ -o "$work/range.out" -D "$work/range.hdr" -w '%{http_code}' -r 1000-1999 "$url/a.bin")
expect "Range status" "$code" 206
expect "Content-Range" "$(tr -d '\r' <"$work/range.hdr" | awk 'tolower($1) == "content-range:" { print $2, $3 }')" \
	"bytes 1000-1999/$size"
if cmp -s "$work/range.out" <(tail -c +1001 "$work/www/a.bin" | head -c 1000); then
	ok "Range bytes 1000-1999 match"
else
	bad "Range bytes differ"
fi

# HEAD and validators.
tr -d '\r' < <(curl_ -I "$url/a.bin") >"$work/head.hdr"
expect "HEAD status" "$(awk 'NR == 1 { print $2 }' "$work/head.hdr")" 200
expect "HEAD Content-Length" "$(awk 'tolower($1) == "content-length:" { print $2 }' "$work/head.hdr")" "$size"
etag=$(awk 'tolower($1) == "etag:" { print $2 }' "$work/head.hdr")
if grep -qi '^last-modified: ' "$work/head.hdr" && [[ -n $etag ]]; then
	ok "ETag $etag and Last-Modified present"
else
	bad "ETag or Last-Modified missing"
fi
expect "If-None-Match" "$(curl_ -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$url/a.bin")" 304
expect "Accept-Ranges" "$(awk 'tolower($1) == "accept-ranges:" { print $2 }' "$work/head.hdr")" bytes

# Authorization is logged as present, never its value; a missing file is a 404.
expect "GET with Authorization" "$(curl_ -o /dev/null -w '%{http_code}' -u user:secret "$url/sub/b.txt")" 200
expect "missing file" "$(curl_ -o "$work/404.out" -w '%{http_code}' "$url/nope")" 404

# The log: 6 requests (GET, range, HEAD, 304, auth GET, 404), readiness probe not counted.
origin_wait_requests 6 '' 5 || bad "origin_wait_requests 6"
expect "origin_requests" "$(origin_requests)" 6
expect "origin_requests '^/a\\.bin\$'" "$(origin_requests '^/a\.bin$')" 4
expect "origin_bytes_sent" "$(origin_bytes_sent)" $((size + 1000 + 6 + $(wc -c <"$work/404.out")))
line=$(awk -F'\t' '$5 == 206' "$ORIGIN_LOG")
expect "log: range field" "$(cut -f7 <<<"$line")" "bytes=1000-1999"
expect "log: 206 body bytes" "$(cut -f6 <<<"$line")" 1000
expect "log: Authorization flags" "$(cut -f8 "$ORIGIN_LOG" | tr -d '\n')" "000010"
grep -q secret "$ORIGIN_LOG" && bad "the log holds the password"
expect "log: method of HEAD" "$(awk -F'\t' '$3 == "HEAD"' "$ORIGIN_LOG" | wc -l)" 1

# A second instance, with its own port and counters.
ORIGIN_NAME=two origin_start "$work/www" 127.0.0.1 0 || bad "second origin_start"
url2=$ORIGIN_URL
if [[ $url2 != "$url" ]]; then ok "second instance at $url2"; else bad "second instance has the same URL"; fi
curl_ -o /dev/null "$url2/sub/b.txt"
ORIGIN_NAME=two origin_wait_requests 1 '' 5
expect "second instance bytes" "$(ORIGIN_NAME=two origin_bytes_sent)" 6
expect "first instance unchanged" "$(origin_requests '^/sub/')" 1
origin_reset_log
expect "origin_reset_log" "$(origin_requests)" 0

# Stop: the process goes, the port refuses, stopping again is harmless.
pid2=$ORIGIN_PID
ORIGIN_NAME=two origin_stop
ORIGIN_NAME=two origin_stop
if _origin_alive "$pid2"; then bad "nginx $pid2 still running after origin_stop"; else ok "origin_stop"; fi
curl_ -o /dev/null "$url2/" && bad "$url2 still answers"
base=$ORIGIN_BASE
origin_stop_all
if [[ -e $base ]]; then bad "origin_stop_all left $base"; else ok "origin_stop_all removed its temp dir"; fi
if pgrep -f "nginx: master process .* -p $base/" >/dev/null; then bad "nginx left running"; fi

printf 'origin.sh self-test: %d failure(s), %s s\n' "$failures" \
	"$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')"
((failures == 0))
