#!/bin/bash
# The download engine as a library, the way dfdaemon runs it: one process (dg_engine_probe)
# runs three downloads at once against a real supernode and origin; in every progress
# callback the bytes the engine calls final (in order) are compared with the original
# file; a fourth download is cancelled from its callback and must leave nothing.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/origin.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap 'dg_cleanup; sn_stop; origin_stop_all' EXIT
set -u
probe=$top_builddir/tests/unit/dg_engine_probe
[[ -x $probe ]] || { echo "SKIP: $probe is not built"; exit 77; }
www=$DG_TMP/www
mkdir -p "$www" "$DG_TMP/out"
head -c $((40 << 20)) /dev/urandom >"$www/f.bin"
# the same bytes under three names: three tasks of identical content
ln "$www/f.bin" "$www/g.bin"
ln "$www/f.bin" "$www/h.bin"
ln "$www/f.bin" "$www/c.bin"
origin_start "$www" 127.0.0.1 0 || exit 1
sn_start "$DG_TMP/sn" || exit 1
fail=0
DFGET=$DFGET "$probe" "$(dg_node)" "$(dg_home E)" "$www/f.bin" "$DG_TMP/out" \
	"$ORIGIN_URL/f.bin" "$ORIGIN_URL/g.bin" "$ORIGIN_URL/h.bin" cancel "$ORIGIN_URL/c.bin" ||
	fail=1
for i in 0 1 2; do
	cmp -s "$DG_TMP/out/out$i" "$www/f.bin" || { dg_fail "out$i differs"; fail=1; }
done
left=$(ls -A "$DG_TMP/out" | grep -v '^out[012]$')
[[ -z $left ]] || { dg_fail "left behind: $left"; fail=1; }
[[ $fail == 0 ]] && echo "PASS: engine library"
exit $fail
