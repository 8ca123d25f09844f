#!/bin/bash
# Build every libFuzzer harness in tests/fuzz/ with clang (ASan + UBSan) and run each for a
# bounded time on a copy of its seed corpus (tests/fuzz/corpus/<name>/). Any crash, leak or
# sanitizer report fails the run; the crashing input is kept in BUILD/crashes/.
#
# Usage: tests/fuzz/run.sh [SECONDS_PER_HARNESS] [HARNESS...]   (default 60, all harnesses)
# A harness states the project libraries it needs in a line "fuzz-libs: supernode dfget";
# the common library is always linked.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
build=${DF_FUZZ_BUILD:-$top/build-fuzz}
jobs=$(nproc)

if ! command -v clang >/dev/null; then
	echo "clang is not installed (apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
fi
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1
mkdir -p "$build"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
if [ ! -f "$build/Makefile" ]; then
	echo "==> configure (clang, fuzzing instrumentation) in $build"
	(cd "$build" && "$top/configure" -q --disable-tests CC=clang \
		CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $san") || exit 2
fi

harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
	for f in "$top"/tests/fuzz/fuzz_*.c; do
		harnesses+=("$(basename "$f" .c)")
	done
fi

pkgs="libmicrohttpd libcurl gnutls libcjson inih"
# shellcheck disable=SC2086
syslibs=$(pkg-config --libs $pkgs)
# shellcheck disable=SC2086
syscflags=$(pkg-config --cflags $pkgs)

build_one() {
	local name=$1 src="$top/tests/fuzz/$1.c" libs="" l
	for l in $(sed -n 's/.*fuzz-libs: *//p' "$src"); do
		make -s -C "$build" "src/$l/lib$l.a" >/dev/null || return 1
		libs="$libs $build/src/$l/lib$l.a"
	done
	make -s -C "$build" src/common/libdfcommon.a >/dev/null || return 1
	# shellcheck disable=SC2086
	clang -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer $san -I"$build" \
		-I"$top/src/common" -I"$top/src" $syscflags -o "$build/$name" "$src" $libs \
		"$build/src/common/libdfcommon.a" $syslibs -lm -lpthread
}

run_one() {
	local name=$1 corpus="$build/corpus/$1" log="$build/$1.log"
	rm -rf "$corpus"
	mkdir -p "$corpus" "$build/crashes"
	[ -d "$top/tests/fuzz/corpus/$name" ] && cp -r "$top/tests/fuzz/corpus/$name/." "$corpus/"
	if "$build/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=4096 -print_final_stats=1 -artifact_prefix="$build/crashes/$name-" \
		"$corpus" >"$log" 2>&1; then
		echo "PASS: $name ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
			grep -o '[0-9]*$') runs in ${secs}s)"
		return 0
	fi
	echo "FAIL: $name; the end of $log:"
	tail -30 "$log"
	return 1
}

failed=0
for h in "${harnesses[@]}"; do
	if ! build_one "$h"; then
		echo "FAIL: $h does not build"
		failed=$((failed + 1))
	fi
done
# Run the harnesses in parallel, one per core.
pids=()
names=()
for h in "${harnesses[@]}"; do
	[ -x "$build/$h" ] || continue
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n || true
	done
	run_one "$h" >"$build/$h.result" 2>&1 &
	pids+=($!)
	names+=("$h")
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || failed=$((failed + 1))
	cat "$build/${names[$i]}.result"
done
[ "$failed" -eq 0 ]
