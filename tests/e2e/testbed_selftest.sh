#!/bin/bash
# tests/e2e/testbed_selftest.sh -- checks tests/lib/testbed.sh: an origin and two clients on
# the namespaced switch; a client shaped to 40 Mbit/s downloads 20 MB from nginx at that rate
# with the right bytes; two clients share an origin upload of 40 Mbit/s fairly; counters add
# up; teardown leaves no namespace, process or interface behind.
# Exit 0 on success, 1 on failure, 77 (SKIP) without root, network namespaces or nginx.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/isolate.sh
. "$here/../lib/isolate.sh"
# shellcheck source=tests/lib/testbed.sh
. "$here/../lib/testbed.sh"

tb_check || { echo "SKIP: no testbed on this machine (see above)"; exit 77; }
for c in curl sha256sum; do
	command -v "$c" >/dev/null 2>&1 || { echo "SKIP: $c not found"; exit 77; }
done
_origin_nginx >/dev/null || { echo "SKIP: nginx not found (apt-get install nginx-light)"; exit 77; }

RATE=40          # Mbit/s
TOL=15           # percent
BIG=20000000     # bytes
SMALL=10000000   # bytes, fetched by two clients at once
t0=$EPOCHREALTIME
failures=0
ok() { printf '  ok    %s\n' "$*"; }
bad() { printf '  FAIL  %s\n' "$*"; failures=$((failures + 1)); }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
# within X WANT PCT: |X - WANT| <= PCT% of WANT
within() { awk -v x="$1" -v w="$2" -v p="$3" 'BEGIN { d = x - w; if (d < 0) d = -d; exit !(d <= w * p / 100) }'; }
elapsed() { calc "$EPOCHREALTIME - $t0"; }

links_before=$(ip -o link show | wc -l)
echo "testbed self-test"
# shellcheck disable=SC2119 # default prefix
tb_init || { echo "FAIL: tb_init"; exit 1; }
prefix=$TB_PREFIX
tbdir=$TB_DIR
if ! tb_add_host origin "$TB_ORIGIN_ADDR" 0 0 ||
	! tb_add_host c1 "$(tb_client_addr 1)" 0 "$RATE" ||
	! tb_add_host c2 "$(tb_client_addr 2)" 0 0; then
	echo "FAIL: tb_add_host"
	exit 1
fi
ok "3 hosts on $prefix-sw in $(elapsed) s: origin $(tb_addr origin), c1 $(tb_addr c1), c2 $(tb_addr c2)"

# The data (30 MB) is not worth keeping with the logs when the test fails.
work=$(mktemp -d "${TMPDIR:-/tmp}/testbed_selftest.XXXXXX")
tb_cleanup_hook() { rm -rf "$work"; }
www=$work/srv
dl=$work/dl
mkdir -p "$www" "$dl"
head -c "$BIG" /dev/urandom >"$www/big.bin"
head -c "$SMALL" /dev/urandom >"$www/small.bin"
sum_big=$(sha256sum <"$www/big.bin" | cut -d' ' -f1)
sum_small=$(sha256sum <"$www/small.bin" | cut -d' ' -f1)
tb_origin_start origin "$www" 80 || { echo "FAIL: tb_origin_start"; exit 1; }
ok "nginx at $ORIGIN_URL inside $(tb_ns origin)"

# Isolation: nothing new in our own namespace; lo up in the hosts; the hosts reach each other.
[[ $(ip -o link show | wc -l) == "$links_before" ]] || bad "interfaces appeared in the calling namespace"
if tb_exec c1 ip -o link show lo | grep -q 'LOOPBACK,UP'; then ok "lo is up in c1"; else bad "lo is down in c1"; fi
if tb_exec c2 bash -c ': <>/dev/tcp/127.0.0.1/1' 2>&1 | grep -q 'Connection refused'; then
	ok "loopback works in c2 (127.0.0.1:1 refuses the connection)"
else
	bad "loopback does not work in c2"
fi
if [[ $(tb_exec c1 hostname) == c1 ]]; then ok "hostname in c1 is c1"; else bad "hostname in c1 is not c1"; fi
if tb_exec c2 ip neigh show 198.18.0.10 | grep -q PERMANENT; then ok "static neighbours"; else bad "no static neighbour entry for c1 in c2"; fi

# 1. One client, download shaped to RATE.
tx0=$(tb_tx_bytes origin)
rx0=$(tb_rx_bytes c1)
read -r code secs < <(tb_exec c1 curl -s --noproxy '*' --max-time 60 -o "$dl/c1.big" \
	-w '%{http_code} %{time_total}\n' "$ORIGIN_URL/big.bin")
origin_wait_requests 1 '^/big\.bin$' 5 || true
tx=$(($(tb_tx_bytes origin) - tx0))
rx=$(($(tb_rx_bytes c1) - rx0))
mbit=$(calc "$BIG * 8 / ${secs:-1} / 1e6" 2)
if [[ ${code:-} == 200 && $(sha256sum <"$dl/c1.big" | cut -d' ' -f1) == "$sum_big" ]]; then
	ok "c1 got big.bin ($BIG bytes), sha256 matches"
else
	bad "c1 download: status ${code:-none}, sha256 mismatch or missing"
fi
if within "$mbit" "$RATE" "$TOL"; then
	ok "c1 download rate $mbit Mbit/s in $(calc "$secs" 2) s (shaped to $RATE, tolerance $TOL%)"
else
	bad "c1 download rate $mbit Mbit/s in $secs s, want $RATE +-$TOL%"
fi
if ((tx >= BIG && rx >= BIG)); then
	ok "counters: origin tx +$tx, c1 rx +$rx bytes (>= $BIG)"
else
	bad "counters: origin tx +$tx, c1 rx +$rx bytes, want >= $BIG"
fi
sent=$(origin_bytes_sent)
if ((sent == BIG)); then ok "nginx log: $sent body bytes"; else bad "nginx log: $sent body bytes, want $BIG"; fi

# 2. Two clients at once share the origin's upload, shaped to RATE now.
tb_shape origin "$RATE" 0 || bad "tb_shape origin"
tb_shape c1 0 0 || bad "tb_shape c1"
pids=()
for c in c1 c2; do
	tb_spawn "$c" "$TB_DIR/$c.curl" curl -s --noproxy '*' --max-time 60 -o "$dl/$c.small" \
		-w '%{http_code} %{time_total}\n' "$ORIGIN_URL/small.bin"
	pids+=("$TB_LAST_PID")
done
share_ok=1
for i in 0 1; do
	c=c$((i + 1))
	tb_wait "${pids[i]}" 60 || { bad "$c: curl failed"; share_ok=0; continue; }
	read -r code secs <"$TB_DIR/$c.curl"
	got=$(sha256sum <"$dl/$c.small" | cut -d' ' -f1)
	[[ $code == 200 && $got == "$sum_small" ]] || { bad "$c: status $code or sha256 mismatch"; share_ok=0; }
	declare "secs_$c=$secs"
done
if ((share_ok)); then
	# shellcheck disable=SC2154 # set by declare above
	r1=$(calc "$SMALL * 8 / $secs_c1 / 1e6" 2)
	# shellcheck disable=SC2154
	r2=$(calc "$SMALL * 8 / $secs_c2 / 1e6" 2)
	total=$(calc "2 * $SMALL * 8 / ($secs_c1 > $secs_c2 ? $secs_c1 : $secs_c2) / 1e6" 2)
	ok "c1 and c2 got small.bin concurrently, sha256 matches"
	if within "$total" "$RATE" "$TOL"; then
		ok "shared origin upload: $total Mbit/s together (shaped to $RATE)"
	else
		bad "shared origin upload: $total Mbit/s together, want $RATE +-$TOL%"
	fi
	half=$(calc "$RATE / 2" 1)
	if within "$r1" "$half" 25 && within "$r2" "$half" 25; then
		ok "fair share: c1 $r1, c2 $r2 Mbit/s (about $half each)"
	else
		bad "unfair share: c1 $r1, c2 $r2 Mbit/s, want $half +-25% each"
	fi
fi

# 3. Teardown: a recorded process, an unrecorded grandchild and nginx all go.
tb_spawn c2 /dev/null sleep 300
spawned=$TB_LAST_PID
stray=$(tb_exec c2 sh -c 'sleep 301 >/dev/null 2>&1 & echo $!')
nginx_pid=$ORIGIN_PID
tb_teardown
tb_teardown # idempotent
left=$(ip netns list | awk '{print $1}' | grep -c "^$prefix-")
if ((left == 0)); then ok "teardown: no namespace $prefix-* left"; else bad "teardown: $left namespaces $prefix-* left"; fi
alive=0
for p in "$spawned" "$stray" "$nginx_pid"; do
	if _tb_alive "$p"; then
		bad "teardown: pid $p still running: $(tr '\0' ' ' <"/proc/$p/cmdline")"
		alive=1
	fi
done
((alive)) || ok "teardown: spawned ($spawned), stray ($stray) and nginx ($nginx_pid) processes gone"
[[ -e $tbdir ]] && bad "teardown: $tbdir left"
[[ -e $work ]] && bad "teardown: tb_cleanup_hook did not run"
[[ $(ip -o link show | wc -l) == "$links_before" ]] || bad "teardown: interfaces left in the calling namespace"

printf 'testbed self-test: %d failure(s), %s s\n' "$failures" "$(elapsed)"
((failures == 0))
