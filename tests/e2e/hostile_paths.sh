#!/bin/bash
# tests/e2e/hostile_paths.sh -- path traversal against the supernode's piece server and a
# dfget uploader, from another host of the testbed: "..", its encoded forms (%2e%2e,
# %2f, mixed), absolute paths, double slashes, backslashes, NULs, absolute-form request
# targets, and symlinks planted in the uploader's data folder and in the supernode's cache
# in place of a file they serve. A secret file with a random marker lies outside both;
# no answer may carry a byte of it. The uploader's local-only endpoints (/check, /rate,
# /client/finish) refuse a remote host (403), and /check refuses names with a path (400).
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
HC=${HOSTILECLIENT:-$top_builddir/tests/tools/hostileclient}

tb_check || { echo "SKIP: no testbed on this machine (see above)"; exit 77; }
_origin_nginx >/dev/null || { echo "SKIP: nginx not found (apt-get install nginx-light)"; exit 77; }
[[ -x $HC ]] || { echo "FAIL: $HC is not built"; exit 1; }
t0=$EPOCHREALTIME
tb_init || { echo "FAIL: tb_init"; exit 1; }
tb_add_host origin "$TB_ORIGIN_ADDR" 0 0 &&
	tb_add_host sn "$TB_SUPERNODE_ADDR" 0 0 &&
	tb_add_host peer "$(tb_client_addr 1)" 0 0 &&
	tb_add_host evil "$(tb_client_addr 2)" 0 0 || { echo "FAIL: tb_add_host"; exit 1; }
www=$TB_DIR/www
mkdir -p "$www" "$TB_DIR/out" "$TB_DIR/resp"
marker="TOPSECRET-$RANDOM$RANDOM$RANDOM"
secret=$TB_DIR/secret.txt
for ((i = 0; i < 2000; i++)); do echo "$marker"; done >"$secret"
head -c $((9 << 20)) /dev/urandom >"$www/f.bin"
head -c $((5 << 20)) /dev/urandom >"$www/g.bin"
tb_origin_start origin "$www" 80 || { echo "FAIL: origin"; exit 1; }
fl_sn_start sn "$TB_DIR/sn" || { echo "FAIL: supernode"; exit 1; }
node=$(fl_sn_node sn)
SNA=$(tb_addr sn)
DL=$(sed -n 's/^supernode ready: .*download_port=\([0-9]*\).*/\1/p' "$TB_DIR/sn/sn.log")
home=$TB_DIR/hpeer
for f in f g; do
	rl_expect peer 0 "" -u "$ORIGIN_URL/$f.bin" -o "$TB_DIR/out/$f.bin" -n "$node" \
		--home "$home" --notbs --alivetime 10m --expiretime 10m || { echo "FAIL: seed $f"; exit 1; }
done
UP=$(_fl_upport "$home")
PA=$(tb_addr peer)
data=$home/data
tfn_f=$(basename "$(ls "$data"/f.bin-* | head -n 1)")
tfn_g=$(basename "$(ls "$data"/g.bin-* | head -n 1)")
rel=$(realpath --relative-to="$data" "$secret")
echo "path traversal: pieces $SNA:$DL, uploader $PA:$UP (data $data), secret $secret"

n=0
# get NAME WANT_ERE URL_PATH HOST_PORT [curl args]: curl from the evil host, --path-as-is;
# the status must match WANT_ERE and the body must not hold the marker.
get() {
	local name=$1 want=$2 path=$3 hp=$4 code f
	shift 4
	n=$((n + 1))
	f=$TB_DIR/resp/$n
	code=$(tb_exec evil curl -s --noproxy '*' --path-as-is --max-time 5 -o "$f" -w '%{http_code}' \
		"$@" "http://$hp$path") || true
	if grep -qa "$marker" "$f" 2>/dev/null; then
		rl_bad "$name: $path LEAKED the secret (HTTP $code)"
	elif [[ $code =~ ^($want)$ ]]; then
		rl_ok "$name: $path -> $code"
	else
		rl_bad "$name: $path -> $code, want $want"
	fi
}
# raw NAME REQUEST HOST PORT: a request sent as is (for targets curl would normalize).
raw() {
	local name=$1 req=$2 addr=$3 port=$4 f got
	n=$((n + 1))
	f=$TB_DIR/resp/$n
	got=$(printf '%b' "$req" | tb_exec evil "$HC" raw -a "$addr" -p "$port" -t 5 -o "$f" | head -n 1)
	if grep -qa "$marker" "$f" 2>/dev/null; then
		rl_bad "$name LEAKED the secret ($got)"
	elif [[ $got =~ ^(HTTP/1\.[01]\ 4[0-9][0-9]|none) ]]; then
		rl_ok "$name -> $got"
	else
		rl_bad "$name -> $got, want 4xx"
	fi
}
piece=(-H "Range: bytes=0-4194303" -H "pieceNum: 0" -H "pieceSize: 4194304")

echo "-- the uploader"
U=$PA:$UP
get "uploader, a served file" 206 "/peer/file/$tfn_f" "$U" "${piece[@]}"
for p in "../$rel" "../../../../../../../../etc/passwd" "..%2f$rel" "%2e%2e/$rel" \
	"%2e%2e%2f${rel//\//%2f}" "%2E%2E%2F${rel//\//%2F}" ".%2e/$rel" "$tfn_f/../../$rel" \
	"/$secret" "%2f${secret//\//%2f}" "..\\..\\secret.txt" "$tfn_f%2f..%2f..%2f$rel" \
	"." ".." "%2e" "~root"; do
	get "uploader" '40[0-9]' "/peer/file/$p" "$U" "${piece[@]}"
done
# libmicrohttpd decodes %00 and the name ends there: the file it names, nothing else
get "uploader, a NUL after a served name" '40[0-9]|206' "/peer/file/$tfn_f%00/../../$rel" "$U" "${piece[@]}"
get "uploader, double slash" '40[0-9]' "//peer/file/$tfn_f/../../$rel" "$U" "${piece[@]}"
raw "uploader, absolute-form target" "GET http://$U/peer/file/../../$rel HTTP/1.1\\r\\nHost: x\\r\\nRange: bytes=0-99\\r\\npieceNum: 0\\r\\npieceSize: 4194304\\r\\n\\r\\n" "$PA" "$UP"
for ep in "/check/$tfn_f" "/rate/$tfn_f" "/client/finish?taskFileName=$tfn_f&taskID=x&cid=y"; do
	get "uploader, a local-only endpoint from another host" 403 "$ep" "$U" -H "dataDir: $TB_DIR"
done
# /check from the peer itself, with names that carry a path or a foreign dataDir
for p in "../$rel" "%2e%2e%2f${rel//\//%2f}" "a%2fb"; do
	code=$(tb_exec peer curl -s --noproxy '*' --path-as-is --max-time 5 -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$UP/check/$p")
	[[ $code == 400 || $code == 404 ]] && rl_ok "uploader, local /check/$p -> $code" ||
		rl_bad "uploader, local /check/$p -> $code, want 400"
done
code=$(tb_exec peer curl -s --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' \
	-H "dataDir: $TB_DIR" "http://127.0.0.1:$UP/check/secret.txt")
[[ $code == 403 ]] && rl_ok "uploader, local /check with another dataDir -> 403" ||
	rl_bad "uploader, local /check with another dataDir -> $code, want 403"
# symlinks planted in the data folder, in place of files the uploader serves
ln -sf "$secret" "$data/$tfn_g"
get "uploader, a served file replaced by a symlink" '40[0-9]' "/peer/file/$tfn_g" "$U" "${piece[@]}"
ln -s "$secret" "$data/planted"
get "uploader, a planted symlink" '40[0-9]' "/peer/file/planted" "$U" "${piece[@]}"
mkdir -p "$TB_DIR/outside" && ln -s "$TB_DIR" "$data/dirlink"
get "uploader, through a planted directory symlink" '40[0-9]' "/peer/file/dirlink/secret.txt" "$U" "${piece[@]}"
got=$(tb_exec evil curl -s --noproxy '*' --max-time 5 "http://$U/server/ping")
[[ $got == success ]] && rl_ok "the uploader still answers" || rl_bad "the uploader does not answer: $got"

echo "-- the supernode's piece server"
P=$SNA:$DL
id=$(basename "$(find "$TB_DIR/sn/repo" -type f ! -name '*.meta' | head -n 1)")
get "pieces, a cached task" 206 "/download/${id:0:3}/$id" "$P" -H "Range: bytes=0-99"
srel=$(realpath --relative-to="$TB_DIR/sn/repo/download" "$secret")
for p in "../$srel" "../../../../../../../../etc/passwd" "%2e%2e/%2e%2e/$srel" \
	"${id:0:3}/../../$srel" "${id:0:3}/$id/../../../$srel" "${id:0:3}%2f..%2f..%2f$srel" \
	"${id:0:3}/..%2f..%2f$srel" "$secret" "%2f${secret//\//%2f}" \
	"${id:0:3}/${id:0:63}." "..\\..\\secret.txt"; do
	get "pieces" '40[0-9]|416' "/download/$p" "$P" -H "Range: bytes=0-99"
done
get "pieces, a NUL after a task's path" '40[0-9]|416|206' "/download/${id:0:3}/$id%00/../../$srel" "$P" -H "Range: bytes=0-99"
get "pieces, outside /download" '40[0-9]' "/$srel" "$P" -H "Range: bytes=0-99"
raw "pieces, absolute-form target" "GET http://$P/download/../$srel HTTP/1.1\\r\\nHost: x\\r\\nRange: bytes=0-99\\r\\n\\r\\n" "$SNA" "$DL"
# a symlink in the cache in place of the cached file of a task the supernode serves
cached=$(find "$TB_DIR/sn/repo" -type f -name "$id")
mv "$cached" "$cached.real" && ln -s "$secret" "$cached"
get "pieces, the cached file replaced by a symlink" '40[0-9]|416' "/download/${id:0:3}/$id" "$P" -H "Range: bytes=0-99"
rm -f "$cached" && mv "$cached.real" "$cached"
got=$(tb_exec evil curl -s --noproxy '*' --max-time 5 "http://$SNA:${FL_SN_API[sn]}/_ping")
[[ $got == OK ]] && rl_ok "the supernode still answers" || rl_bad "the supernode does not answer: $got"

fl_sn_stop sn
grep -E "Sanitizer|runtime error:" "$TB_DIR/sn/sn.log" >/dev/null &&
	rl_bad "sanitizer reports in the supernode's log"
printf 'path traversal: %d requests, %d failure(s), %.1f s\n' "$n" "$RL_FAILS" "$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { print a - b }')"
((RL_FAILS == 0))
