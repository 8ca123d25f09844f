#!/bin/bash
# Supernode failover with real processes: a node list whose heavy first choice is down
# moves the download to the next supernode (still P2P, not the source); a supernode
# killed in the middle of a download moves it to the other one, which finishes it, pieces
# already verified are kept; with every supernode down and --notbs the download fails 1104.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
A_PID= B_PID=
stop_all() {
	local p
	for p in $A_PID $B_PID; do
		SN_PID=$p sn_stop
	done
}
trap 'dg_cleanup; stop_all; origin_stop_all' EXIT
set -u
fail=0
M=$((1 << 20))
www=$DG_TMP/www
mkdir -p "$www" "$DG_TMP/out"
head -c $((20 * M)) /dev/urandom >"$www/f.bin"
sha=$(dg_sha "$www/f.bin")
origin_start "$www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/snA" || exit 1
A_PID=$SN_PID A=$SN_API
SN_PID=
sn_start "$DG_TMP/snB" || exit 1
B_PID=$SN_PID B=$SN_API
dead=127.0.0.1:1

# 1. The first choice is down (weight 1000 against 1): on to the next, twice.
for i in 1 2; do
	home=$(dg_home dead$i)
	dg_expect 0 "from peers" -u "$ORIGIN_URL/f.bin" -o "$DG_TMP/out/d$i" \
		-n "$dead=1000,127.0.0.1:$B=1" --home "$home" -s 0 --notbs || fail=1
	[[ $(dg_sha "$DG_TMP/out/d$i") == "$sha" ]] || { dg_fail "d$i differs"; fail=1; }
	grep -q "supernode $dead failed" "$home/logs/dfclient.log" && moved=1
done
[[ ${moved:-0} == 1 ]] || { dg_fail "no download tried the dead supernode first"; fail=1; }

# 2. A dies mid-download (4 MB/s, 5 s): B takes over, the pieces already here stay.
home=$(dg_home mid)
DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$ORIGIN_URL/f.bin" -o "$DG_TMP/out/mid" \
	-n "127.0.0.1:$A=1000,127.0.0.1:$B=1" --home "$home" -s 4M --notbs 2>"$DG_TMP/mid.err" &
pid=$!
# wait (bounded) until it registered with A and has some pieces, then kill A
for ((i = 0; i < 100; i++)); do
	grep -q "registered with 127.0.0.1:$A" "$home/logs/dfclient.log" 2>/dev/null && break
	sleep 0.05
done
grep -q "registered with 127.0.0.1:$A" "$home/logs/dfclient.log" ||
	{ dg_fail "the download did not register with A"; fail=1; }
sleep 1.5
SN_PID=$A_PID sn_kill
A_PID=
rc=0
wait $pid || rc=$?
[[ $rc == 0 ]] || { dg_fail "download across the failover exited $rc: $(cat "$DG_TMP/mid.err")"; fail=1; }
[[ $(dg_sha "$DG_TMP/out/mid") == "$sha" ]] || { dg_fail "mid differs"; fail=1; }
grep -q "from peers" "$DG_TMP/mid.err" || { dg_fail "not finished by P2P: $(cat "$DG_TMP/mid.err")"; fail=1; }
grep -q "registered with 127.0.0.1:$B" "$home/logs/dfclient.log" ||
	{ dg_fail "the download did not move to B"; fail=1; }

# 3. Every supernode down, --notbs: 1104 and no file.
SN_PID=$B_PID sn_stop
B_PID=
dg_expect 1104 "no supernode could serve the download" -u "$ORIGIN_URL/f.bin" \
	-o "$DG_TMP/out/none" -n "$dead,127.0.0.1:$B" --home "$(dg_home none)" --notbs || fail=1
[[ ! -e $DG_TMP/out/none ]] || { dg_fail "a failed download left its file"; fail=1; }

[[ $fail == 0 ]] && echo "PASS: supernode failover"
exit $fail
