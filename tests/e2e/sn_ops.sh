#!/bin/bash
# Operating the supernode: --help, --version, --check-config on good and bad files, clear
# start-up errors (bad flag, port taken), SIGHUP reopens the log file, SIGTERM exits 0.
# And the pull hold: with nothing to hand out, /peer/task waits (pull-hold) and answers
# 602, but answers at once when a piece becomes available (a peer's piece/suc).
set -u
source "$(dirname "$0")/../lib/isolate.sh"
source "$top_srcdir/tests/lib/origin.sh"
source "$top_srcdir/tests/lib/supernode.sh"

work=$(mktemp -d /tmp/sn_ops.XXXXXX)
bgpid=
trap '[ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null; sn_stop; origin_stop_all; rm -rf "$work"' EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$work/sn/sn.log" ] && tail -n 30 "$work/sn/sn.log"
	exit 1
}
check() {
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}
SN=$top_builddir/supernode
ms() { date +%s%3N; }

# Flags and configuration checks.
"$SN" --help >"$work/help" || fail "--help exit status"
grep -q -- '--advertise-ip' "$work/help" && grep -q -- '--check-config' "$work/help" ||
	fail "--help lacks flags"
echo "ok: --help"
check "--version" "$("$SN" --version)" "supernode $(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")"
printf '[supernode]\nport = 0\nup-limit = 7\nhome-dir = %s\n' "$work/h" >"$work/good.conf"
"$SN" --config "$work/good.conf" --check-config >"$work/out" 2>&1 || fail "good config refused: $(cat "$work/out")"
grep -q '^up-limit = 7$' "$work/out" || fail "check-config does not print the effective value"
echo "ok: --check-config on a good file"
printf '[supernode]\nup-limit = lots\n' >"$work/bad.conf"
"$SN" --config "$work/bad.conf" --check-config >"$work/out" 2>&1 && fail "bad config accepted"
grep -q "bad.conf:2: key 'up-limit'" "$work/out" || fail "bad config message: $(cat "$work/out")"
echo "ok: --check-config names the bad line"
"$SN" --bogus >"$work/out" 2>&1
check "unknown flag: exit status" "$?" 1
grep -q "unknown option --bogus" "$work/out" || fail "unknown flag message: $(cat "$work/out")"
"$SN" --config "$work/nope.conf" >"$work/out" 2>&1 && fail "a missing --config accepted"
grep -q "cannot read configuration file" "$work/out" || fail "missing config message"
echo "ok: a missing configuration file is an error"

# A taken port: exit 1 with the reason.
sn_start "$work/sn" --log-file "$work/log/sn.log" || fail "supernode start"
"$SN" --home-dir "$work/sn2" --port "$SN_API" --download-port 0 >"$work/out" 2>&1
check "port taken: exit status" "$?" 1
grep -q "cannot listen" "$work/out" || fail "port-taken message: $(cat "$work/out")"
echo "ok: port taken"

# SIGHUP reopens the log file (after logrotate moved it).
[ -s "$work/log/sn.log" ] || fail "no log file"
mv "$work/log/sn.log" "$work/log/sn.log.1"
kill -HUP "$SN_PID"
for ((i = 0; i < 100; i++)); do
	grep -q "log file reopened" "$work/log/sn.log" 2>/dev/null && break
	sleep 0.05
done
grep -q "log file reopened" "$work/log/sn.log" || fail "SIGHUP did not reopen the log"
echo "ok: SIGHUP reopens the log"
sn_stop
check "SIGTERM: exit status" "$SN_EXIT" 0
grep -q "stopping" "$work/log/sn.log" || fail "no stop logged"

# The pull hold. One piece; the supernode serves one transfer at a time (cdn-up-limit 1).
mkdir -p "$work/www"
head -c 1000 /dev/urandom >"$work/www/one.bin"
origin_start "$work/www" 127.0.0.1 0 || fail origin
sn_start "$work/sn" --cdn-up-limit 1 --pull-hold 2s || fail "supernode start"
reg() {
	jq -cn --arg u "$ORIGIN_URL/one.bin" --arg c "$1" --argjson p "$2" \
		'{rawUrl:$u, cid:$c, ip:"127.0.0.1", port:$p, path:("/peer/file/" + $c)}' |
		curl -s -XPOST -d @- "$SN_URL/peer/registry"
}
TASK=$(reg a 15001 | jq -r .data.taskId)
reg b 15002 >/dev/null
pull() { curl -s "$SN_URL/peer/task?srcCid=$1&taskId=$TASK&status=$2&result=$3&range=$4&dstCid=$5"; }
resp=$(pull a 700 502 "" "")
check "a gets the piece from the supernode" "$(jq -r '.data[0].cid' <<<"$resp")" "cdnnode:127.0.0.1~$TASK"
# b: the only copy is in flight from the busy supernode: it waits the whole hold.
t0=$(ms)
resp=$(pull b 700 502 "" "")
t1=$(ms)
check "b, nothing available: 602" "$(jq -r .code <<<"$resp")" 602
[ $((t1 - t0)) -ge 1800 ] && [ $((t1 - t0)) -lt 4000 ] || fail "the hold took $((t1 - t0)) ms, want about 2000"
echo "ok: the hold lasted $((t1 - t0)) ms"
# b waits again; a reports the piece: b is answered at once, sent to a.
(pull b 701 502 "" "" >"$work/b.out"; ms >"$work/b.t") &
bgpid=$!
sleep 0.3
t0=$(ms)
check "a: piece/suc" "$(curl -s "$SN_URL/peer/piece/suc?taskId=$TASK&cid=a&dstCid=cdnnode:x&pieceRange=0-4194303" | jq -r .code)" 611
wait "$bgpid"
bgpid=
t1=$(cat "$work/b.t")
check "b is answered with a piece" "$(jq -r .code "$work/b.out")" 601
check "... from a" "$(jq -r '.data[0].cid' "$work/b.out")" a
[ $((t1 - t0)) -lt 500 ] || fail "b was answered $((t1 - t0)) ms after the piece appeared"
echo "ok: b was answered $((t1 - t0)) ms after a's report"
check "a is done" "$(pull a 701 503 0-4194303 "cdnnode:127.0.0.1~$TASK" | jq -r .code)" 600
sn_stop
check "exit status" "$SN_EXIT" 0
echo "PASS: sn_ops"
