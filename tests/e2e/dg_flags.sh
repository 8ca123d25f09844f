#!/bin/bash
# dfget's command line, run as a real process: help and version; every bad flag or URL
# exits 1 with a message that names the problem and leaves no file behind; a bad
# configuration file names file and line; a work home that cannot be created exits 1101.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/dfget.sh"
trap dg_cleanup EXIT
set -u
fail=0
out=$DG_TMP/out.bin

dg_expect 0 "" --help || fail=1
grep -q -- "--locallimit" "$DG_TMP/last.out" || { dg_fail "--help lacks --locallimit"; fail=1; }
dg_expect 0 "" --version || fail=1
grep -q "^dfget [0-9]" "$DG_TMP/last.out" || { dg_fail "--version: $(cat "$DG_TMP/last.out")"; fail=1; }
dg_expect 0 "" version || fail=1

# exit code | words in the message | arguments
while IFS='|' read -r rc words args; do
	[[ -z $rc || $rc == \#* ]] && continue
	# shellcheck disable=SC2086 # the table's arguments are words
	eval "set -- $args"
	dg_expect "$rc" "$words" "$@" || fail=1
	[[ ! -e $out ]] || { dg_fail "dfget $args left $out"; rm -f "$out"; fail=1; }
done <<TABLE
1|no URL given|-o $out
1|is not a valid http:// or https:// URL|-u ftp://h/x -o $out
1|is not a valid http:// or https:// URL|-u 'http://h/a b' -o $out
1|'fast' is not a size|-u http://h/x -o $out -s fast
1|'soon' is not a duration|-u http://h/x -o $out -e soon
1|is not 32 hexadecimal digits|-u http://h/x -o $out -m 1234
1|is not p2p, cdn or source|-u http://h/x -o $out -p torrent
1|is not 'Name: value'|-u http://h/x -o $out --header NoColon
1|port must be a number from 1 to 65535|-u http://h/x -o $out -n sn:99999
1|weight after '=' must be|-u http://h/x -o $out -n sn=heavy
1|is not in 15000-65000|-u http://h/x -o $out --port 80
1|is not an IPv4 address|-u http://h/x -o $out --ip somewhere
1|give -o FILE|-u http://h/
1|unknown option '--bogus'|-u http://h/x -o $out --bogus
1|needs a value|-u http://h/x -o
1|cannot read configuration file $DG_TMP/none.conf|-u http://h/x -o $out --config $DG_TMP/none.conf
TABLE

printf '[dfget]\nlocallimit = 20MB\ncolour = blue\n' >"$DG_TMP/bad.conf"
dg_expect 1 "$DG_TMP/bad.conf:3: unknown key 'colour' in [dfget]" \
	-u http://h/x -o "$out" --config "$DG_TMP/bad.conf" || fail=1

# A work home that cannot exist: prepare error.
dg_expect 1101 "cannot create" -u http://127.0.0.1:9/x -o "$out" --home /proc/no/home -p source ||
	fail=1
[[ ! -e $out ]] || { dg_fail "left $out"; fail=1; }

[[ $fail == 0 ]] && echo "PASS: dfget flags"
exit $fail
