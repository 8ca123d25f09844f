#!/bin/bash
# Piece server throughput: a cached 1 GiB file sent to one client on loopback, by the
# supernode's piece server and by nginx serving the very same cache file, in the same run.
# The client is one curl process fetching every piece in turn on one kept-alive connection
# (as one dfget worker does), then the whole file as one range. Each measurement is taken
# ROUNDS times, alternating servers; the best of each is compared.
# Target (issue 3): the supernode at >= 80% of nginx.
#
# Usage: bench/sn_piece_bench.sh [SIZE_MB (1024)] [ROUNDS (5)]
# SN_FLAGS: extra supernode flags. Runs in its own network namespace as root
# (tests/lib/isolate.sh); needs nginx.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
source "$top_srcdir/tests/lib/isolate.sh"
source "$top_srcdir/tests/lib/origin.sh"
source "$top_srcdir/tests/lib/supernode.sh"
size_mb=${1:-1024}
rounds=${2:-5}
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

work=$(mktemp -d /tmp/sn_piece_bench.XXXXXX)
trap 'sn_stop; origin_stop_all; rm -rf "$work"' EXIT
mkdir -p "$work/www"
echo "making a ${size_mb} MiB file..."
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$work/www/big.bin"
origin_start "$work/www" 127.0.0.1 0 || exit 1
sn_start "$work/sn" ${SN_FLAGS:-} || exit 1
resp=$(curl -s -XPOST -d "{\"rawUrl\":\"$ORIGIN_URL/big.bin\",\"cid\":\"bench\",\"ip\":\"127.0.0.1\",\"port\":0}" \
	"$SN_URL/peer/registry")
task=$(jq -r .data.taskId <<<"$resp")
ps=$(jq -r .data.pieceSize <<<"$resp")
meta="$work/sn/repo/download/${task:0:3}/$task.meta"
for ((i = 0; i < 1200; i++)); do
	[ "$(jq -r .finished "$meta" 2>/dev/null)" == true ] && break
	sleep 0.1
done
[ "$(jq -r .finished "$meta")" == true ] || { echo "the file was not cached"; exit 1; }
framed=$(stat -c %s "$work/sn/repo/download/${task:0:3}/$task")
npieces=$(jq '.pieceMd5 | length' "$meta")
echo "cached: $npieces pieces of $ps bytes, $framed framed bytes"
# nginx on the same cache file.
ORIGIN_NAME=cache origin_start "$work/sn/repo/download" 127.0.0.1 0 || exit 1
NGINX_URL="$ORIGIN_URL/${task:0:3}/$task"
ORIGIN_NAME=default
SN_FILE_URL="http://127.0.0.1:$SN_DL/download/${task:0:3}/$task"

pieces_config() { # pieces_config URL > curl config: every piece, one connection
	local n
	for ((n = 0; n < npieces; n++)); do
		printf 'url = "%s"\nheader = "Range: bytes=%d-%d"\noutput = "/dev/null"\n' \
			"$1" $((n * ps)) $((n * ps + ps - 1))
		[ $n -lt $((npieces - 1)) ] && echo next
	done
}
pieces_config "$SN_FILE_URL" >"$work/sn.cfg"
pieces_config "$NGINX_URL" >"$work/nginx.cfg"

# Check both send the same bytes before timing them.
a=$(curl -s -H "Range: bytes=0-$((ps - 1))" "$SN_FILE_URL" | md5sum)
b=$(curl -s -H "Range: bytes=0-$((ps - 1))" "$NGINX_URL" | md5sum)
[ "$a" == "$b" ] || { echo "the servers disagree on piece 0"; exit 1; }

secs() { # secs CMD... -> wall seconds
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}
best_sn_p=999 best_ng_p=999 best_sn_w=999 best_ng_w=999
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
for ((r = 1; r <= rounds; r++)); do
	s=$(secs curl -s -K "$work/sn.cfg")
	n=$(secs curl -s -K "$work/nginx.cfg")
	sw=$(secs curl -s -o /dev/null -H "Range: bytes=0-$((framed - 1))" "$SN_FILE_URL")
	nw=$(secs curl -s -o /dev/null -H "Range: bytes=0-$((framed - 1))" "$NGINX_URL")
	echo "round $r: per piece: supernode $s s, nginx $n s; whole file: supernode $sw s, nginx $nw s"
	best_sn_p=$(min "$best_sn_p" "$s")
	best_ng_p=$(min "$best_ng_p" "$n")
	best_sn_w=$(min "$best_sn_w" "$sw")
	best_ng_w=$(min "$best_ng_w" "$nw")
done
mbs() { awk -v n="$framed" -v t="$1" 'BEGIN { printf "%.0f", n / 1048576 / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "per piece ($npieces requests, one connection): supernode $(mbs "$best_sn_p") MiB/s, nginx $(mbs "$best_ng_p") MiB/s, supernode/nginx $(ratio "$best_ng_p" "$best_sn_p")"
echo "whole file (one range): supernode $(mbs "$best_sn_w") MiB/s, nginx $(mbs "$best_ng_w") MiB/s, supernode/nginx $(ratio "$best_ng_w" "$best_sn_w")"
