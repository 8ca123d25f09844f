#!/bin/bash
# Failures that P2P must survive or report, with real processes:
#   a peer that serves corrupt pieces: the client catches the md5 mismatch, reports it
#   (the supernode logs FILE_MD5_NOT_MATCH and isolates that peer), fetches the pieces
#   elsewhere and ends with the right file;
#   a peer whose uploader crashed: the others still finish by P2P;
#   a source that needs credentials: without them exit 1103 (no fall back to the source),
#   with --header 'Authorization: ...' the supernode fetches it and the download works.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT
set -u
fail=0
M=$((1 << 20))
www=$DG_TMP/www
mkdir -p "$www/secret" "$DG_TMP/out"
head -c $((16 * M)) /dev/urandom >"$www/f.bin"
head -c $((3 * M)) /dev/urandom >"$www/secret/s.bin"
sha=$(dg_sha "$www/f.bin")
ORIGIN_SERVER_CONF='location /secret/ { if ($http_authorization != "Bearer let-me-in") { return 401; } }' \
	origin_start "$www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" || exit 1
node=$(dg_node)

# 1. A corrupt peer.
bad=$(dg_home bad)
dg_expect 0 "" -u "$ORIGIN_URL/f.bin" -o "$DG_TMP/out/a" -n "$node" --home "$bad" --notbs ||
	fail=1
data=$(ls "$bad"/data/*)
# overwrite every piece's middle with junk; the uploader serves what the file holds
for ((off = 1 << 20; off < 16 * M; off += 2 * M)); do
	head -c 4096 /dev/urandom | dd of="$data" bs=4096 seek=$((off / 4096)) conv=notrunc status=none
done
good=$(dg_home good)
dg_expect 0 "" -u "$ORIGIN_URL/f.bin" -o "$DG_TMP/out/b" -n "$node" --home "$good" --notbs ||
	fail=1
[[ $(dg_sha "$DG_TMP/out/b") == "$sha" ]] || { dg_fail "the download took corrupt data"; fail=1; }
grep -q "md5 .*, want" "$good/logs/dfclient.log" ||
	{ dg_fail "the client never met the corrupt peer (no md5 mismatch logged)"; fail=1; }
grep -q "reports FILE_MD5_NOT_MATCH" "$SN_HOME/sn.log" ||
	{ dg_fail "the supernode heard of no md5 mismatch"; fail=1; }

# 2. A peer that crashed (its uploader killed: no service/down): downloads still finish by
#    P2P, the dead peer reported as having nothing.
crash=$(dg_home crash)
dg_expect 0 "" -u "$ORIGIN_URL/f.bin" -o "$DG_TMP/out/c" -n "$node" --home "$crash" --notbs ||
	fail=1
kill -KILL "$(cat "$crash/meta/uploader.pid")"
for i in 1 2 3; do
	h=$(dg_home after$i)
	dg_expect 0 "" -u "$ORIGIN_URL/f.bin" -o "$DG_TMP/out/after$i" -n "$node" --home "$h" \
		--notbs || fail=1
	[[ $(dg_sha "$DG_TMP/out/after$i") == "$sha" ]] || { dg_fail "after$i differs"; fail=1; }
	if grep -q "Couldn.t connect" "$h/logs/dfclient.log"; then
		met=1
		grep -q "reports FILE_NOT_EXIST" "$SN_HOME/sn.log" ||
			{ dg_fail "a dead peer was not reported"; fail=1; }
	fi
done
if [[ -n ${met:-} ]]; then
	echo "the crashed peer was met and reported"
else
	echo "the supernode sent nobody to the crashed peer"
fi

# 3. A source that needs credentials.
dg_expect 1103 "credentials" -u "$ORIGIN_URL/secret/s.bin" -o "$DG_TMP/out/s" -n "$node" \
	--home "$good" || fail=1
[[ ! -e $DG_TMP/out/s ]] || { dg_fail "exit 1103 left a file"; fail=1; }
dg_expect 0 "" -u "$ORIGIN_URL/secret/s.bin" -o "$DG_TMP/out/s" -n "$node" --home "$good" \
	--header "Authorization: Bearer let-me-in" --notbs || fail=1
cmp -s "$DG_TMP/out/s" "$www/secret/s.bin" || { dg_fail "the secret file differs"; fail=1; }

[[ $fail == 0 ]] && echo "PASS: corrupt peer, crashed peer and authentication"
exit $fail
