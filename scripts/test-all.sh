#!/bin/bash
# Every test this project has, from a fresh Debian 12 machine: installs what is missing,
# builds, and runs
#   1. make check in build/       (CUnit unit tests, end-to-end tests on real processes)
#   2. make check again in build-san/, built with ASan + UBSan and -Werror: the whole suite,
#      unit and end-to-end, on sanitized programs
#   3. the unit tests of build/ under valgrind (no definite or indirect leaks, no errors),
#      and the threaded end-to-end scenarios on a ThreadSanitizer build (build-tsan/);
#      clang's static analyser (scan-build) over every program and test program
#   4. the libFuzzer harnesses of tests/fuzz/, FUZZ_SECONDS each (default 60), two at a time,
#      at nice 19 in the background from the start of step 1 on: they use the CPU the
#      end-to-end tests leave idle while those wait on shaped links and timers
#   5. make distcheck             (the release tarball builds and passes its unit tests)
#   6. scripts/test-deb.sh        (Debian packages: build with unit tests, lintian, install,
#                                  a download with the installed programs, purge)
# then prints each CUnit summary and one last line "N passed, N failed".
# The end-to-end tests run CHECK_JOBS at a time (default 2): each runs in its own network,
# PID and mount namespaces, and most of their time is spent waiting on shaped links.
# Exit status: 0 only when everything passed. Run as root (e2e tests use network namespaces).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
t0=$(date +%s)
failed_steps=()

step() { echo; echo "=== $* [at $(($(date +%s) - t0)) s]"; }

step "dependencies"
"$top/scripts/install-deps.sh" test || { echo "cannot install dependencies"; exit 2; }

step "build (build/)"
if ! "$top/scripts/build.sh" "$top/build"; then
	echo "build failed"
	exit 1
fi

jobs=${CHECK_JOBS:-2}
fuzz_secs=${FUZZ_SECONDS:-60}
# The fuzzers run in the background, at the lowest priority, while the tests below run.
(DF_FUZZ_BUILD="$top/build-fuzz" nice -n 19 "$top/tests/fuzz/run.sh" "$fuzz_secs" \
	>"$top/build/fuzz.out" 2>&1; echo $? >"$top/build/fuzz.rc") &
fuzz_pid=$!

step "make check (build/, $jobs at a time)"
make -C "$top/build" -s -j"$jobs" check >"$top/build/check.out" 2>&1 || failed_steps+=("make check")
grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):' "$top/build/check.out" || true

step "sanitizer build (build-san/: --enable-sanitizers --enable-werror) and make check"
if "$top/scripts/build.sh" "$top/build-san" --enable-sanitizers --enable-werror; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		make -C "$top/build-san" -s -j"$jobs" check >"$top/build-san/check.out" 2>&1 ||
		failed_steps+=("sanitizer make check")
	grep -E '^(PASS|FAIL|ERROR|SKIP):' "$top/build-san/check.out" || true
else
	failed_steps+=("sanitizer build")
fi

step "unit tests under valgrind (build/)"
# Suppressions only for one-time allocations inside libraries, each justified in the file.
vg_pass=0
vg_fail=0
mkdir -p "$top/build/valgrind"
for t in "$top"/build/tests/unit/test_*; do
	[[ -x $t && $t != *.* ]] || continue
	name=$(basename "$t")
	if (cd "$top/build" && valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=1 --suppressions="$top/tests/valgrind.supp" "$t") \
		>"$top/build/valgrind/$name.log" 2>&1; then
		vg_pass=$((vg_pass + 1))
		echo "PASS: valgrind $name"
	else
		vg_fail=$((vg_fail + 1))
		echo "FAIL: valgrind $name; the end of build/valgrind/$name.log:"
		tail -30 "$top/build/valgrind/$name.log"
	fi
done
[ "$vg_fail" -eq 0 ] || failed_steps+=("valgrind")

step "ThreadSanitizer build (build-tsan/: --enable-tsan --enable-werror) and the threaded end-to-end tests"
# The servers are thread pools sharing tasks, buckets and queues: these scenarios cover the
# supernode's long-polled pulls and CDN jobs, dfget's workers, uploader and shared bucket,
# and dfdaemon's streams. Any report (a data race, a lock-order inversion) fails the test;
# the reports are kept in build-tsan/tsan/<test>/.
ts_pass=0
ts_fail=0
tsan_tests=(sn_protocol dg_p2p dg_failover dg_ratelimit page_status dd_mirror dd_proxy)
if "$top/scripts/build.sh" "$top/build-tsan" --enable-tsan --enable-werror; then
	for t in "${tsan_tests[@]}"; do
		rep="$top/build-tsan/tsan/$t"
		rm -rf "$rep" && mkdir -p "$rep"
		TSAN_OPTIONS="log_path=$rep/report second_deadlock_stack=1" top_builddir="$top/build-tsan" \
			timeout 600 bash "$top/tests/e2e/$t.sh" >"$rep/out" 2>&1
		rc=$?
		if [ "$rc" -eq 0 ] && ! ls "$rep"/report.* >/dev/null 2>&1; then
			ts_pass=$((ts_pass + 1))
			echo "PASS: tsan $t"
		else
			ts_fail=$((ts_fail + 1))
			echo "FAIL: tsan $t (exit $rc); its reports and the end of its output:"
			cat "$rep"/report.* 2>/dev/null | head -60
			tail -15 "$rep/out"
		fi
	done
else
	ts_fail=1
	failed_steps+=("tsan build")
fi

step "static analysis (clang's scan-build, build-scan/): the programs and the test programs"
# Zero reports today, so any report is news: it fails the run, and its HTML page stays in
# build-scan/reports/ (the summary lines are printed here).
sa_pass=0
sa_fail=0
rm -rf "$top/build-scan" && mkdir -p "$top/build-scan"
if (cd "$top/build-scan" && scan-build -o reports "$top/configure" -q &&
	scan-build -o reports --status-bugs make -s -j"$(nproc)" all &&
	scan-build -o reports --status-bugs make -s -j"$(nproc)" check TESTS=) \
	>"$top/build-scan/scan.out" 2>&1; then
	sa_pass=1
	echo "PASS: scan-build"
else
	sa_fail=1
	grep -E 'warning:|bugs? found|error' "$top/build-scan/scan.out" | head -40
	echo "FAIL: scan-build (its output: build-scan/scan.out; the reports: build-scan/reports/)"
fi

step "fuzzing (tests/fuzz/run.sh: ${fuzz_secs} s per harness, $(nproc) at a time, since the start of make check)"
# Crashing inputs are kept in build-fuzz/crashes/ and their bytes printed by run.sh.
wait "$fuzz_pid"
fuzz_rc=$(cat "$top/build/fuzz.rc" 2>/dev/null || echo 1)
cat "$top/build/fuzz.out"
fz_pass=$(grep -c '^PASS: ' "$top/build/fuzz.out")
fz_fail=$(grep -c '^FAIL: ' "$top/build/fuzz.out")
if [ "$fuzz_rc" -ne 0 ] && [ "$fz_fail" -eq 0 ]; then
	fz_fail=1 # the runner itself failed (no clang?)
fi
[ "$fz_fail" -eq 0 ] || failed_steps+=("fuzzing")

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
passed=$((passed + vg_pass + ts_pass + sa_pass + fz_pass))
failed=$((failed + vg_fail + ts_fail + sa_fail + fz_fail))
if [ "$distcheck" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
if [ "$deb" = FAIL ]; then failed=$((failed + 1)); else passed=$((passed + 1)); fi
[ ${#failed_steps[@]} -eq 0 ] || echo "failed steps: ${failed_steps[*]}"
echo
echo "took $(($(date +%s) - t0)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failed_steps[@]} -eq 0 ]
