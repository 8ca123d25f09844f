#!/bin/bash
# tests/e2e/fleet_failover.sh -- two supernodes in --node, one of them lost in the middle of
# a fleet download, on the shaped testbed (tests/lib/testbed.sh): an nginx origin, supernodes
# sn1 and sn2, 8 client hosts at 40 Mbit/s; all clients start at once with --node sn1,sn2
# and --notbs (no fallback to the source: P2P must finish the job).
#   1. The supernode most clients registered with is SIGSTOPped (it hangs: connections are
#      accepted, nothing answers) once the clients hold ~30% of their bytes.
#   2. A new file; this time the busier supernode is SIGKILLed at ~30%.
# Each time: every client exits 0 with the right sha256, the clients of the lost supernode
# registered with the other one, and the downloads were spread over both supernodes.
# Exit 0 on success, 1 on failure, 77 (SKIP) without root, network namespaces or nginx.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/isolate.sh
. "$here/../lib/isolate.sh"
# shellcheck source=tests/lib/testbed.sh
. "$here/../lib/testbed.sh"
# shellcheck source=tests/lib/fleet.sh
. "$here/../lib/fleet.sh"

tb_check || { echo "SKIP: no testbed on this machine (see above)"; exit 77; }
_origin_nginx >/dev/null || { echo "SKIP: nginx not found (apt-get install nginx-light)"; exit 77; }
for b in "$DFGET" "$SUPERNODE"; do
	[[ -x $b ]] || { echo "FAIL: $b is not built"; exit 1; }
done

N=8
RATE=40
SN_RATE=160
SIZE=$((24 << 20))
failures=0
ok() { printf '  ok    %s\n' "$*"; }
bad() { printf '  FAIL  %s\n' "$*"; failures=$((failures + 1)); }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
t0=$EPOCHREALTIME

echo "fleet failover: $N clients at $RATE Mbit/s, two supernodes, $((SIZE >> 20)) MiB files"
# shellcheck disable=SC2119
tb_init || { echo "FAIL: tb_init"; exit 1; }
FL_DIR=$TB_DIR
if ! tb_add_host origin "$TB_ORIGIN_ADDR" 200 200 || ! tb_add_host sn1 198.18.0.2 "$SN_RATE" 200 ||
	! tb_add_host sn2 198.18.0.3 "$SN_RATE" 200; then
	echo "FAIL: tb_add_host"
	exit 1
fi
for ((i = 1; i <= N; i++)); do
	tb_add_host "c$i" "$(tb_client_addr "$i")" "$RATE" "$RATE" || { echo "FAIL: tb_add_host c$i"; exit 1; }
done
mkdir -p "$TB_DIR/www"
head -c "$SIZE" /dev/urandom >"$TB_DIR/www/f.bin"
head -c "$SIZE" /dev/urandom >"$TB_DIR/www/g.bin"
sha_f=$(sha256sum <"$TB_DIR/www/f.bin" | cut -d' ' -f1)
sha_g=$(sha256sum <"$TB_DIR/www/g.bin" | cut -d' ' -f1)
tb_origin_start origin "$TB_DIR/www" 80 || { echo "FAIL: origin"; exit 1; }
if ! fl_sn_start sn1 "$TB_DIR/sn1" || ! fl_sn_start sn2 "$TB_DIR/sn2"; then
	echo "FAIL: supernodes"
	exit 1
fi
FL_NODES=$(fl_sn_node sn1 sn2)
ok "testbed of $((N + 3)) hosts; --node $FL_NODES"

# registered_with TAG HOST: how many clients of run TAG registered with HOST's supernode.
registered_with() {
	local node n=0 i
	node="$(tb_addr "$2"):${FL_SN_API[$2]}"
	for ((i = 1; i <= N; i++)); do
		grep -q "registered with $node" "$(fl_home "$1" "$i")/logs/dfclient.log" 2>/dev/null &&
			n=$((n + 1))
	done
	echo "$n"
}

# rx_total: bytes the clients received so far.
rx_total() {
	local i sum=0
	for ((i = 1; i <= N; i++)); do
		sum=$((sum + $(tb_rx_bytes "c$i")))
	done
	echo "$sum"
}

# scenario TAG FILE SHA SIGNAL: run the fleet; at ~30% send SIGNAL to the busier supernode.
scenario() {
	local tag=$1 file=$2 sha=$3 sig=$4 rx0 i victim other n1 n2 failed moved
	rx0=$(rx_total)
	# fl_run waits for its clients: it runs in the background (a subshell: the clients
	# are not in TB_PIDS, tb_teardown finds them in their namespaces) while we act.
	fl_run "$tag" "$N" dfget "$ORIGIN_URL/$file" >"$TB_DIR/$tag.run" 2>&1 &
	local runner=$!
	for ((i = 0; i < 150; i++)); do
		(($(rx_total) - rx0 >= N * SIZE * 3 / 10)) && break
		_tb_alive "$runner" || break
		sleep 0.2
	done
	n1=$(registered_with "$tag" sn1)
	n2=$(registered_with "$tag" sn2)
	if ((n1 >= n2)); then victim=sn1 other=sn2; else victim=sn2 other=sn1; fi
	# Each dfget draws its own order: all 8 on one supernode happens by chance (1 in 128),
	# twice in a row on the same one (1 in 32768) means they all draw the same.
	if ((n1 > 0 && n2 > 0)); then
		ok "$tag: the clients spread over both supernodes ($n1 on sn1, $n2 on sn2)"
	else
		echo "        $tag: every client chose $victim ($n1 on sn1, $n2 on sn2)"
		[[ $one_sided == "$victim" ]] &&
			bad "$tag: every client chose $victim again: they do not draw their own order"
		one_sided=$victim
	fi
	local at
	at=$(calc "100 * ($(rx_total) - $rx0) / ($N * $SIZE)" 0)
	local sig_at=$EPOCHREALTIME
	fl_sn_signal "$victim" "$sig" || bad "$tag: cannot signal $victim"
	echo "        SIG$sig to $victim at $at% of the bytes, $(calc "$EPOCHREALTIME - $t0") s"
	tb_wait "$runner" 120 || bad "$tag: the clients did not all finish"
	failed=$(fl_failed "$tag" "$N" "$sha")
	if [[ -z $failed ]]; then
		ok "$tag: all $N clients exited 0 with the right sha256 (times $(fl_times "$tag" "$N" |
			fl_stat 0)..$(fl_times "$tag" "$N" | fl_stat 100) s)"
	else
		bad "$tag: clients failed:"
		printf '        %s\n' "$failed"
	fi
	# Every client that was on the victim and still busy went on with the other supernode.
	moved=0
	local node log end
	node="$(tb_addr "$other"):${FL_SN_API[$other]}"
	for ((i = 1; i <= N; i++)); do
		log=$(fl_home "$tag" "$i")/logs/dfclient.log
		grep -q "registered with $(tb_addr "$victim"):" "$log" || continue
		if grep -q "registered with $node" "$log"; then
			moved=$((moved + 1))
			continue
		fi
		read -r _ _ end _ <"$FL_DIR/$tag/res.$i" 2>/dev/null
		awk -v e="${end:-0}" -v s="$sig_at" 'BEGIN { exit !(e > s) }' &&
			bad "$tag: client $i was on $victim, finished after the SIG$sig and never moved to $other"
	done
	ok "$tag: $moved client(s) moved from $victim to $other"
}

one_sided=
scenario stop f.bin "$sha_f" STOP
# The stopped supernode comes back; the second file is a new task for both.
for h in sn1 sn2; do fl_sn_signal "$h" CONT; done
scenario kill g.bin "$sha_g" KILL

printf 'fleet failover: %d failure(s), %s s\n' "$failures" "$(calc "$EPOCHREALTIME - $t0")"
((failures == 0))
