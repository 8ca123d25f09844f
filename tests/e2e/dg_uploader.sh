#!/bin/bash
# The per-host uploader (`dfget server`) with real processes: eight dfgets started at once
# on one host start exactly one uploader and all register with it; it serves the host's
# files to another host; a finished file unused for --expiretime is deleted while the
# uploader stays; SIGHUP reopens its log; after --alivetime idle it tells the supernode
# service/down, deletes what it served, clears host.meta and exits; the next dfget starts
# a new one.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT
set -u
fail=0
M=$((1 << 20))
www=$DG_TMP/www
mkdir -p "$www" "$DG_TMP/out"
for i in 1 2 3 4 5 6 7 8; do head -c $((2 * M + i)) /dev/urandom >"$www/f$i"; done
origin_start "$www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" -D || exit 1
node=$(dg_node)
home=$(dg_home H)

# uploaders of a home: processes running "dfget server --home HOME"
uploaders_of() {
	local p n=0
	for p in /proc/[0-9]*; do
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "server --home $1 " && n=$((n + 1))
	done
	echo $n
}

# wait_for SECONDS CMD...: poll (every 50 ms) until CMD succeeds
wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# 1. Eight at once on one host: one uploader.
pids=()
for i in 1 2 3 4 5 6 7 8; do
	DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$ORIGIN_URL/f$i" -o "$DG_TMP/out/f$i" \
		-n "$node" --home "$home" --alivetime 3s --expiretime 1h --notbs \
		2>"$DG_TMP/f$i.err" &
	pids+=($!)
done
for i in 1 2 3 4 5 6 7 8; do
	wait "${pids[i - 1]}" || { dg_fail "f$i: $(cat "$DG_TMP/f$i.err")"; fail=1; }
	cmp -s "$DG_TMP/out/f$i" "$www/f$i" || { dg_fail "f$i differs"; fail=1; }
done
n=$(uploaders_of "$home")
[[ $n == 1 ]] || { dg_fail "$n uploaders run for one home"; fail=1; }
port=$(dg_uploader_port "$home")
tasks=$(curl -s --noproxy '*' "http://127.0.0.1:$port/server/stats" | grep -o '"finished":true' | wc -l)
[[ $tasks == 8 ]] || { dg_fail "the uploader has $tasks finished files, want 8"; fail=1; }
[[ $(ls "$home/data" | wc -l) == 8 ]] || { dg_fail "data files: $(ls "$home/data")"; fail=1; }

# 2. Another host fetches f1: its pieces come from H's uploader.
dg_expect 0 "100% from peers" -u "$ORIGIN_URL/f1" -o "$DG_TMP/out/g1" -n "$node" \
	--home "$(dg_home G)" --notbs || fail=1

# 2b. A home whose host.meta names another home's uploader (a reused port) gets its own.
zhome=$(dg_home Z)
mkdir -p "$zhome/meta"
printf '{"servicePort":%s}\n' "$port" >"$zhome/meta/host.meta"
dg_expect 0 "" -u "$ORIGIN_URL/f3" -o "$DG_TMP/out/z3" -n "$node" --home "$zhome" --notbs ||
	fail=1
zport=$(dg_uploader_port "$zhome")
[[ $zport != 0 && $zport != "$port" ]] || { dg_fail "home Z uses port $zport (H has $port)"; fail=1; }
[[ $(uploaders_of "$zhome") == 1 ]] || { dg_fail "home Z has no uploader of its own"; fail=1; }

# 3. logrotate: after SIGHUP the uploader writes to a new dfserver.log.
upid=$(cat "$home/meta/uploader.pid")
mv "$home/logs/dfserver.log" "$home/logs/dfserver.log.1"
kill -HUP "$upid"
log_back() { grep -q "log reopened" "$home/logs/dfserver.log" 2>/dev/null; }
wait_for 5 log_back || { dg_fail "no new dfserver.log after SIGHUP"; fail=1; }

# 4. Idle for --alivetime (3 s): service down to the supernode, files gone, host.meta
#    cleared, process gone.
wait_for 15 test ! -e "/proc/$upid" || { dg_fail "the uploader did not exit when idle"; fail=1; }
[[ $(dg_uploader_port "$home") == 0 ]] || { dg_fail "host.meta still names a port"; fail=1; }
[[ -z $(ls "$home/data") ]] || { dg_fail "files left after exit: $(ls "$home/data")"; fail=1; }
grep -q "idle for .* shutting down" "$home/logs/dfserver.log" || { dg_fail "no idle exit in the log"; fail=1; }
downs=$(grep -c "went down" "$SN_HOME/sn.log")
((downs >= 8)) || { dg_fail "the supernode heard service/down $downs times, want 8"; fail=1; }
[[ -s $DG_TMP/out/f1 ]] || { dg_fail "the output went with the served file"; fail=1; }

# 5. The next dfget starts a new uploader; --expiretime 1s deletes its file while it stays.
dg_expect 0 "" -u "$ORIGIN_URL/f2" -o "$DG_TMP/out/f2b" -n "$node" --home "$home" \
	--alivetime 1m --expiretime 1s --notbs || fail=1
upid2=$(cat "$home/meta/uploader.pid")
[[ $upid2 != "$upid" && -e /proc/$upid2 ]] || { dg_fail "no new uploader"; fail=1; }
data_empty() { [[ -z $(ls "$home/data") ]]; }
wait_for 10 data_empty || { dg_fail "expired file not deleted: $(ls "$home/data")"; fail=1; }
[[ -e /proc/$upid2 ]] || { dg_fail "the uploader exited instead of expiring the file"; fail=1; }
cmp -s "$DG_TMP/out/f2b" "$www/f2" || { dg_fail "f2b differs"; fail=1; }

[[ $fail == 0 ]] && echo "PASS: uploader lifecycle"
exit $fail
