#!/bin/bash
# dfget against a real nginx origin with no supernode reachable: it falls back to the
# source (one GET, the user's headers passed on, sha256 right); --notbs fails with 1104 and
# leaves no file; a 404, a wrong --md5 and a wrong sha256 in the URL fail the same way;
# --locallimit paces a download to within 10%.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; origin_stop_all' EXIT
set -u
fail=0
www=$DG_TMP/www
mkdir -p "$www/blobs" "$DG_TMP/out"
head -c 10000000 /dev/urandom >"$www/f.bin"
sha=$(dg_sha "$www/f.bin")
cp "$www/f.bin" "$www/blobs/sha256:$sha"
bad=$(printf '%064d' 0)
cp "$www/f.bin" "$www/blobs/sha256:$bad"
origin_start "$www" 127.0.0.1 0 || exit 1
dead=127.0.0.1:1 # nothing listens there: the supernode is down
home=$(dg_home h1)
out=$DG_TMP/out/f.bin

no_leftovers() { # no output and no temporary file beside it
	local left
	left=$(ls -A "$DG_TMP/out")
	[[ -z $left ]] || { dg_fail "$1: left behind: $left"; rm -f "$DG_TMP/out"/* "$DG_TMP/out"/.??*; return 1; }
}

# 1. P2P impossible: the source, once, with the user's headers.
origin_reset_log
dg_expect 0 "from the source" -u "$ORIGIN_URL/f.bin" -o "$out" -n "$dead" --home "$home" \
	-s 0 --header "Authorization: Bearer t0ken" --header "X-Trace: 1" || fail=1
[[ -f $out && $(dg_sha "$out") == "$sha" ]] || { dg_fail "back-source output differs"; fail=1; }
origin_wait_requests 1 '^/f\.bin$' || fail=1
n=$(origin_requests '^/f\.bin$')
[[ $n == 1 ]] || { dg_fail "origin saw $n requests for f.bin, want 1"; fail=1; }
auth=$(awk -F'\t' '$4 == "/f.bin" { print $8 }' "$ORIGIN_LOG" | tail -1)
[[ $auth == 1 ]] || { dg_fail "the Authorization header did not reach the source"; fail=1; }
grep -q "P2P download failed" "$home/logs/dfclient.log" || { dg_fail "no fallback in the log"; fail=1; }
rm -f "$out"

# 2. --notbs: exit 1104, nothing at the output path.
dg_expect 1104 "--notbs" -u "$ORIGIN_URL/f.bin" -o "$out" -n "$dead" --home "$home" --notbs ||
	fail=1
no_leftovers "--notbs" || fail=1

# 3. Failures of the source itself.
dg_expect 1104 "HTTP 404" -u "$ORIGIN_URL/missing.bin" -o "$out" -n "$dead" --home "$home" ||
	fail=1
no_leftovers "404" || fail=1
dg_expect 1104 "md5" -u "$ORIGIN_URL/f.bin" -o "$out" -p source --home "$home" -s 0 \
	-m 0123456789abcdef0123456789abcdef || fail=1
no_leftovers "wrong md5" || fail=1
dg_expect 1104 "sha256" -u "$ORIGIN_URL/blobs/sha256:$bad" -o "$out" -p source \
	--home "$home" -s 0 || fail=1
no_leftovers "wrong sha256" || fail=1
dg_expect 0 "" -u "$ORIGIN_URL/blobs/sha256:$sha" -o "$out" -p source --home "$home" -s 0 ||
	fail=1
[[ $(dg_sha "$out") == "$sha" ]] || { dg_fail "blob output differs"; fail=1; }
rm -f "$out"

# 4. --locallimit 2M on 6 MiB: 3 s within 10%.
head -c $((6 << 20)) /dev/urandom >"$www/six.bin"
t0=$(date +%s%N)
dg_expect 0 "" -u "$ORIGIN_URL/six.bin" -o "$out" -p source --home "$home" -s 2M || fail=1
ms=$((($(date +%s%N) - t0) / 1000000))
echo "6 MiB at --locallimit 2M took $ms ms (want 2700-3300)"
((ms >= 2700 && ms <= 3300)) || { dg_fail "--locallimit 2M: $ms ms"; fail=1; }
cmp -s "$out" "$www/six.bin" || { dg_fail "limited download differs"; fail=1; }

[[ $fail == 0 ]] && echo "PASS: back to source"
exit $fail
