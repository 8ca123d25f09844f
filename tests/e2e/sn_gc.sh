#!/bin/bash
# Garbage collection on a running supernode: a transfer nobody reports is forgotten after
# piece-timeout (its supernode slot is free again); an idle task is forgotten after
# task-expire-time (its cache stays); the disk cache is kept under cache-size by deleting
# the least recently used file of a task not in memory, before a new fetch.
set -u
source "$(dirname "$0")/../lib/isolate.sh"
source "$top_srcdir/tests/lib/origin.sh"
source "$top_srcdir/tests/lib/supernode.sh"

work=$(mktemp -d /tmp/sn_gc.XXXXXX)
trap 'sn_stop; origin_stop_all; rm -rf "$work"' EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$work/sn/sn.log" ] && tail -n 30 "$work/sn/sn.log"
	exit 1
}
check() {
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}

mkdir -p "$work/www"
head -c 3000000 /dev/urandom >"$work/www/a.bin"
head -c 3000000 /dev/urandom >"$work/www/b.bin"
origin_start "$work/www" 127.0.0.1 0 || fail origin
sn_start "$work/sn" --piece-timeout 1s --task-expire-time 3s --cache-size 5MB \
	--cache-free-min 0 --cdn-up-limit 1 || fail "supernode start"

register() {
	jq -cn --arg u "$1" --arg c "$2" \
		'{rawUrl:$u, cid:$c, ip:"127.0.0.1", port:15001, path:"/peer/file/x"}' |
		curl -s -XPOST -d @- "$SN_URL/peer/registry"
}
pull() { curl -s "$SN_URL/peer/task?srcCid=$1&taskId=$2&status=700&result=502"; }
cache() { echo "$work/sn/repo/download/${1:0:3}/$1"; }
wait_for() { # wait_for SECONDS COMMAND...: until it succeeds
	local i n=$(($1 * 20))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
finished() { [ "$(jq -r .finished "$(cache "$1").meta" 2>/dev/null)" == true ]; }

# An unreported transfer frees the supernode's only slot after piece-timeout.
TA=$(register "$ORIGIN_URL/a.bin" x | jq -r .data.taskId)
register "$ORIGIN_URL/a.bin" y >/dev/null
wait_for 10 finished "$TA" || fail "a.bin not cached"
check "x gets the piece" "$(pull x "$TA" | jq -r '.data[0].cid')" "cdnnode:127.0.0.1~$TA"
t0=$(date +%s%N)
check "y waits while x holds the only supernode slot" "$(pull y "$TA" | jq -r .code)" 602
resp=$(curl -s "$SN_URL/peer/task?srcCid=y&taskId=$TA&status=701&result=502")
for ((i = 0; i < 5 && $(jq -r .code <<<"$resp") == 602; i++)); do
	resp=$(curl -s "$SN_URL/peer/task?srcCid=y&taskId=$TA&status=701&result=502")
done
check "... y's answer" "$(jq -r '.data[0].cid' <<<"$resp")" "cdnnode:127.0.0.1~$TA"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 900 ] || fail "x's transfer was forgotten after $ms ms, before piece-timeout"
echo "ok: forgotten after $ms ms"

# The idle task is forgotten (the cache stays), then evicted for b.bin: 3 + 3 MB > 5 MB.
wait_for 10 grep -q "task ${TA:0:12}: idle, forgotten" "$work/sn/sn.log" ||
	fail "task a was not forgotten"
echo "ok: idle task forgotten"
check "its pull now: unknown task" "$(pull x "$TA" | jq -r .code)" 502
[ -f "$(cache "$TA")" ] || fail "the cache of a forgotten task went with it"
echo "ok: its cache stays"
TB=$(register "$ORIGIN_URL/b.bin" z | jq -r .data.taskId)
wait_for 10 finished "$TB" || fail "b.bin not cached"
[ ! -e "$(cache "$TA")" ] && [ ! -e "$(cache "$TA").meta" ] || fail "a.bin was not evicted"
grep -q "cache gc: removed ${TA:0:12}" "$work/sn/sn.log" || fail "no eviction logged"
echo "ok: a.bin evicted to make room for b.bin"
sn_stop
check "exit status" "$SN_EXIT" 0
echo "PASS: sn_gc"
