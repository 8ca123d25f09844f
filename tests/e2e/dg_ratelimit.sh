#!/bin/bash
# Bandwidth limits with real processes (supernode, nginx origin, dfget, its uploader):
#   --locallimit 4M holds for one P2P download (24 MiB in 6 s, within 10%);
#   three concurrent downloads on one host with --totallimit 8M stay together within 10%
#   of 8 MiB/s and each gets a fair share (durations within 15% of each other);
#   the host's uploader paces what it serves to other peers by the same 8M.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT
set -u
fail=0
M=$((1 << 20))
size=$((24 * M))
www=$DG_TMP/www
mkdir -p "$www" "$DG_TMP/out"
for f in f1 f2 f3; do head -c "$size" /dev/urandom >"$www/$f"; done
origin_start "$www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" || exit 1
node=$(dg_node)
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# within VALUE LOW HIGH NAME
within() {
	echo "$4: $1 (want $2..$3)"
	(($1 >= $2 && $1 <= $3)) || { dg_fail "$4 is $1, not in $2..$3"; return 1; }
}

# 1. --locallimit on one P2P download: 24 MiB at 4 MiB/s = 6 s.
t0=$(now_ms)
dg_expect 0 "from peers" -u "$ORIGIN_URL/f1" -o "$DG_TMP/out/l1" -n "$node" \
	--home "$(dg_home L)" -s 4M --notbs || fail=1
within $(($(now_ms) - t0)) 5400 6600 "ms for 24 MiB at --locallimit 4M" || fail=1
cmp -s "$DG_TMP/out/l1" "$www/f1" || { dg_fail "l1 differs"; fail=1; }

# 2. --totallimit 8M shared by three downloads of one host.
home=$(dg_home T)
pids=()
for f in f1 f2 f3; do
	(
		s=$(now_ms)
		DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$ORIGIN_URL/$f" -o "$DG_TMP/out/t$f" \
			-n "$node" --home "$home" --totallimit 8M --notbs 2>"$DG_TMP/t$f.err"
		echo "$? $s $(now_ms)" >"$DG_TMP/t$f.time"
	) &
	pids+=($!)
done
wait "${pids[@]}"
first=
last=0
for f in f1 f2 f3; do
	read -r rc s e <"$DG_TMP/t$f.time"
	[[ $rc == 0 ]] || { dg_fail "t$f exited $rc: $(cat "$DG_TMP/t$f.err")"; fail=1; }
	cmp -s "$DG_TMP/out/t$f" "$www/$f" || { dg_fail "t$f differs"; fail=1; }
	[[ -z $first || $s -lt $first ]] && first=$s
	((e > last)) && last=$e
	dur[${f#f}]=$((e - s))
done
total_ms=$((last - first))
rate=$((3 * size * 1000 / total_ms))
within "$rate" $((8 * M * 9 / 10)) $((8 * M * 11 / 10)) "bytes/s of three downloads under --totallimit 8M" ||
	fail=1
mean=$(((dur[1] + dur[2] + dur[3]) / 3))
for i in 1 2 3; do
	within "${dur[i]}" $((mean * 85 / 100)) $((mean * 115 / 100)) "ms of download $i (fair share)" ||
		fail=1
done

# 3. The uploader of that host serves peers at the same 8M: fetch every piece of one of
#    its files as a peer would (24 MiB = 7 framed pieces of 4 MiB, the last one short).
port=$(dg_uploader_port "$home")
tfn=$(curl -s --noproxy '*' "http://127.0.0.1:$port/server/stats" |
	grep -o '"taskFileName":"tf1-[^"]*"' | cut -d'"' -f4)
[[ -n $tfn ]] || { dg_fail "no task file of tf1 on the uploader"; fail=1; }
ps=$((4 * M))
t0=$(now_ms)
got=0
for ((n = 0; n < 7; n++)); do
	b=$(curl -s --noproxy '*' -o /dev/null -w '%{size_download}' \
		-H "Range: bytes=$((n * ps))-$((n * ps + ps - 1))" -H "pieceNum: $n" \
		-H "pieceSize: $ps" "http://127.0.0.1:$port/peer/file/$tfn")
	got=$((got + b))
done
ms=$(($(now_ms) - t0))
[[ $got == $((size + 7 * 5)) ]] || { dg_fail "uploader served $got bytes, want $((size + 35))"; fail=1; }
# the bucket starts with a small burst: allow 10% below and above
within "$ms" 2700 3300 "ms to serve 24 MiB under --totallimit 8M" || fail=1

[[ $fail == 0 ]] && echo "PASS: local and host-wide rate limits"
exit $fail
