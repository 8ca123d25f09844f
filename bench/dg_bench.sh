#!/bin/bash
# dfget benchmark, on loopback, in its own namespaces (run as root):
#   1. throughput: one dfget of a SIZE_MB file (default 1024) from a warm supernode (the
#      file already in its cache, no peer holding it), against curl fetching the same file
#      from the nginx origin, in the same run; the ratio dfget/curl (target >= 0.8);
#   2. dfget's peak RSS during that download (target < 32 MB), from /usr/bin/time -v;
#   3. latency: a 1 KiB file through P2P end to end (register, CDN fetch from the origin,
#      pull, piece, verify, place), median of RUNS (default 7) fresh files, on a host whose
#      uploader already runs, and once on a fresh host (target < 100 ms).
# Usage: bench/dg_bench.sh [SIZE_MB]      (after scripts/build.sh build)
# Prints the numbers and the command that produced them.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
: "${top_srcdir:=$top}"
: "${top_builddir:=$top/build}"
export top_srcdir top_builddir
if [ -z "${DF_ISOLATED:-}" ] && [ "$(id -u)" -eq 0 ]; then
	export DF_ISOLATED=1
	exec unshare -n -p -f --mount-proc -- bash "$0" "$@"
fi
[ -n "${DF_ISOLATED:-}" ] && ip link set lo up
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT

size_mb=${1:-1024}
runs=${RUNS:-7}
www=$DG_TMP/www
mkdir -p "$www" "$DG_TMP/out"
echo "== generating a $size_mb MiB file"
head -c $((size_mb << 20)) /dev/urandom >"$www/big.bin"
sha=$(dg_sha "$www/big.bin")
origin_start "$www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" || exit 1
node=$(dg_node)
now_ms() { echo $(($(date +%s%N) / 1000000)); }
sync

# -- 1. throughput
echo "== curl from nginx (best of 2)"
best_curl=0
for i in 1 2; do
	rm -f "$DG_TMP/out/curl.bin"
	bps=$(curl -s --noproxy '*' -o "$DG_TMP/out/curl.bin" -w '%{speed_download}' "$ORIGIN_URL/big.bin")
	bps=${bps%.*}
	echo "   curl run $i: $((bps >> 20)) MiB/s"
	((bps > best_curl)) && best_curl=$bps
done
rm -f "$DG_TMP/out/curl.bin"
echo "== warming the supernode (one dfget, pattern cdn: no peer keeps the file)"
dg_run -u "$ORIGIN_URL/big.bin" -o "$DG_TMP/out/warm.bin" -n "$node" --home "$(dg_home warm)" \
	-s 0 -p cdn --notbs
[[ $DG_RC == 0 ]] || { echo "warm-up failed: $DG_ERR"; exit 1; }
rm -f "$DG_TMP/out/warm.bin"
echo "== dfget from the warm supernode (best of 2)"
best_dg=0
rss=0
for i in 1 2; do
	rm -f "$DG_TMP/out/dg.bin"
	dg_stop_uploaders # the previous run's host must not serve the file as a peer
	t0=$(now_ms)
	DFGET_CONFIG=$DG_TMP/empty.conf /usr/bin/time -v -o "$DG_TMP/time.$i" "$DFGET" \
		-u "$ORIGIN_URL/big.bin" -o "$DG_TMP/out/dg.bin" -n "$node" \
		--home "$(dg_home "run$i")" -s 0 --notbs 2>"$DG_TMP/dg.$i.err"
	rc=$?
	ms=$(($(now_ms) - t0))
	[[ $rc == 0 ]] || { echo "dfget failed: $(cat "$DG_TMP/dg.$i.err")"; exit 1; }
	[[ $(dg_sha "$DG_TMP/out/dg.bin") == "$sha" ]] || { echo "dfget output differs"; exit 1; }
	bps=$(((size_mb << 20) * 1000 / ms))
	kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DG_TMP/time.$i")
	cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$DG_TMP/time.$i")
	echo "   dfget run $i: $((bps >> 20)) MiB/s, $ms ms, CPU $cpu s, peak RSS $((kb / 1024)) MiB ($(tail -1 "$DG_TMP/dg.$i.err"))"
	if ((bps > best_dg)); then
		best_dg=$bps
		best_cpu=$cpu
	fi
	((kb > rss)) && rss=$kb
done
rm -f "$DG_TMP/out/dg.bin"

# -- 3. latency of a 1 KiB file
echo "== 1 KiB through P2P, $runs fresh files, warm host"
home=$(dg_home lat)
head -c 1024 /dev/urandom >"$www/warmup.bin"
dg_run -u "$ORIGIN_URL/warmup.bin" -o "$DG_TMP/out/w" -n "$node" --home "$home" --notbs
lat=()
for ((i = 0; i < runs; i++)); do
	head -c 1024 /dev/urandom >"$www/small$i.bin"
	t0=$(date +%s%N)
	dg_run -u "$ORIGIN_URL/small$i.bin" -o "$DG_TMP/out/small$i" -n "$node" --home "$home" --notbs
	lat+=($((($(date +%s%N) - t0) / 1000)))
	[[ $DG_RC == 0 ]] || { echo "small download failed: $DG_ERR"; exit 1; }
	cmp -s "$www/small$i.bin" "$DG_TMP/out/small$i" || { echo "small file differs"; exit 1; }
done
mapfile -t sorted < <(printf '%s\n' "${lat[@]}" | sort -n)
median=${sorted[$((runs / 2))]}
head -c 1024 /dev/urandom >"$www/cold.bin"
t0=$(date +%s%N)
dg_run -u "$ORIGIN_URL/cold.bin" -o "$DG_TMP/out/cold" -n "$node" --home "$(dg_home cold)" --notbs
cold=$((($(date +%s%N) - t0) / 1000))

echo
echo "== results ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, command: bench/dg_bench.sh $size_mb)"
ratio=$(awk -v a="$best_dg" -v b="$best_curl" 'BEGIN { printf "%.2f", a / b }')
printf 'throughput  dfget %d MiB/s vs curl %d MiB/s from nginx: ratio %s (target >= 0.80)\n' \
	$((best_dg >> 20)) $((best_curl >> 20)) "$ratio"
printf 'cpu         dfget used %s CPU-seconds in its best run (user+sys; md5 runs twice over\n' "$best_cpu"
printf '            every byte: each framed piece, and the whole file in order)\n'
printf 'memory      dfget peak RSS %d MiB for a %d MiB file (target < 32 MiB)\n' $((rss / 1024)) "$size_mb"
printf 'latency     1 KiB through P2P: median %d.%03d ms warm host (min %d.%03d, max %d.%03d), %d.%03d ms fresh host (target < 100 ms)\n' \
	$((median / 1000)) $((median % 1000)) $((sorted[0] / 1000)) $((sorted[0] % 1000)) \
	$((sorted[runs - 1] / 1000)) $((sorted[runs - 1] % 1000)) $((cold / 1000)) $((cold % 1000))
