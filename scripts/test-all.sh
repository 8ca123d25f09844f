#!/bin/bash
# Every test this project has, from a fresh Debian 12 machine: installs what is missing,
# builds, and runs
#   1. make check in build/       (CUnit unit tests, end-to-end tests on real processes)
#   2. the unit tests again in build-san/, built with ASan + UBSan and -Werror
#   3. make distcheck             (the release tarball builds and passes its unit tests)
#   4. scripts/test-deb.sh        (Debian packages: build with unit tests, lintian, install,
#                                  a download with the installed programs, purge)
# then prints each CUnit summary and one last line "N passed, N failed".
# Exit status: 0 only when everything passed. Run as root (e2e tests use network namespaces).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
t0=$(date +%s)
failed_steps=()

step() { echo; echo "=== $*"; }

step "dependencies"
"$top/scripts/install-deps.sh" test || { echo "cannot install dependencies"; exit 2; }

step "build (build/)"
if ! "$top/scripts/build.sh" "$top/build"; then
	echo "build failed"
	exit 1
fi

step "make check (build/)"
make -C "$top/build" -s check >"$top/build/check.out" 2>&1 || failed_steps+=("make check")
grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$top/build/check.out" || true

step "sanitizer build (build-san/: --enable-sanitizers --enable-werror) and unit tests"
if "$top/scripts/build.sh" "$top/build-san" --enable-sanitizers --enable-werror; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		make -C "$top/build-san" -s check-unit >"$top/build-san/check.out" 2>&1 ||
		failed_steps+=("sanitizer unit tests")
	grep -E '^(PASS|FAIL|ERROR|SKIP):' "$top/build-san/check.out" || true
else
	failed_steps+=("sanitizer build")
fi

step "make distcheck"
# The end-to-end tests already ran in build/; distcheck proves the tarball builds and its
# unit tests pass.
if DF_SKIP_E2E=1 make -C "$top/build" -s distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-werror" \
	>"$top/build/distcheck.out" 2>&1; then
	echo "PASS: make distcheck"
	distcheck=PASS
else
	tail -40 "$top/build/distcheck.out"
	echo "FAIL: make distcheck"
	distcheck=FAIL
	failed_steps+=("make distcheck")
fi

step "Debian packages (scripts/test-deb.sh)"
"$top/scripts/test-deb.sh" >"$top/build/test-deb.out" 2>&1
case $? in
0) deb=PASS ;;
77) deb=SKIP ;;
*) deb=FAIL; failed_steps+=("debian packages") ;;
esac
grep -E '^(===|FAIL|SKIP|PASS|lintian|installed|downloaded|    lintian: [EW]:)' "$top/build/test-deb.out"
[ "$deb" != FAIL ] || tail -30 "$top/build/test-deb.out"
echo "$deb: debian packages"

step "CUnit summaries"
for d in build build-san; do
	for log in "$top/$d"/tests/unit/*.log; do
		[ -f "$log" ] || continue
		line=$(grep -h '^SUMMARY' "$log" | tail -1)
		echo "$d: ${line:-$(basename "$log"): no summary (crashed?)}"
	done
done

step "failures"
passed=0
failed=0
for d in build build-san; do
	for trs in $(find "$top/$d/tests" -name '*.trs' 2>/dev/null | sort); do
		res=$(sed -n 's/^:test-result: //p' "$trs" | head -1)
		case "$res" in
		PASS | SKIP | XFAIL) passed=$((passed + 1)) ;;
		*)
			failed=$((failed + 1))
			log=${trs%.trs}.log
			echo "--- $d/${trs#"$top/$d/"}: $res; last lines of its log:"
			tail -25 "$log" 2>/dev/null
			;;
		esac
	done
done
if [ "$distcheck" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
if [ "$deb" = FAIL ]; then failed=$((failed + 1)); else passed=$((passed + 1)); fi
[ ${#failed_steps[@]} -eq 0 ] || echo "failed steps: ${failed_steps[*]}"
echo
echo "took $(($(date +%s) - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failed_steps[@]} -eq 0 ]
