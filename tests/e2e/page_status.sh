#!/bin/bash
# The status page in a real headless Chromium (Debian's chromium, driven by playwright-core
# from npm): a supernode serving www/ from the source tree, real downloads of two files by
# five dfget processes, one peer isolated (a client reports a bad piece from it); the page
# must refresh by itself, draw its chart, show the same peers, health, tasks and numbers as
# the API, highlight the isolated peer, show time against the minimum, fit a phone, and
# raise no page or CSP error. Screenshots go to tests/e2e/page_status.d/ in the build.
#
# playwright-core is installed (pinned) into BUILD/tests/node before the test isolates
# itself (the namespace has no network); set DF_NODE_DIR to use another directory.
PW_VERSION=1.65.1
if [ -z "${DF_ISOLATED:-}" ] && [ -z "${DF_SKIP_E2E:-}" ]; then
	: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
	: "${top_builddir:=$top_srcdir/build}"
	export DF_NODE_DIR=${DF_NODE_DIR:-$top_builddir/tests/node}
	if [ ! -f "$DF_NODE_DIR/node_modules/playwright-core/package.json" ] ||
		! grep -q "\"version\": \"$PW_VERSION\"" "$DF_NODE_DIR/node_modules/playwright-core/package.json"; then
		command -v npm >/dev/null || { echo "FAIL: npm is missing (scripts/install-deps.sh test)"; exit 1; }
		mkdir -p "$DF_NODE_DIR"
		timeout 300 npm install --prefix "$DF_NODE_DIR" --no-audit --no-fund --no-save \
			--loglevel=error "playwright-core@$PW_VERSION" ||
			{ echo "FAIL: npm install playwright-core@$PW_VERSION"; exit 1; }
	fi
fi
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT
set -u
fail() {
	echo "FAIL: $*"
	[ -f "$DG_TMP/sn/sn.log" ] && tail -n 20 "$DG_TMP/sn/sn.log"
	exit 1
}
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (scripts/install-deps.sh test)"
command -v node >/dev/null || fail "node is missing (scripts/install-deps.sh test)"
out=$top_builddir/tests/e2e/page_status.d
rm -rf "$out"
mkdir -p "$out"

mkdir -p "$DG_TMP/www"
head -c $((10 << 20)) /dev/urandom >"$DG_TMP/www/big.bin"
head -c $((3 << 20)) /dev/urandom >"$DG_TMP/www/small.bin"
origin_start "$DG_TMP/www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" --www-dir "$top_srcdir/www" --client-rate 200MB || exit 1
get() {
	DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$ORIGIN_URL/$1" -o "$DG_TMP/$2.out" \
		-n "$(dg_node)" --home "$(dg_home "$2")" -s 0 --notbs 2>"$DG_TMP/$2.err" ||
		fail "dfget $1 for $2: $(cat "$DG_TMP/$2.err")"
}
get big.bin a
get big.bin b & p1=$!
get big.bin c & p2=$!
get small.bin d & p3=$!
get small.bin e
wait "$p1" "$p2" "$p3" || fail "a download failed"
echo "ok: five downloads"

# An isolated peer: it registered with an uploader, and a client reports a bad piece
# from it.
task=$(curl -s "$SN_URL/api/v1/tasks" | jq -r '.[] | select(.taskURL | endswith("/small.bin")) | .ID')
reg() {
	jq -cn --arg u "$ORIGIN_URL/small.bin" --arg c "$1" --argjson p "$2" \
		'{rawUrl:$u, cid:$c, ip:"127.0.0.1", hostName:"bad-host", port:$p, path:("/peer/file/" + $c)}' |
		curl -s -XPOST -d @- "$SN_URL/peer/registry" >/dev/null
}
reg bad 15099
reg victim 0
curl -s "$SN_URL/peer/piece/error?taskId=$task&range=0-4194303&srcCid=victim&dstCid=bad&dstIp=127.0.0.1&errorType=FILE_MD5_NOT_MATCH" >/dev/null
[ "$(curl -s "$SN_URL/api/v1/peers/127.0.0.1:15099" | jq -r .health)" == isolated ] ||
	fail "the bad peer is not isolated"
echo "ok: one peer isolated"

HOME=$DG_TMP node "$top_srcdir/tests/lib/page_check.js" "$DF_NODE_DIR" "$SN_URL" "$out" ||
	fail "the page check failed"
[ -s "$out/page-desktop.png" ] && [ -s "$out/page-phone.png" ] || fail "no screenshots"
echo "ok: screenshots: $out/page-desktop.png, $out/page-phone.png"
# The page's files: content types, and nothing outside www/ is served.
check_ct() {
	local ct
	ct=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$SN_URL$1")
	[ "$ct" == "$2" ] || fail "GET $1: $ct, want $2"
	echo "ok: GET $1: $ct"
}
check_ct / "200 text/html; charset=utf-8"
check_ct /app.js "200 text/javascript; charset=utf-8"
check_ct /style.css "200 text/css; charset=utf-8"
check_ct /nope.html "404 text/plain; charset=utf-8"
[ "$(curl -s -o /dev/null -w '%{http_code}' --path-as-is "$SN_URL/../etc/passwd")" != 200 ] ||
	fail "a path outside www/ was served"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$SN_URL/.hidden")" == 404 ] || fail "a dot file path"
sn_stop
[ "$SN_EXIT" == 0 ] || fail "exit status $SN_EXIT"
echo "PASS: page_status"
