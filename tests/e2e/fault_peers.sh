#!/bin/bash
# tests/e2e/fault_peers.sh -- peers that fail during a distribution, on the testbed (an
# nginx origin, a supernode, 10 client hosts shaped to 40 Mbit/s):
#   1. 3 of 10 peers (30%) SIGKILLed, dfget and uploader, mid-distribution: the other 7
#      finish with the exact bytes by P2P, the killed ones leave no file at their output;
#   2. a seeded peer's uploader SIGSTOPped: it accepts connections and answers nothing;
#      4 downloads time out on it, fetch the pieces elsewhere and end with the exact bytes;
#   3. a seeded peer whose data file is corrupted on disk serves bad pieces: the clients
#      catch the md5 mismatch, the supernode hears FILE_MD5_NOT_MATCH and isolates the peer
#      (it serves only the few pieces handed out before the first report), everyone ends
#      with the exact bytes.
# Afterwards the supernode answers /_ping and a fresh download is correct.
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
N=10
RATE=40
t0=$EPOCHREALTIME
tb_init || { echo "FAIL: tb_init"; exit 1; }
tb_add_host origin "$TB_ORIGIN_ADDR" 400 400 &&
	tb_add_host sn "$TB_SUPERNODE_ADDR" 80 400 || { echo "FAIL: tb_add_host"; exit 1; }
for ((i = 1; i <= N; i++)); do
	tb_add_host "c$i" "$(tb_client_addr "$i")" "$RATE" "$RATE" || { echo "FAIL: tb_add_host c$i"; exit 1; }
done
www=$TB_DIR/www
mkdir -p "$www"
SIZE=$((24 << 20))
for f in kill stop corrupt fresh; do
	head -c "$SIZE" /dev/urandom >"$www/$f.bin"
done
tb_origin_start origin "$www" 80 || { echo "FAIL: origin"; exit 1; }
fl_sn_start sn "$TB_DIR/sn" || { echo "FAIL: supernode"; exit 1; }
node=$(fl_sn_node sn)
echo "peer faults: $N clients at $RATE Mbit/s, supernode $node, $((SIZE >> 20)) MiB files"

# check_all TAG...: each exited 0 with the exact bytes of FILE.
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

echo "-- 1. 30% of the peers SIGKILLed mid-distribution"
for ((i = 1; i <= N; i++)); do
	rl_spawn "c$i" "k$i" -u "$ORIGIN_URL/kill.bin" -n "$node" --notbs -s 0
done
# Wait (bounded) until the clients hold about a third of what they need in total.
rx0=0
want=$((N * SIZE / 3))
for ((j = 0; j < 600; j++)); do
	rx=0
	for ((i = 1; i <= N; i++)); do rx=$((rx + $(tb_rx_bytes "c$i"))); done
	((rx >= want)) && break
	sleep 0.05
done
victims=(3 6 9)
for i in "${victims[@]}"; do
	up=$(rl_uploader_pid "k$i")
	kill -KILL "${RL_PID[k$i]}" ${up:+"$up"} 2>/dev/null
done
rl_ok "the clients had $((rx >> 20)) MiB of $((N * SIZE >> 20)); killed c3, c6, c9 (dfget and uploader)"
survivors=()
for ((i = 1; i <= N; i++)); do
	[[ " ${victims[*]} " == *" $i "* ]] || survivors+=("k$i")
done
check_ok kill.bin "${survivors[@]}" && rl_ok "the ${#survivors[@]} survivors hold the exact bytes"
for i in "${victims[@]}"; do
	rl_reap "k$i" 10
	rl_no_output "$(rl_out "k$i")" || true
done
rl_ok "the killed peers left no file at their output path"
grep -q "peer" "$(rl_home k1)/logs/dfclient.log" || true

echo "-- 2. an uploader SIGSTOPped, and 3. a peer serving corrupted pieces (at once)"
# c1 seeds stop.bin and will be stopped; c6 seeds corrupt.bin and will serve bad pieces.
rl_spawn c1 seed2 -u "$ORIGIN_URL/stop.bin" -n "$node" --notbs -s 0
rl_spawn c6 seed3 -u "$ORIGIN_URL/corrupt.bin" -n "$node" --notbs -s 0
check_ok stop.bin seed2 || true
check_ok corrupt.bin seed3 || true
stopped=$(rl_uploader_pid seed2)
kill -STOP "$stopped"
data=$(ls "$(rl_home seed3)"/data/* 2>/dev/null | head -n 1)
if [[ -f $data ]]; then
	# flip bytes in the middle of every 4 MiB piece, in place
	for ((off = 2 << 20; off < SIZE; off += 4 << 20)); do
		head -c 4096 /dev/urandom | dd of="$data" bs=4096 seek=$((off / 4096)) conv=notrunc status=none
	done
else
	rl_bad "the seed kept no data file to corrupt"
fi
ts=$EPOCHREALTIME
for i in 2 3 4 5; do
	rl_spawn "c$i" "s$i" -u "$ORIGIN_URL/stop.bin" -n "$node" --notbs -s 0
	rl_spawn "c$((i + 5))" "x$((i + 5))" -u "$ORIGIN_URL/corrupt.bin" -n "$node" --notbs -s 0
done
check_ok stop.bin s2 s3 s4 s5 &&
	rl_ok "4 downloads around the stopped uploader hold the exact bytes ($(awk -v a="$EPOCHREALTIME" -v b="$ts" 'BEGIN { printf "%.1f", a - b }') s)"
met=$(grep -l "too slow\|timed out\|Timeout\|no data within" "$TB_DIR"/s[2-5]/home/logs/dfclient.log 2>/dev/null | wc -l)
echo "        $met of 4 met the stopped uploader and timed out on it"
kill -CONT "$stopped"
check_ok corrupt.bin x7 x8 x9 x10 && rl_ok "4 downloads despite the corrupt peer hold the exact bytes"
mism=$(grep -h "md5 .*, want" "$TB_DIR"/x{7,8,9,10}/home/logs/dfclient.log 2>/dev/null | wc -l)
((mism > 0)) && rl_ok "the clients caught $mism corrupt pieces (md5 mismatch)" ||
	rl_bad "no client met the corrupt peer"
grep -q "reports FILE_MD5_NOT_MATCH" "$TB_DIR/sn/sn.log" && rl_ok "the supernode heard FILE_MD5_NOT_MATCH" ||
	rl_bad "the supernode heard of no md5 mismatch"
port=$(_fl_upport "$(rl_home seed3)")
served=$(tb_exec c6 curl -s --noproxy '*' --max-time 5 "http://127.0.0.1:$port/server/stats" |
	sed -n 's/.*"uploadedPieces":\([0-9]*\)}\]}$/\1/p')
# Isolated at the first report: only the transfers already handed out (4 clients, 4 each)
if [[ -n $served ]] && ((served <= 16)); then
	rl_ok "the corrupt peer was isolated after serving $served pieces"
else
	rl_bad "the corrupt peer served ${served:-?} pieces (want <= 16: isolated at the first report)"
fi

echo "-- the services afterwards"
rl_ping c3 "http://$node" && rl_ok "the supernode answers /_ping"
rl_spawn c3 fresh -u "$ORIGIN_URL/fresh.bin" -n "$node" --notbs -s 0
check_ok fresh.bin fresh && rl_ok "a fresh download is correct"
kill -0 "${FL_SN_PID[sn]}" 2>/dev/null || rl_bad "the supernode died"
fl_sn_stop sn
grep -E "Sanitizer|runtime error:" "$TB_DIR/sn/sn.log" >/dev/null &&
	rl_bad "sanitizer reports in the supernode's log"
printf 'peer faults: %d failure(s), %.1f s\n' "$RL_FAILS" "$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { print a - b }')"
((RL_FAILS == 0))
