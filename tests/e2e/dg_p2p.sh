#!/bin/bash
# P2P distribution on loopback with real processes: a supernode, an nginx origin, and
# first two, then ten concurrent dfget processes, each with its own work home (a simulated
# host with its own uploader). Every output's sha256 matches; the origin served the file
# once; the ten later clients got most of their bytes from peers, counted from the
# uploaders' own records (/server/stats), which must agree with what the clients claim.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT
set -u
fail=0
size=$((48 << 20))
www=$DG_TMP/www
mkdir -p "$www" "$DG_TMP/out"
head -c "$size" /dev/urandom >"$www/big.bin"
sha=$(dg_sha "$www/big.bin")
origin_start "$www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" || exit 1
node=$(dg_node)

# run_clients PREFIX N: N concurrent downloads, homes PREFIX1..N; fails on any error.
run_clients() {
	local prefix=$1 n=$2 i rc bad=0
	local -a pids=()
	for ((i = 1; i <= n; i++)); do
		DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$ORIGIN_URL/big.bin" \
			-o "$DG_TMP/out/$prefix$i" -n "$node" --home "$(dg_home "$prefix$i")" -s 0 \
			--notbs 2>"$DG_TMP/$prefix$i.err" &
		pids+=($!)
	done
	for ((i = 1; i <= n; i++)); do
		rc=0
		wait "${pids[i - 1]}" || rc=$?
		if [[ $rc != 0 ]]; then
			dg_fail "client $prefix$i exited $rc: $(cat "$DG_TMP/$prefix$i.err")"
			bad=1
		elif [[ $(dg_sha "$DG_TMP/out/$prefix$i") != "$sha" ]]; then
			dg_fail "client $prefix$i: sha256 differs"
			bad=1
		fi
	done
	return $bad
}

# Bytes all uploaders served so far.
uploaded_total() {
	local h sum=0 b
	for h in "$DG_TMP"/a* "$DG_TMP"/b*; do
		[[ -d $h/meta ]] || continue
		b=$(dg_uploaded_bytes "$h")
		sum=$((sum + ${b:-0}))
	done
	echo "$sum"
}

t0=$(date +%s%N)
run_clients a 2 || fail=1
echo "two clients: $((($(date +%s%N) - t0) / 1000000)) ms"
before=$(uploaded_total)
t0=$(date +%s%N)
run_clients b 10 || fail=1
echo "ten clients: $((($(date +%s%N) - t0) / 1000000)) ms"
after=$(uploaded_total)

peer=$((after - before))
want=$((10 * size))
echo "ten later clients: $want bytes, $peer served by peers' uploaders ($((peer * 100 / want))%)"
# most of it from peers (framed bytes: 5 more per piece)
((peer * 2 > want)) || { dg_fail "peers served only $peer of $want bytes"; fail=1; }
# what the clients claim agrees with the uploaders' records (within the framing overhead)
claimed=0
for ((i = 1; i <= 10; i++)); do
	p=$(sed -n 's/.*; \([0-9]*\)% from peers.*/\1/p' "$DG_TMP/b$i.err")
	claimed=$((claimed + ${p:-0} * size / 100))
done
diff=$((claimed - peer))
((${diff#-} <= want / 50)) || { dg_fail "clients claim $claimed peer bytes, uploaders $peer"; fail=1; }

# The origin served the file once (a length probe may come first).
origin_wait_requests 1 '^/big\.bin$' || fail=1
sent=$(awk -F'\t' '$4 == "/big.bin" { s += $6 } END { printf "%.0f", s }' "$ORIGIN_LOG")
full=$(awk -F'\t' -v n="$size" '$4 == "/big.bin" && $6 >= n { c++ } END { print c + 0 }' "$ORIGIN_LOG")
echo "origin: $(origin_requests '^/big\.bin$') requests, $sent bytes, $full full copies"
[[ $full == 1 ]] || { dg_fail "the origin served $full full copies"; fail=1; }
((sent <= size + size / 100)) || { dg_fail "the origin sent $sent bytes for a $size-byte file"; fail=1; }

[[ $fail == 0 ]] && echo "PASS: P2P with 2 and 10 clients"
exit $fail
