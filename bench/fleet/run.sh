#!/bin/bash
# bench/fleet/run.sh -- the distribution benchmark (issue 5): one file to N hosts at once,
# through Dragonfly-C (dfget, P2P) and straight from the origin (curl), on the namespaced
# testbed (tests/lib/testbed.sh): every host has its own address and its own shaped upload
# and download. For each N and method it reports per-client time (min, median, max), the
# bytes the origin served, where the bytes came from, the physical lower bound
#     T_min = max(F/u_origin, F/d_client, N*F/(u_supernode + N*u_client))
# and median/T_min, the CPU use of the run and whether the CPU rather than the shaping was
# the bottleneck. Writes results.csv, summary.txt and plot.png (gnuplot) to the results
# directory. Needs root, iproute2, nginx, curl; gnuplot for the chart.
#
# Usage: bench/fleet/run.sh [options]   (run from anywhere; see --help)
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)

usage() {
	cat <<EOF
Usage: bench/fleet/run.sh [options]
  -n, --clients LIST     client counts, space or comma separated (default "1 10 25 50 100")
  -s, --size MB          file size in MB of 10^6 bytes (default 100)
      --client-rate M    each client's upload and download, Mbit/s (default 80)
      --origin-rate M    the origin's upload, Mbit/s (default 200)
      --sn-rate M        the supernode host's upload, Mbit/s (default 800)
  -m, --methods LIST     dfget and/or curl (default "dfget curl")
  -r, --repeat K         runs of each (N, method); the median run is reported (default 1)
  -o, --out DIR          results directory (default bench/fleet/results/<date-time>)
  -b, --build DIR        build directory with supernode and dfget (default \$top_builddir,
                         else ./build)
      --sn-flags 'F...'  extra supernode flags (e.g. '--cdn-up-limit 40')
      --dfget-flags 'F'  extra dfget flags (e.g. '-s 0')
      --disk             keep homes and downloads on disk (default: a private tmpfs, so
                         that one shared disk does not stand in for N hosts' own disks)
  -h, --help
Rates are TCP payload rates (file bytes); see tests/lib/testbed.sh. FLEET_KEEP=1 copies
each run's logs (clients, uploaders, supernode) to the results directory's runs/.
EOF
}

CLIENTS="1 10 25 50 100"
SIZE_MB=100
CRATE=80
ORATE=200
SRATE=800
METHODS="dfget curl"
REPEAT=1
OUT=
BUILD=${top_builddir:-}
SN_FLAGS=
DG_FLAGS=
DISK=0
args=("$@")
while (($#)); do
	case $1 in
	-n | --clients) CLIENTS=${2//,/ }; shift ;;
	-s | --size) SIZE_MB=$2; shift ;;
	--client-rate) CRATE=$2; shift ;;
	--origin-rate) ORATE=$2; shift ;;
	--sn-rate) SRATE=$2; shift ;;
	-m | --methods) METHODS=${2//,/ }; shift ;;
	-r | --repeat) REPEAT=$2; shift ;;
	-o | --out) OUT=$2; shift ;;
	-b | --build) BUILD=$2; shift ;;
	--sn-flags) SN_FLAGS=$2; shift ;;
	--dfget-flags) DG_FLAGS=$2; shift ;;
	--disk) DISK=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 1 ;;
	esac
	shift || { echo "run.sh: option needs a value (see --help)" >&2; exit 1; }
done
num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v x="$1" 'BEGIN { exit !(x > 0) }'; }
for v in "$SIZE_MB" "$CRATE" "$ORATE" "$SRATE"; do
	num "$v" || { echo "run.sh: '$v' is not a positive number (see --help)" >&2; exit 1; }
done
for n in $CLIENTS; do
	if [[ ! $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 240)); then
		echo "run.sh: client count '$n' must be 1..240" >&2
		exit 1
	fi
done
for m in $METHODS; do
	[[ $m == dfget || $m == curl ]] || { echo "run.sh: method '$m' is not dfget or curl" >&2; exit 1; }
done
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --repeat needs a count >= 1" >&2; exit 1; }
[[ -z $BUILD ]] && BUILD=$top/build
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "run.sh: no build directory $BUILD (--build)" >&2; exit 1; }
for b in supernode dfget; do
	[[ -x $BUILD/$b ]] || { echo "run.sh: $BUILD/$b is not built (scripts/build.sh $BUILD)" >&2; exit 1; }
done
[[ -z $OUT ]] && OUT=$here/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1

# Everything below runs in its own network, PID and mount namespaces (isolate.sh re-executes
# this script there): the testbed, its processes and the tmpfs go away with the script,
# whatever happens.
export top_builddir=$BUILD top_srcdir=$top
if [[ -z ${DF_ISOLATED:-} ]]; then
	echo "fleet bench: results in $OUT"
	unset DF_SKIP_E2E
	set -- "${args[@]}" --out "$OUT"
fi
# shellcheck source=tests/lib/isolate.sh
. "$top/tests/lib/isolate.sh"
# shellcheck source=tests/lib/testbed.sh
. "$top/tests/lib/testbed.sh"
# shellcheck source=tests/lib/fleet.sh
. "$top/tests/lib/fleet.sh"

tb_check || { echo "fleet bench: no testbed on this machine (see above)" >&2; exit 1; }
_origin_nginx >/dev/null || { echo "fleet bench: nginx not found (apt-get install nginx-light)" >&2; exit 1; }
exec > >(tee -a "$OUT/bench.log") 2>&1
TEE_PID=$!

NMAX=0
for n in $CLIENTS; do ((n > NMAX)) && NMAX=$n; done
F=$(awk -v m="$SIZE_MB" 'BEGIN { printf "%d", m * 1e6 }')
NCPU=$(nproc)
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
# secs N METHOD: the method's own physical bound; T_MIN for dfget (issue 5's formula).
t_min() {
	awk -v n="$1" -v f="$F" -v o="$ORATE" -v d="$CRATE" -v s="$SRATE" 'BEGIN {
		a = f * 8 / (o * 1e6); b = f * 8 / (d * 1e6); c = n * f * 8 / ((s + n * d) * 1e6)
		x = a > b ? a : b; printf "%.3f", (x > c ? x : c) }'
}
t_curl() {
	awk -v n="$1" -v f="$F" -v o="$ORATE" -v d="$CRATE" 'BEGIN {
		a = f * 8 / (d * 1e6); b = n * f * 8 / (o * 1e6); printf "%.3f", (a > b ? a : b) }'
}

echo "fleet bench: N in {$CLIENTS}, ${SIZE_MB} MB file, clients $CRATE Mbit/s, origin $ORATE," \
	"supernode $SRATE; methods: $METHODS; $REPEAT run(s) each; $NCPU CPUs"
echo "command: bench/fleet/run.sh ${args[*]}"
echo "build: $BUILD ($(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown))"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

tb_init fleetb || exit 1
FL_DIR=$TB_DIR/work
mkdir -p "$FL_DIR"
if ((!DISK)); then
	# + 1.3 GiB: the supernode keeps cache-free-min (1 GB by default) free on its disk.
	need=$(((NMAX + 4) * F * 11 / 10 / 1048576 + 1300))
	avail=$(awk '$1 == "MemAvailable:" { printf "%d", $2 / 1024 }' /proc/meminfo)
	if ((avail > need + 2048)) && mount -t tmpfs -o "size=${need}m" fleetdata "$FL_DIR"; then
		echo "data: tmpfs of $need MiB (homes, downloads, supernode cache, origin)"
		tb_cleanup_hook() { umount -l "$FL_DIR" 2>/dev/null; }
	else
		echo "data: on disk in $FL_DIR (a tmpfs of $need MiB does not fit: $avail MiB available)"
	fi
fi

t0=$EPOCHREALTIME
tb_add_host origin "$TB_ORIGIN_ADDR" "$ORATE" "$ORATE" || exit 1
tb_add_host sn "$TB_SUPERNODE_ADDR" "$SRATE" "$SRATE" || exit 1
for ((i = 1; i <= NMAX; i++)); do
	tb_add_host "c$i" "$(tb_client_addr "$i")" "$CRATE" "$CRATE" || exit 1
done
mkdir -p "$FL_DIR/www"
head -c "$F" /dev/urandom >"$FL_DIR/www/f.bin"
SHA=$(sha256sum <"$FL_DIR/www/f.bin" | cut -d' ' -f1)
tb_origin_start origin "$FL_DIR/www" 80 || exit 1
URL=$ORIGIN_URL/f.bin
echo "testbed: $((NMAX + 2)) hosts in $(calc "$EPOCHREALTIME - $t0" 1) s; origin $URL"

# proc_cpu PID...: CPU seconds (utime + stime) of live processes.
CLK=$(getconf CLK_TCK)
proc_cpu() {
	local p sum=0 v
	for p in "$@"; do
		v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || v=0
		sum=$((sum + ${v:-0}))
	done
	calc "$sum / $CLK" 3
}
uploader_pids() {
	local i f
	for ((i = 1; i <= $2; i++)); do
		f=$(fl_home "$1" "$i")/meta/uploader.pid
		[[ -r $f ]] && cat "$f"
	done
}

CSV=$OUT/results.csv
echo "method,n,run,file_bytes,client_mbit,origin_mbit,sn_mbit,ok,failed,bound_s,t_min_s,min_s,median_s,max_s,median_over_tmin,max_over_tmin,wall_s,origin_log_bytes,origin_tx_bytes,origin_copies,sn_tx_bytes,sn_copies,peer_bytes,peer_share,sn_pieces,peer_pieces,cpu_busy_pct,our_cpu_s,load1,cpu_bound" >"$CSV"

# run_one N METHOD RUN: one run, one CSV row, one summary line.
run_one() {
	local n=$1 method=$2 run=$3 tag="$2-$1-$3" tmin bound sn_pid="" up
	tmin=$(t_min "$n")
	bound=$tmin
	[[ $method == curl ]] && bound=$(t_curl "$n")
	origin_reset_log
	if [[ $method == dfget ]]; then
		# shellcheck disable=SC2086 # flags, split on purpose
		fl_sn_start sn "$FL_DIR/sn-$tag" $SN_FLAGS || return 1
		sn_pid=${FL_SN_PID[sn]}
		FL_NODES=$(fl_sn_node sn)
	fi
	local otx0 stx0 load ngx0 busy0 tot0 busy1 tot1
	otx0=$(tb_tx_bytes origin)
	stx0=$(tb_tx_bytes sn)
	ngx0=$(proc_cpu "$ORIGIN_PID" $(pgrep -P "$ORIGIN_PID"))
	load=$(cut -d' ' -f1 /proc/loadavg)
	read -r busy0 tot0 < <(fl_cpu_sample)
	# shellcheck disable=SC2086
	FL_RUN_TIMEOUT=$(calc "3 * $bound + 60" 0) fl_run "$tag" "$n" "$method" "$URL" $DG_FLAGS
	read -r busy1 tot1 < <(fl_cpu_sample)
	local failed nfail times tmn tmd tmx wall ologb otx stx peers=0 sn_p=0 peer_p=0 cpu line
	failed=$(fl_failed "$tag" "$n" "$SHA")
	nfail=0
	[[ -n $failed ]] && nfail=$(wc -l <<<"$failed")
	times=$(fl_times "$tag" "$n")
	tmn=$(fl_stat 0 <<<"$times")
	tmd=$(fl_stat 50 <<<"$times")
	tmx=$(fl_stat 100 <<<"$times")
	wall=$(awk -v r="$FL_RELEASE" '{ if ($3 - r > w) w = $3 - r } END { printf "%.3f", w }' \
		"$FL_DIR/$tag"/res.* 2>/dev/null)
	local nreq=1
	[[ $method == curl ]] && nreq=$n
	origin_wait_requests "$nreq" '^/f\.bin$' 10 >/dev/null 2>&1
	ologb=$(origin_bytes_sent)
	otx=$(($(tb_tx_bytes origin) - otx0))
	stx=$(($(tb_tx_bytes sn) - stx0))
	cpu=$(calc "$(fl_client_cpu "$tag" "$n") + $(proc_cpu "$ORIGIN_PID" $(pgrep -P "$ORIGIN_PID")) - $ngx0" 3)
	if [[ $method == dfget ]]; then
		peers=$(fl_uploaded_total "$tag" "$n")
		# shellcheck disable=SC2046
		up=$(proc_cpu $(uploader_pids "$tag" "$n"))
		cpu=$(calc "$cpu + $up + $(proc_cpu "$sn_pid")" 3)
		fl_stop_uploaders "$tag" "$n"
		fl_sn_stop sn
		line=$(grep -m1 'pieces from peers' "$FL_DIR/sn-$tag/sn.log")
		if [[ $line =~ pieces\ from\ peers\ ([0-9]+)\ /\ supernode\ ([0-9]+) ]]; then
			peer_p=${BASH_REMATCH[1]} sn_p=${BASH_REMATCH[2]}
		fi
	fi
	[[ -n $failed ]] && printf '  failed: %s\n' "$failed" | head -n 5
	local busy share rmed rmax cpub=no
	busy=$(calc "100 * ($busy1 - $busy0) / ($tot1 - $tot0)" 1)
	share=$(calc "$peers / ($n * $F)" 3)
	rmed=$(calc "$tmd / $tmin" 3)
	rmax=$(calc "$tmx / $tmin" 3)
	# The CPU, not the shaping, held the run back: the machine was saturated and the
	# clients were clearly slower than their links allow.
	awk -v b="$busy" -v m="$tmd" -v t="$bound" 'BEGIN { exit !(b >= 90 && m > 1.3 * t) }' && cpub=yes
	echo "$method,$n,$run,$F,$CRATE,$ORATE,$SRATE,$((n - nfail)),$nfail,$bound,$tmin,$tmn,$tmd,$tmx,$rmed,$rmax,$wall,$ologb,$otx,$(calc "$ologb / $F" 3),$stx,$(calc "$stx / $F" 2),$peers,$share,$sn_p,$peer_p,$busy,$cpu,$load,$cpub" >>"$CSV"
	printf '%-5s N=%-3d run %d: %d/%d ok, time min %s med %s max %s s; T_min %s, med/T_min %s, max/T_min %s; origin %s copies; supernode %s copies; peers %s%%; CPU %s%% busy (ours %s s), load %s%s\n' \
		"$method" "$n" "$run" $((n - nfail)) "$n" "$tmn" "$tmd" "$tmx" "$tmin" "$rmed" "$rmax" \
		"$(calc "$ologb / $F" 3)" "$(calc "$stx / $F" 2)" "$(calc "100 * $share" 1)" "$busy" \
		"$cpu" "$load" "$([[ $cpub == yes ]] && echo "; CPU-BOUND: the CPU, not the shaping, was the bottleneck")"
	if [[ ${FLEET_KEEP:-0} == 1 ]]; then # logs only: the data would fill the tmpfs
		rm -rf "${FL_DIR:?}/$tag/out" "${FL_DIR:?}/$tag"/home/*/data "${FL_DIR:?}/sn-$tag/repo"
		mkdir -p "$OUT/runs" && cp -r "$FL_DIR/$tag" "$FL_DIR/sn-$tag" "$OUT/runs/" 2>/dev/null
	fi
	rm -rf "${FL_DIR:?}/$tag" "${FL_DIR:?}/sn-$tag"
}

for n in $CLIENTS; do
	for m in $METHODS; do
		for ((r = 1; r <= REPEAT; r++)); do
			run_one "$n" "$m" "$r" || echo "run $m N=$n failed to start"
		done
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The median run of each (method, N), for the chart and the summary.
awk -F, 'NR > 1 { k = $1 "," $2; n[k]++; row[k, n[k]] = $0; med[k, n[k]] = $13 }
	END { for (k in n) { m = n[k]; for (i = 1; i <= m; i++) idx[i] = i
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
			if (med[k, idx[j]] < med[k, idx[i]]) { t = idx[i]; idx[i] = idx[j]; idx[j] = t }
		print row[k, idx[int((m + 1) / 2)]] } }' "$CSV" | sort -t, -k1,1 -k2,2n >"$OUT/median.csv"
{
	printf '%-6s %4s %8s %8s %8s %8s %9s %9s %8s %8s %7s %6s %5s\n' method N T_min min median max \
		med/Tmin max/Tmin origin sn_copy peers cpu% bound
	awk -F, '{ printf "%-6s %4d %8.2f %8.2f %8.2f %8.2f %9.2f %9.2f %8.3f %8.2f %6.1f%% %6.1f %5s\n",
		$1, $2, $11, $12, $13, $14, $15, $16, $20, $22, 100 * $24, $27, $30 }' "$OUT/median.csv"
} | tee "$OUT/summary.txt"
if command -v gnuplot >/dev/null 2>&1; then
	gnuplot -e "csv='$OUT/median.csv'; out='$OUT/plot.png'; title='${SIZE_MB} MB to N clients at $CRATE Mbit/s (origin $ORATE, supernode $SRATE)'" \
		"$here/plot.gp" && echo "chart: $OUT/plot.png"
else
	echo "gnuplot not found: no chart (apt-get install gnuplot-nox)"
fi
echo "results: $CSV"
# Let tee write everything before the namespace (and tee with it) goes away.
exec >/dev/null 2>&1
tb_wait "$TEE_PID" 10
