#!/bin/bash
# tests/e2e/fault_supernode.sh -- the supernode killed (SIGKILL) mid-distribution, on the
# testbed (nginx origin, supernodes in their own hosts, client hosts at 40 Mbit/s):
#   1. two supernodes listed (the first heavy): 6 clients (--notbs) register with sn1,
#      sn1 dies when they hold about a third; they move to sn2 and end with the exact bytes;
#   2. one supernode, killed while its own fetch from the origin is half done: 4 clients
#      fall back to the source and end with the exact bytes; the origin's log shows each
#      client's own GET and its bytes;
#   3. that supernode restarted on the same home resumes its cache: the origin sees a Range
#      request starting after the pieces already cached, far less than a whole copy, and
#      the next download is exact.
# Afterwards every running supernode answers /_ping.
# Exit 0 on success, 1 on failure, 77 (SKIP) without root, network namespaces or nginx.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/isolate.sh
. "$here/../lib/isolate.sh"
# shellcheck source=tests/lib/testbed.sh
. "$here/../lib/testbed.sh"
# shellcheck source=tests/lib/fleet.sh
. "$here/../lib/fleet.sh"
# shellcheck source=tests/lib/fault.sh
. "$here/../lib/fault.sh"

tb_check || { echo "SKIP: no testbed on this machine (see above)"; exit 77; }
_origin_nginx >/dev/null || { echo "SKIP: nginx not found (apt-get install nginx-light)"; exit 77; }
N=6
RATE=40
t0=$EPOCHREALTIME
tb_init || { echo "FAIL: tb_init"; exit 1; }
tb_add_host origin "$TB_ORIGIN_ADDR" 400 400 &&
	tb_add_host sn1 "$TB_SUPERNODE_ADDR" 200 400 &&
	tb_add_host sn2 198.18.0.3 200 400 || { echo "FAIL: tb_add_host"; exit 1; }
for ((i = 1; i <= N; i++)); do
	tb_add_host "c$i" "$(tb_client_addr "$i")" "$RATE" "$RATE" || { echo "FAIL: tb_add_host c$i"; exit 1; }
done
www=$TB_DIR/www
mkdir -p "$www"
SIZE=$((24 << 20))
for f in move back; do
	head -c "$SIZE" /dev/urandom >"$www/$f.bin"
done
tb_origin_start origin "$www" 80 || { echo "FAIL: origin"; exit 1; }
fl_sn_start sn1 "$TB_DIR/sn1" && fl_sn_start sn2 "$TB_DIR/sn2" || { echo "FAIL: supernodes"; exit 1; }
echo "supernode faults: $N clients at $RATE Mbit/s, $((SIZE >> 20)) MiB files"

# wait_rx BYTES HOST...: until the hosts together received BYTES (bounded, 30 s).
wait_rx() {
	local want=$1 j rx h
	shift
	for ((j = 0; j < 600; j++)); do
		rx=0
		for h in "$@"; do rx=$((rx + $(tb_rx_bytes "$h"))); done
		((rx >= want)) && return 0
		sleep 0.05
	done
	return 1
}
check_ok() {
	local file=$1 tag bad=0
	shift
	for tag in "$@"; do
		rl_reap "$tag" 120
		if [[ $RL_RC != 0 ]]; then
			rl_bad "$tag exited $RL_RC: $(tail -n 2 <<<"$RL_ERR")"
			bad=1
		elif [[ $(rl_sha "$(rl_out "$tag")") != "$(rl_sha "$www/$file")" ]]; then
			rl_bad "$tag: sha256 differs"
			bad=1
		fi
	done
	return $bad
}

echo "-- 1. two supernodes listed, the first one killed"
nodes="$(tb_addr sn1):${FL_SN_API[sn1]}=1000,$(tb_addr sn2):${FL_SN_API[sn2]}=1"
hosts=()
for ((i = 1; i <= N; i++)); do
	rl_spawn "c$i" "m$i" -u "$ORIGIN_URL/move.bin" -n "$nodes" --notbs -s 0
	hosts+=("c$i")
done
rx0=0
for h in "${hosts[@]}"; do rx0=$((rx0 + $(tb_rx_bytes "$h"))); done
wait_rx $((rx0 + N * SIZE / 3)) "${hosts[@]}" || rl_bad "the clients never got a third of the file"
fl_sn_signal sn1 KILL
rl_ok "sn1 killed"
tags=()
for ((i = 1; i <= N; i++)); do tags+=("m$i"); done
check_ok move.bin "${tags[@]}" && rl_ok "all $N clients hold the exact bytes"
moved=0
for ((i = 1; i <= N; i++)); do
	grep -q "registered with $(tb_addr sn2)" "$(rl_home "m$i")/logs/dfclient.log" && moved=$((moved + 1))
done
((moved > 0)) && rl_ok "$moved of $N clients moved to sn2" || rl_bad "no client moved to sn2"
tb_wait "${FL_SN_PID[sn1]}" 5 >/dev/null 2>&1
unset "FL_SN_PID[sn1]"

echo "-- 2. one supernode, killed during its own fetch: the clients fall back to the source"
tb_shape origin 60 400 # the supernode's fetch now takes ~3 s
node2="$(tb_addr sn2):${FL_SN_API[sn2]}"
: >"$ORIGIN_LOG"
for i in 1 2 3 4; do
	rl_spawn "c$i" "b$i" -u "$ORIGIN_URL/back.bin" -n "$node2" -s 0
done
wait_rx $(($(tb_rx_bytes sn2) + SIZE / 2)) sn2 || rl_bad "the supernode never fetched half the file"
fl_sn_signal sn2 KILL
tb_wait "${FL_SN_PID[sn2]}" 5 >/dev/null 2>&1
unset "FL_SN_PID[sn2]"
rl_ok "sn2 killed while fetching from the origin"
check_ok back.bin b1 b2 b3 b4 && rl_ok "the 4 clients hold the exact bytes"
origin_wait_requests 5 '^/back\.bin$' 10 || true
for i in 1 2 3 4; do
	a=$(tb_addr "c$i")
	got=$(awk -F'\t' -v a="$a" '$2 == a && $4 == "/back.bin" { s += $6 } END { print s + 0 }' "$ORIGIN_LOG")
	if ((got >= SIZE)); then
		grep -q "from the source" "$TB_DIR/b$i/err" && rl_ok "c$i fell back: the origin sent it $got bytes" ||
			rl_bad "c$i: the origin sent it $got bytes but dfget does not say 'from the source'"
	else
		rl_bad "c$i: the origin sent it only $got bytes"
	fi
done
snsent=$(awk -F'\t' -v a="$(tb_addr sn2)" '$2 == a && $4 == "/back.bin" { s += $6 } END { print s + 0 }' "$ORIGIN_LOG")

echo "-- 3. the supernode restarted on its home resumes its cache"
tb_shape origin 400 400
: >"$ORIGIN_LOG"
mv "$TB_DIR/sn2/sn.log" "$TB_DIR/sn2/sn.log.killed"
fl_sn_start sn2 "$TB_DIR/sn2" || rl_bad "sn2 did not restart"
node2="$(tb_addr sn2):${FL_SN_API[sn2]}"
rl_spawn c5 r5 -u "$ORIGIN_URL/back.bin" -n "$node2" --notbs -s 0
check_ok back.bin r5 && rl_ok "a download through the restarted supernode is exact"
origin_wait_requests 1 '^/back\.bin$' 10 || true
ranges=$(awk -F'\t' -v a="$(tb_addr sn2)" '$2 == a && $4 == "/back.bin" && $7 ~ /^bytes=[1-9]/ { print $7 }' "$ORIGIN_LOG")
rest=$(awk -F'\t' -v a="$(tb_addr sn2)" '$2 == a && $4 == "/back.bin" { s += $6 } END { print s + 0 }' "$ORIGIN_LOG")
if [[ -n $ranges ]] && ((rest < SIZE)); then
	rl_ok "resumed with '$ranges': $rest bytes from the origin (before the kill it had $snsent)"
else
	rl_bad "no resume: ranges '${ranges}', $rest bytes from the origin after the restart"
fi

echo "-- the services afterwards"
rl_ping c6 "http://$node2" && rl_ok "the supernode answers /_ping"
fl_sn_stop sn2
grep -E "Sanitizer|runtime error:" "$TB_DIR"/sn*/sn.log >/dev/null &&
	rl_bad "sanitizer reports in a supernode's log"
printf 'supernode faults: %d failure(s), %.1f s\n' "$RL_FAILS" "$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { print a - b }')"
((RL_FAILS == 0))
