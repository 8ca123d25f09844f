#!/bin/bash
# tests/e2e/fault_origin.sh -- origin faults on the testbed, for the supernode's CDN fetch
# (dfget --notbs through the supernode) and for dfget's own back-to-source (-p source):
# 404, 500, 401, a body cut short, a connection reset, a stall, a Content-Length longer
# than the body, a HEAD that announces another length than the GET delivers, and content
# that changes between requests (alone and with a cut, so a resume meets new content).
# The origin is tests/tools/faultorigin (fault chosen by the first path segment).
# Every case ends with the exact bytes (or one whole version of changing content) or with
# the documented exit code, a message naming the cause and no file at the output path;
# transient faults (cut-1, reset-1, stall-1, 500-1) are survived; content that changes
# under a resume fails the task rather than splice two versions. Afterwards the supernode
# still answers /_ping and a fresh download is correct.
# Exit 0 on success, 1 on failure, 77 (SKIP) without root or network namespaces.
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
t0=$EPOCHREALTIME
tb_init || { echo "FAIL: tb_init"; exit 1; }
tb_add_host origin "$TB_ORIGIN_ADDR" 0 0 &&
	tb_add_host sn "$TB_SUPERNODE_ADDR" 0 0 &&
	tb_add_host c1 "$(tb_client_addr 1)" 0 0 || { echo "FAIL: tb_add_host"; exit 1; }
www=$TB_DIR/www
out=$TB_DIR/out
mkdir -p "$www" "$out"
SIZE=$((13 << 20)) # a cut at a third leaves piece 0 whole: a resume starts after it
head -c "$SIZE" /dev/urandom >"$www/f.bin"
cp "$www/f.bin" "$www/s.bin" # s.bin: the -p source cases (their own request counters)
sha=$(rl_sha "$www/f.bin")
fo_start origin "$www" -s 120 || { echo "FAIL: faultorigin"; exit 1; }
# A stalled source fails after 2 s without data (and is retried, twice).
fl_sn_start sn "$TB_DIR/sn" --source-stall-timeout 2s --fail-access-interval 0 ||
	{ echo "FAIL: supernode"; exit 1; }
node=$(fl_sn_node sn)
SN_URL=http://$node
echo "origin faults: faultorigin $FO_URL, supernode $node, $((SIZE >> 20)) MiB file"

secs() { awk -v a="$EPOCHREALTIME" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }

# via_sn FAULT RC WORDS: dfget through the supernode, never from the source.
via_sn() {
	local fault=$1 rc=$2 words=$3 o=$out/sn-${1//+/_} t=$EPOCHREALTIME
	if rl_expect c1 "$rc" "$words" -u "$FO_URL/$fault/f.bin" -o "$o" -n "$node" \
		--home "$TB_DIR/h-sn" -s 0 --notbs -e 60s; then
		if [[ $rc == 0 ]]; then
			check_bytes "supernode, $fault" "$o" || return 1
		else
			rl_no_output "$o" || return 1
		fi
		rl_ok "supernode, $fault ($(secs "$t") s): exit $rc$([[ $rc != 0 ]] && printf ': %s' "$(tail -n 1 <<<"$RL_ERR" | cut -c1-150)")"
	fi
}

# via_source FAULT RC WORDS [ARGS]: dfget straight from the source.
via_source() {
	local fault=$1 rc=$2 words=$3 o=$out/src-${1//+/_} t=$EPOCHREALTIME
	shift 3
	if rl_expect c1 "$rc" "$words" -u "$FO_URL/$fault/s.bin" -o "$o" -p source \
		--home "$TB_DIR/h-src" -s 0 "$@"; then
		if [[ $rc == 0 ]]; then
			check_bytes "source, $fault" "$o" || return 1
		else
			rl_no_output "$o" || return 1
		fi
		rl_ok "source, $fault ($(secs "$t") s): exit $rc$([[ $rc != 0 ]] && printf ': %s' "$(tail -n 1 <<<"$RL_ERR" | cut -c1-150)")"
	fi
}

# check_bytes WHAT FILE: the exact file, or for changing content one whole version of it.
check_bytes() {
	local what=$1 f=$2 v
	if [[ $what == *change* ]]; then
		v=$(fo_version "$www/f.bin" "$f") || { rl_bad "$what: not one version: $v"; return 1; }
		rm -f "$f"
		return 0
	fi
	[[ $(rl_sha "$f") == "$sha" ]] || { rl_bad "$what: sha256 differs"; return 1; }
	rm -f "$f"
}

# The cases are independent (each its own path, so its own request counter at the
# origin): run them all at once, each one's report in its own file, printed in order.
cases=()
case_pids=()
par() {
	local n=${#cases[@]}
	cases+=("$*")
	("$@") >"$TB_DIR/case.$n" 2>&1 &
	case_pids+=($!)
}
collect() {
	local i
	for i in "${!case_pids[@]}"; do
		wait "${case_pids[i]}"
		cat "$TB_DIR/case.$i"
		RL_FAILS=$((RL_FAILS + $(grep -c '^  FAIL' "$TB_DIR/case.$i")))
	done
	cases=()
	case_pids=()
}

echo "-- the supernode's CDN fetch (dfget --notbs), and dfget back to the source (-p source)"
par via_sn 404 1104 "404"
par via_sn 500 1104 "500"
par via_sn 401 1103 "credentials"
par via_sn cut 1104 "source"
par via_sn reset 1104 "source"
par via_sn stall 1104 "source"
par via_sn longlen 1104 "source"
par via_sn headlen 1104 "length"
par via_sn change 0 ""
par via_sn cut-1 0 ""
par via_sn reset-1 0 ""
par via_sn stall-1 0 ""
# the resume meets new content (If-Range fails, a whole new version comes): the pieces
# already handed out belong to the old one, so the task fails cleanly
par via_sn change+cut-1 1104 "changed"
par via_source 404 1104 "404"
par via_source 500 1104 "500"
par via_source 401 1104 "401"
par via_source cut 1104 "source|transfer|closed|partial"
par via_source reset 1104 "source|reset|Recv"
par via_source stall 1104 "timed out|timeout|too slow|stall" -e 4s
par via_source longlen 1104 "source|transfer|closed|partial"
par via_source headlen 0 ""
par via_source change 0 ""
par via_source change+cut-1 1104 "source|transfer|closed|partial"
collect
# The resume after a cut asked for the rest only (Range), and the cut file came whole.
n=$(fo_count '^GET /cut-1/f\.bin bytes=[1-9]')
((n >= 1)) && rl_ok "the supernode resumed the cut fetch with a Range request ($n)" ||
	rl_bad "no Range request resumed the cut fetch: $(grep cut-1/f.bin "$FO_LOG" | tr '\n' ';')"
# The resume of changing content asked with If-Range and got the new version whole.
n=$(fo_count '^GET /change\+cut-1/f\.bin')
((n >= 2)) && rl_ok "changing content: $n GETs, the change was noticed" ||
	rl_bad "change+cut-1: $n GETs (want a cut one and a whole one)"

echo "-- P2P, then the source: the supernode fails once, the source works"
o=$out/fallback
if rl_expect c1 0 "source" -u "$FO_URL/500-1/f.bin" -o "$o" -n "$node" --home "$TB_DIR/h-fb" -s 0; then
	check_bytes "fallback" "$o" && rl_ok "a 500 at the supernode's fetch: dfget fetched the source itself"
fi

echo "-- the services afterwards"
rl_ping c1 "$SN_URL" && rl_ok "the supernode answers /_ping"
o=$out/fresh
if rl_expect c1 0 "" -u "$FO_URL/ok/f.bin" -o "$o" -n "$node" --home "$TB_DIR/h-fresh" -s 0 --notbs; then
	check_bytes "fresh download" "$o" && rl_ok "a fresh download through the supernode is correct"
fi
kill -0 "${FL_SN_PID[sn]}" 2>/dev/null || rl_bad "the supernode died"
fl_sn_stop sn
if grep -E "Sanitizer|runtime error:" "$TB_DIR/sn/sn.log" >/dev/null; then
	rl_bad "sanitizer reports in the supernode's log"
fi

printf 'origin faults: %d failure(s), %.1f s\n' "$RL_FAILS" "$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { print a - b }')"
((RL_FAILS == 0))
