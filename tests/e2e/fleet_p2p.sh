#!/bin/bash
# tests/e2e/fleet_p2p.sh -- P2P distribution across hosts with their own addresses and
# their own bandwidth (tests/lib/testbed.sh): an nginx origin, a supernode and 8 client
# hosts shaped to 40 Mbit/s each way; all 8 dfget start at once (a barrier) for a 32 MiB
# file. Checks: every file's sha256 matches; the origin sent about one copy (<= 1.05 x the
# file, from nginx's access log and from the origin's eth0 transmit counter); most bytes
# came from peers, counted from the uploaders' own records (/server/stats) and confirmed by
# the supernode host's transmit counter (it sent the rest); the clients' own claims agree.
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
RATE=40         # Mbit/s, clients up and down
SN_RATE=80      # Mbit/s, the supernode's upload: 2 clients' worth, peers must carry the rest
ORIGIN_RATE=200 # Mbit/s
SIZE=$((32 << 20))
failures=0
ok() { printf '  ok    %s\n' "$*"; }
bad() { printf '  FAIL  %s\n' "$*"; failures=$((failures + 1)); }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
t0=$EPOCHREALTIME

echo "fleet P2P: $N clients at $RATE Mbit/s, supernode $SN_RATE, origin $ORIGIN_RATE, $((SIZE >> 20)) MiB"
# shellcheck disable=SC2119
tb_init || { echo "FAIL: tb_init"; exit 1; }
FL_DIR=$TB_DIR
if ! tb_add_host origin "$TB_ORIGIN_ADDR" "$ORIGIN_RATE" "$ORIGIN_RATE" ||
	! tb_add_host sn "$TB_SUPERNODE_ADDR" "$SN_RATE" "$ORIGIN_RATE"; then
	echo "FAIL: tb_add_host"
	exit 1
fi
for ((i = 1; i <= N; i++)); do
	tb_add_host "c$i" "$(tb_client_addr "$i")" "$RATE" "$RATE" || { echo "FAIL: tb_add_host c$i"; exit 1; }
done
mkdir -p "$TB_DIR/www"
head -c "$SIZE" /dev/urandom >"$TB_DIR/www/f.bin"
sha=$(sha256sum <"$TB_DIR/www/f.bin" | cut -d' ' -f1)
tb_origin_start origin "$TB_DIR/www" 80 || { echo "FAIL: origin"; exit 1; }
# Its transfer slots sized for its link, as etc/supernode.conf says: 80 Mbit/s over the
# 10 Mbit/s of one piece transfer (a client's 40 over its 4 downloads) = 8.
fl_sn_start sn "$TB_DIR/sn" --cdn-up-limit $((SN_RATE * 4 / RATE)) || { echo "FAIL: supernode"; exit 1; }
FL_NODES=$(fl_sn_node sn)
ok "testbed of $((N + 2)) hosts, origin $ORIGIN_URL, supernode $FL_NODES ($(calc "$EPOCHREALTIME - $t0" 1) s)"

otx0=$(tb_tx_bytes origin)
stx0=$(tb_tx_bytes sn)
fl_run p2p "$N" dfget "$ORIGIN_URL/f.bin" || bad "the clients did not all run"
wall=$(calc "$EPOCHREALTIME - $FL_RELEASE" 1)
failed=$(fl_failed p2p "$N" "$sha")
if [[ -z $failed ]]; then
	ok "all $N clients exited 0 with the right sha256 (all done in $wall s)"
else
	bad "clients failed:"
	printf '        %s\n' "$failed"
fi
times=$(fl_times p2p "$N")
tmin=$(calc "$SIZE * 8 / ($RATE * 1e6)" 1)
echo "        per-client time: min $(fl_stat 0 <<<"$times") median $(fl_stat 50 <<<"$times")" \
	"max $(fl_stat 100 <<<"$times") s (bound F/d = $tmin s)"

# The origin: one copy (a length probe may come first), two independent measures.
origin_wait_requests 1 '^/f\.bin$' 10 || true
sent=$(origin_bytes_sent)
otx=$(($(tb_tx_bytes origin) - otx0))
lim=$((SIZE * 105 / 100))
if ((sent <= lim && sent >= SIZE)); then
	ok "nginx log: $sent body bytes ($(calc "$sent / $SIZE") copies, $(origin_requests) requests)"
else
	bad "nginx log: $sent body bytes for a $SIZE-byte file, want $SIZE..$lim"
fi
if ((otx <= lim && otx >= SIZE)); then
	ok "origin eth0 sent $otx bytes ($(calc "$otx / $SIZE") copies)"
else
	bad "origin eth0 sent $otx bytes, want $SIZE..$lim"
fi

# Where the bytes came from: the uploaders' records, the supernode's interface.
want=$((N * SIZE))
peer=$(fl_uploaded_total p2p "$N")
stx=$(($(tb_tx_bytes sn) - stx0))
ok "peers' uploaders served $peer bytes ($((peer * 100 / want))% of $want), the supernode host sent $stx ($(calc "$stx / $SIZE") copies)"
((peer * 2 > want)) || bad "peers served only $peer of $want bytes (want most)"
# Together they account for every byte (framing adds 5 bytes a piece, TCP/IP ~4%).
total=$((peer + stx))
if ((total >= want && total <= want * 110 / 100)); then
	ok "peers + supernode = $(calc "$total / $want" 3) x the bytes the clients needed"
else
	bad "peers ($peer) + supernode ($stx) = $total bytes, want $want..$((want * 110 / 100))"
fi
# What the clients claim (dfget's "N% from peers") agrees with the uploaders' records.
claimed=0
for ((i = 1; i <= N; i++)); do
	p=$(sed -n 's/.*; \([0-9]*\)% from peers.*/\1/p' "$FL_DIR/p2p/log.$i" | tail -n 1)
	claimed=$((claimed + ${p:-0} * SIZE / 100))
done
diff=$((claimed - peer))
if ((${diff#-} <= want / 25)); then
	ok "the clients claim $claimed bytes from peers, the uploaders $peer"
else
	bad "the clients claim $claimed bytes from peers, the uploaders $peer"
fi
# The supernode's own account of its hand-outs (logged when it stops).
fl_sn_stop sn
line=$(grep -m1 'pieces from peers' "$TB_DIR/sn/sn.log")
if [[ $line =~ pieces\ from\ peers\ ([0-9]+)\ /\ supernode\ ([0-9]+) ]]; then
	fp=${BASH_REMATCH[1]} fs=${BASH_REMATCH[2]}
	if ((fp > fs)); then
		ok "the supernode handed out $fp pieces from peers, $fs from itself"
	else
		bad "the supernode handed out $fp pieces from peers, $fs from itself"
	fi
else
	bad "no totals line in the supernode's log"
fi

printf 'fleet P2P: %d failure(s), %s s\n' "$failures" "$(calc "$EPOCHREALTIME - $t0" 1)"
((failures == 0))
