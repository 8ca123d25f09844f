# shellcheck shell=bash
# tests/lib/fleet.sh -- a Dragonfly fleet on the testbed (tests/lib/testbed.sh): supernodes
# in their own hosts, N clients (dfget, or curl straight from the origin) started at once
# through a barrier and timed one by one inside their hosts, and the counters that tell
# where the bytes came from. Shared by tests/e2e/fleet_*.sh and bench/fleet/run.sh.
#
# Source it after testbed.sh (and after tb_init); needs top_builddir (the built supernode
# and dfget). It is `set -u` clean and sets no shell options.
#
#   fl_sn_start HOST HOME [flags...]
#       start the supernode in host HOST (--home-dir HOME --port 0 --download-port 0, its
#       stdout and log in HOME/sn.log); wait (FL_SN_TIMEOUT s, default 15) for its ready
#       line; set FL_SN_PID[HOST], FL_SN_API[HOST] and print nothing. Returns 1 with the log's
#       tail when it does not come up.
#   fl_sn_node HOST...        print the --node list of those supernodes (addr:port,...).
#   fl_sn_signal HOST SIG     send SIG (STOP, CONT, KILL, TERM...) to HOST's supernode.
#                             If it had already ended, says how (exit status or signal).
#   fl_sn_stop HOST           SIGTERM it and wait (bounded; SIGKILL after 10 s).
#   fl_run TAG N METHOD URL [args...]
#       run N clients at once in hosts c1..cN: METHOD dfget (--node FL_NODES, a fresh work
#       home per client, --notbs, then args) or curl (args ignored). Each client opens the
#       barrier FIFO, says it is ready and blocks on it; when all N are ready the FIFO's last
#       writer closes and they all start together. Each records "rc start end user sys" in
#       FL_DIR/TAG/res.I (times in seconds: wall clock from the release, CPU of the client
#       process tree). Waits (FL_RUN_TIMEOUT s, default 300) for every client; returns 1
#       if a client could not be started or did not end. Sets FL_RELEASE (epoch seconds).
#   fl_out TAG I              print the path of client I's output file.
#   fl_home TAG I             print the path of client I's work home.
#   fl_failed TAG N SHA       print one line per client that failed: exit code, missing
#                             result or a sha256 other than SHA; nothing when all is well.
#   fl_times TAG N            print each client's time (end - release of its own barrier
#                             read), one per line, sorted ascending.
#   fl_uploaded TAG I         bytes client I's uploader served to peers (its /server/stats).
#   fl_uploaded_total TAG N   the sum over clients 1..N.
#   fl_stop_uploaders TAG N   SIGTERM the uploaders of those homes (by their pid file), wait.
#   fl_cpu_sample             print "busy total" jiffies of the whole machine (/proc/stat).
#   fl_stat PERCENTILE        read numbers on stdin, print the given percentile (0 = min,
#                             50 = median (mean of the middle two), 100 = max).
#
# Inputs: FL_DIR (where results, homes and outputs go; default TB_DIR), FL_NODES (the
# --node list for dfget), DFGET/SUPERNODE (binaries; default from top_builddir).

: "${DFGET:=${top_builddir:-.}/dfget}"
: "${SUPERNODE:=${top_builddir:-.}/supernode}"
declare -gA FL_SN_PID=() FL_SN_API=()
FL_NODES=
FL_RELEASE=

_fl_dir() { printf '%s\n' "${FL_DIR:-$TB_DIR}"; }

fl_sn_start() {
	local host=$1 home=$2 i line pid
	shift 2
	if [[ ! -x $SUPERNODE ]]; then
		echo "fl_sn_start: $SUPERNODE is not built" >&2
		return 1
	fi
	mkdir -p "$home" || return 1
	tb_spawn "$host" "$home/sn.log" "$SUPERNODE" --home-dir "$home" --port 0 \
		--download-port 0 "$@" || return 1
	pid=$TB_LAST_PID
	for ((i = 0; i < ${FL_SN_TIMEOUT:-15} * 20; i++)); do
		line=$(grep -m1 '^supernode ready: ' "$home/sn.log" 2>/dev/null) || line=
		if [[ $line =~ api_port=([0-9]+)\ download_port=([0-9]+) ]]; then
			FL_SN_PID[$host]=$pid
			FL_SN_API[$host]=${BASH_REMATCH[1]}
			return 0
		fi
		_tb_alive "$pid" || break
		sleep 0.05
	done
	{
		echo "fl_sn_start: the supernode in $host did not come up; its log:"
		tail -n 20 "$home/sn.log"
	} >&2
	tb_kill "$pid" KILL
	return 1
}

fl_sn_node() {
	local h out=
	for h in "$@"; do
		out+="${out:+,}$(tb_addr "$h"):${FL_SN_API[$h]}"
	done
	printf '%s\n' "$out"
}

fl_sn_signal() {
	local pid=${FL_SN_PID[$1]:-} st
	[[ -n $pid ]] || return 1
	kill -s "$2" "$pid" 2>/dev/null && return 0
	wait "$pid" 2>/dev/null
	st=$?
	echo "fl_sn_signal: the supernode in $1 (pid $pid) had already ended: $(tb_status_text "$st")" >&2
	return 1
}

fl_sn_stop() {
	local pid=${FL_SN_PID[$1]:-}
	[[ -n $pid ]] || return 0
	kill -CONT "$pid" 2>/dev/null
	tb_kill "$pid" TERM
	unset "FL_SN_PID[$1]"
}

fl_out() { printf '%s/%s/out/%s\n' "$(_fl_dir)" "$1" "$2"; }
fl_home() { printf '%s/%s/home/c%s\n' "$(_fl_dir)" "$1" "$2"; }

# The client wrapper: barrier, then the command, timed; CPU of its children from `times`.
# It first closes its copy of the controller's descriptor of the FIFO (inherited), or it
# would hold the barrier open itself.
# shellcheck disable=SC2016 # expanded by the client's bash
_FL_CLIENT='go=$1 ready=$2 res=$3 held=$4
shift 4
eval "exec $held>&-"
exec 4<"$go" || exit 90
: >"$ready"
read -r -u 4 _
exec 4<&-
t0=$EPOCHREALTIME
"$@"
rc=$?
t1=$EPOCHREALTIME
times >"$res.tmp"
cpu=$(tail -n 1 "$res.tmp")
echo "$rc $t0 $t1 $cpu" >"$res.tmp" && mv "$res.tmp" "$res"'

_fl_secs() { # "1m2.5s" -> 62.5
	awk -v t="$1" 'BEGIN { m = t; sub(/m.*/, "", m); s = t; sub(/^[0-9]+m/, "", s);
		sub(/s$/, "", s); printf "%.3f", m * 60 + s }'
}

# _fl_nap SECS: sleep without a fork (a read that times out on a FIFO nobody writes), so
# that waiting for 100 clients costs no CPU the clients could use.
_fl_nap() {
	if [[ -z ${_FL_NAP_FD:-} ]]; then
		local f
		f=$(mktemp -u "${TMPDIR:-/tmp}/fl-nap.XXXXXX")
		mkfifo "$f" && exec {_FL_NAP_FD}<>"$f"
		rm -f "$f"
	fi
	read -r -t "$1" -u "$_FL_NAP_FD" _
	return 0
}

# _fl_alive PID: like _tb_alive, without a fork.
_fl_alive() {
	local st
	[[ -r /proc/$1/stat ]] || return 1
	read -r st </proc/"$1"/stat 2>/dev/null || return 1
	st=${st##*) }
	st=${st%% *}
	[[ -n $st && $st != Z && $st != X ]]
}

fl_run() {
	local tag=$1 n=$2 method=$3 url=$4 dir i fd pids=() ready rc=0 deadline
	shift 4
	dir=$(_fl_dir)/$tag
	rm -rf "$dir"
	mkdir -p "$dir/out" "$dir/home" || return 1
	: >"$dir/empty.conf"
	mkfifo "$dir/go" || return 1
	# Held open (read-write: no blocking) until every client has opened it.
	exec {fd}<>"$dir/go"
	for ((i = 1; i <= n; i++)); do
		local -a cmd
		if [[ $method == dfget ]]; then
			cmd=(env DFGET_CONFIG="$dir/empty.conf" "$DFGET" -u "$url" -o "$dir/out/$i"
				-n "$FL_NODES" --home "$dir/home/c$i" --notbs "$@")
		else
			cmd=(curl -sS --noproxy '*' --max-time "${FL_RUN_TIMEOUT:-300}" -o "$dir/out/$i"
				"$url")
		fi
		tb_spawn "c$i" "$dir/log.$i" bash -c "$_FL_CLIENT" fl-client "$dir/go" \
			"$dir/ready.$i" "$dir/res.$i" "$fd" "${cmd[@]}" || { rc=1; break; }
		pids+=("$TB_LAST_PID")
	done
	deadline=$((SECONDS + 60))
	while ((rc == 0)); do
		ready=0
		for ((i = 1; i <= n; i++)); do
			[[ -e $dir/ready.$i ]] && ready=$((ready + 1))
		done
		((ready >= n)) && break
		if ((SECONDS > deadline)); then
			echo "fl_run: only $ready of $n clients reached the barrier" >&2
			rc=1
		fi
		_fl_nap 0.02
	done
	FL_RELEASE=$EPOCHREALTIME
	exec {fd}>&-
	rm -f "$dir/go"
	# Wait for them all, polling without forks; then reap each (bounded).
	deadline=$((SECONDS + ${FL_RUN_TIMEOUT:-300}))
	local running=1
	while ((running && SECONDS < deadline)); do
		running=0
		for i in "${!pids[@]}"; do
			_fl_alive "${pids[i]}" && { running=1; break; }
		done
		((running)) && _fl_nap 0.1
	done
	for i in "${!pids[@]}"; do
		tb_wait "${pids[i]}" 1 || true
	done
	echo "$FL_RELEASE" >"$dir/release"
	return "$rc"
}

fl_failed() {
	local tag=$1 n=$2 sha=$3 dir i r got
	dir=$(_fl_dir)/$tag
	for ((i = 1; i <= n; i++)); do
		if [[ ! -s $dir/res.$i ]]; then
			echo "client $i: no result (did not start or did not end): $(tail -n 3 "$dir/log.$i" 2>/dev/null)"
			continue
		fi
		read -r r _ <"$dir/res.$i"
		if [[ $r != 0 ]]; then
			echo "client $i: exit $r: $(tail -n 3 "$dir/log.$i")"
			continue
		fi
		got=$(sha256sum <"$dir/out/$i" 2>/dev/null | cut -d' ' -f1)
		[[ $got == "$sha" ]] || echo "client $i: sha256 ${got:-none}, want $sha"
	done
}

fl_times() {
	local tag=$1 n=$2 dir i
	dir=$(_fl_dir)/$tag
	for ((i = 1; i <= n; i++)); do
		[[ -s $dir/res.$i ]] && awk '{ printf "%.3f\n", $3 - $2 }' "$dir/res.$i"
	done | sort -n
}

# fl_client_cpu TAG N: CPU seconds (user + sys) of the client processes, summed.
fl_client_cpu() {
	local tag=$1 n=$2 dir i sum=0 u s
	dir=$(_fl_dir)/$tag
	for ((i = 1; i <= n; i++)); do
		[[ -s $dir/res.$i ]] || continue
		read -r _ _ _ u s <"$dir/res.$i"
		sum=$(awk -v a="$sum" -v u="$(_fl_secs "$u")" -v s="$(_fl_secs "$s")" \
			'BEGIN { printf "%.3f", a + u + s }')
	done
	echo "$sum"
}

_fl_upport() {
	local meta=$1/meta/host.meta
	[[ -r $meta ]] || { echo 0; return 0; }
	sed -n 's/.*"servicePort":\([0-9]*\).*/\1/p' "$meta"
}

fl_uploaded() {
	local home port
	home=$(fl_home "$1" "$2")
	port=$(_fl_upport "$home")
	[[ -n $port && $port != 0 ]] || { echo 0; return 0; }
	tb_exec "c$2" curl -s --noproxy '*' --max-time 5 "http://127.0.0.1:$port/server/stats" |
		sed -n 's/^{[^}]*"uploadedBytes":\([0-9]*\).*/\1/p' | grep . || echo 0
}

fl_uploaded_total() {
	local i sum=0 b
	for ((i = 1; i <= $2; i++)); do
		b=$(fl_uploaded "$1" "$i")
		sum=$((sum + ${b:-0}))
	done
	echo "$sum"
}

fl_stop_uploaders() {
	local tag=$1 n=$2 i f pid pids=()
	for ((i = 1; i <= n; i++)); do
		f=$(fl_home "$tag" "$i")/meta/uploader.pid
		[[ -r $f ]] || continue
		pid=$(cat "$f")
		[[ $pid =~ ^[0-9]+$ ]] && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
	done
	for pid in "${pids[@]}"; do
		for ((i = 0; i < 100; i++)); do
			_tb_alive "$pid" || break
			sleep 0.05
		done
		_tb_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

fl_cpu_sample() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' \
		/proc/stat
}

fl_stat() {
	sort -n | awk -v p="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (p == 0) { print v[1]; exit }
		if (p == 100) { print v[NR]; exit }
		x = p / 100 * (NR - 1) + 1; i = int(x); f = x - i
		printf "%.3f\n", (i < NR) ? v[i] + f * (v[i + 1] - v[i]) : v[i] }'
}
