#!/bin/bash
# tests/e2e/fault_disk.sh -- disk full, on the testbed (nginx origin, supernode, a client),
# with small tmpfs mounts (this script runs in its own mount namespace):
#   1. a client's output directory too small for the file: exit 1101, a message about free
#      space, no file at the output path;
#   2. a client's work home too small: the same;
#   3. the client's disk fills up during the download (another writer takes the space): a
#      clear error naming the lack of space, no file and no temp file at the output path,
#      nothing left in the home's data; with the space back, the same download is exact;
#   4. the supernode's cache too small for the file: the registration is refused with a
#      message about disk space (dfget --notbs exits 1104, no file); with room again the
#      next download is exact, and the supernode, restarted on the same cache, serves the
#      cached copy (a hit, no new fetch) correctly.
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
[[ -n ${DF_ISOLATED:-} ]] || { echo "SKIP: needs its own mount namespace (tests/lib/isolate.sh)"; exit 77; }
t0=$EPOCHREALTIME
mounts=()
tb_cleanup_hook() {
	local m
	for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null; done
}
tb_init || { echo "FAIL: tb_init"; exit 1; }
tb_add_host origin "$TB_ORIGIN_ADDR" 0 0 &&
	tb_add_host sn "$TB_SUPERNODE_ADDR" 0 0 &&
	tb_add_host c1 "$(tb_client_addr 1)" 0 0 &&
	tb_add_host c2 "$(tb_client_addr 2)" 0 0 || { echo "FAIL: tb_add_host"; exit 1; }
small() { # small DIR SIZE: a tmpfs of SIZE at DIR
	mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" && mounts+=("$1")
}
www=$TB_DIR/www
mkdir -p "$www" "$TB_DIR/out"
SIZE=$((24 << 20))
head -c "$SIZE" /dev/urandom >"$www/f.bin"
sha=$(rl_sha "$www/f.bin")
small "$TB_DIR/tiny" 8m && small "$TB_DIR/cdisk" 64m && small "$TB_DIR/sndisk" 40m ||
	{ echo "FAIL: cannot mount tmpfs"; exit 1; }
tb_origin_start origin "$www" 80 || { echo "FAIL: origin"; exit 1; }
fl_sn_start sn "$TB_DIR/sn" || { echo "FAIL: supernode"; exit 1; }
node=$(fl_sn_node sn)
echo "disk full: $((SIZE >> 20)) MiB file; tmpfs of 8, 64 (client) and 40 MiB (supernode cache)"

echo "-- 1. the output directory is too small"
o=$TB_DIR/tiny/f.bin
rl_expect c1 1101 "free space" -u "$ORIGIN_URL/f.bin" -o "$o" -n "$node" --home "$TB_DIR/h1" &&
	rl_no_output "$o" && rl_ok "exit 1101: $(tail -n 1 <<<"$RL_ERR" | cut -c1-120)"

echo "-- 2. the work home is too small"
o=$TB_DIR/out/f2.bin
rl_expect c1 1101 "free space" -u "$ORIGIN_URL/f.bin" -o "$o" -n "$node" --home "$TB_DIR/tiny/home" &&
	rl_no_output "$o" && rl_ok "exit 1101: $(tail -n 1 <<<"$RL_ERR" | cut -c1-120)"
[[ -z $(ls -A "$TB_DIR/tiny/home/data" 2>/dev/null) ]] || rl_bad "the home's data keeps a file"

echo "-- 3. the disk fills up during the download"
# a healthy peer holds the file: the full disk must not be blamed on it
rl_expect c2 0 "" -u "$ORIGIN_URL/f.bin" -o "$TB_DIR/out/seed.bin" -n "$node" --home "$TB_DIR/hseed" --notbs
o=$TB_DIR/cdisk/f3.bin
home=$TB_DIR/cdisk/home
rl_spawn c1 fill -u "$ORIGIN_URL/f.bin" -o "$o" -n "$node" --home "$home" -s 6M
# once it has started writing, another writer takes all the space that is left
for ((j = 0; j < 200; j++)); do
	[[ -n $(find "$home/data" -type f -size +1M 2>/dev/null) ]] && break
	sleep 0.05
done
dd if=/dev/zero of="$TB_DIR/cdisk/filler" bs=1M status=none 2>/dev/null
rl_reap fill 120
if [[ $RL_RC == 1101 || $RL_RC == 1104 ]] && grep -qi "space" <<<"$RL_ERR"; then
	rl_ok "exit $RL_RC: $(tail -n 1 <<<"$RL_ERR" | cut -c1-160)"
else
	rl_bad "a full disk: exit $RL_RC, stderr: $(tail -n 2 <<<"$RL_ERR")"
fi
# the spawn put the output at RL_TMP/fill/out: check both places
rl_no_output "$(rl_out fill)"
rl_no_output "$o"
left=$(find "$home/data" -type f 2>/dev/null)
[[ -z $left ]] && rl_ok "no file left in the home's data" || rl_bad "left in the home's data: $left"
if grep -E "isolated|reports FILE_" "$TB_DIR/sn/sn.log"; then
	rl_bad "the supernode blamed a source for the client's full disk"
else
	rl_ok "the supernode blamed no source for the client's full disk"
fi
rm -f "$TB_DIR/cdisk/filler"
rl_expect c1 0 "" -u "$ORIGIN_URL/f.bin" -o "$o" -n "$node" --home "$home" --notbs &&
	[[ $(rl_sha "$o") == "$sha" ]] && rl_ok "with the space back the download is exact"
rm -f "$o"

echo "-- 4. the supernode's cache is too small"
fl_sn_stop sn
mv "$TB_DIR/sn/sn.log" "$TB_DIR/sn.log.1"
fl_sn_start sn "$TB_DIR/sndisk/sn" --cache-free-min 0 --fail-access-interval 1s ||
	{ rl_bad "supernode on the small cache"; }
node=$(fl_sn_node sn)
head -c $((30 << 20)) /dev/zero >"$TB_DIR/sndisk/filler"
o=$TB_DIR/out/f4.bin
rl_expect c1 1104 "space" -u "$ORIGIN_URL/f.bin" -o "$o" -n "$node" --home "$TB_DIR/h4" --notbs &&
	rl_no_output "$o" && rl_ok "exit 1104: $(tail -n 1 <<<"$RL_ERR" | cut -c1-160)"
rm -f "$TB_DIR/sndisk/filler"
sleep 1.1 # the failure is remembered for --fail-access-interval 1s
rl_expect c1 0 "" -u "$ORIGIN_URL/f.bin" -o "$o" -n "$node" --home "$TB_DIR/h4" --notbs &&
	[[ $(rl_sha "$o") == "$sha" ]] && rl_ok "with room in the cache the download is exact"
rm -f "$o"
rl_ping c1 "http://$node" && rl_ok "the supernode answers /_ping"
fl_sn_stop sn
mv "$TB_DIR/sndisk/sn/sn.log" "$TB_DIR/sn.log.2"
fl_sn_start sn "$TB_DIR/sndisk/sn" --cache-free-min 0 || rl_bad "the supernode did not restart"
node=$(fl_sn_node sn)
: >"$ORIGIN_LOG"
rl_expect c1 0 "" -u "$ORIGIN_URL/f.bin" -o "$o" -n "$node" --home "$TB_DIR/h5" --notbs &&
	[[ $(rl_sha "$o") == "$sha" ]] && rl_ok "after a restart the cached copy serves an exact download"
sent=$(origin_bytes_sent)
grep -q "cache hit" "$TB_DIR/sndisk/sn/sn.log" && ((sent < SIZE)) &&
	rl_ok "a cache hit ($sent body bytes from the origin)" ||
	rl_bad "no cache hit after the restart ($sent body bytes from the origin)"
fl_sn_stop sn
cat "$TB_DIR"/sn.log.* "$TB_DIR/sndisk/sn/sn.log" | grep -E "Sanitizer|runtime error:" >/dev/null &&
	rl_bad "sanitizer reports in the supernode's log"
printf 'disk full: %d failure(s), %.1f s\n' "$RL_FAILS" "$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { print a - b }')"
((RL_FAILS == 0))
