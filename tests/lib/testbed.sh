# shellcheck shell=bash
# tests/lib/testbed.sh -- a fleet of hosts on one machine, for end-to-end tests and benchmarks.
#
# Source this file from bash (it is `set -u` clean and sets no shell options); needs root,
# iproute2 (ip, tc, bridge) and, for tb_origin_start, nginx and curl (tests/lib/origin.sh).
#
# Network: one network namespace "<prefix>-sw" holds a Linux bridge (the switch); every host
# is a namespace "<prefix>-<name>" whose eth0 is one end of a veth pair, the other end
# ("p<index>") a port of the bridge. Addresses are in 198.18.0.0/15 only (netmask /15).
# Nothing is created in the root namespace: the veth pair is created in the switch namespace
# with its peer placed straight into the host namespace.
#
#   tb_check                     true if this machine can run a testbed; otherwise prints why
#                                (not root, no `ip netns`, no veth/bridge/htb) and returns 1.
#                                A test does `tb_check || exit 77` (automake SKIP).
#   tb_init [PREFIX]             create the switch; PREFIX defaults to "tb<pid>". Installs
#                                EXIT/INT/TERM/HUP traps that call tb_teardown (replacing any
#                                traps you had: define tb_cleanup_hook for your own cleanup,
#                                it runs first). Sets TB_PREFIX, TB_DIR (a private temp dir
#                                for your logs, removed at teardown unless TB_KEEP=1 or the
#                                script exits non-zero other than by a signal).
#   tb_add_host NAME ADDR UP_MBIT DOWN_MBIT
#                                add a host; rates in Mbit/s (decimals allowed, 0 = unshaped).
#   tb_shape NAME UP_MBIT DOWN_MBIT   change a host's rates.
#   tb_exec NAME CMD...          run CMD in the host's namespace, in the foreground.
#                                CMD (tb_exec, tb_spawn) sees NAME as its hostname (its own
#                                UTS namespace; TB_UTS=0 when sourcing turns that off).
#   tb_spawn NAME LOGFILE CMD... run CMD in the background in the host's namespace, stdin from
#                                /dev/null, stdout+stderr to LOGFILE; sets TB_LAST_PID (do not
#                                call it in $(...)) and records the pid for teardown.
#   tb_wait PID [TIMEOUT_S]      wait (default 60 s) for a spawned process; returns its exit
#                                status, or 124 after killing it on timeout.
#   tb_kill PID [SIGNAL]         send SIGNAL (default TERM), wait up to 5 s, then SIGKILL.
#   tb_status_text STATUS        "exit status N", or "signal N (NAME)" for a status > 128.
#   tb_tx_bytes NAME / tb_rx_bytes NAME
#                                byte counters of the host's eth0. veth counts a GSO frame
#                                once with one set of headers, so for bulk TCP these are the
#                                payload plus ~0.3% (plus any retransmissions).
#   tb_origin_start NAME DIR PORT
#                                start nginx (tests/lib/origin.sh) in host NAME, bound to its
#                                address, serving DIR; PORT 0 picks a free one. Sets ORIGIN_*
#                                (ORIGIN_URL, ORIGIN_LOG, ORIGIN_PID...); set ORIGIN_NAME for
#                                several origins. origin_bytes_sent etc. work as usual.
#   tb_addr NAME                 print the host's address;  tb_ns NAME: its namespace name.
#   tb_client_addr N             print the conventional address of client N (1-based):
#                                198.18.0.10 ... 198.18.0.249, then 198.18.1.10 ... 198.18.1.249,
#                                and so on (240 per /24).
#   tb_teardown                  run tb_cleanup_hook if defined, stop every origin
#                                (origin_stop_all), the spawned processes and anything else
#                                left in our namespaces (TERM, then KILL after 3 s), delete
#                                the namespaces, remove TB_DIR; idempotent. A spawned
#                                process that crashed (died of SIGSEGV, SIGABRT, SIGBUS...)
#                                is named, and makes the script exit 1 if it would have
#                                exited 0 (its logs are kept); so does a FATAL line (the
#                                crash handler's) or a sanitizer report in any *.log* under
#                                TB_DIR (they are printed when the script fails).
# Conventional addresses: TB_ORIGIN_ADDR=198.18.0.1, TB_SUPERNODE_ADDR=198.18.0.2 (more
# supernodes at .3, .4, ...), clients from tb_client_addr.
# Other variables: TB_HOSTS (array of host names, in order of creation).
#
# Caveats: spawned processes and nginx are background jobs of your shell, so never use a bare
# `wait` (it would wait for nginx too): use tb_wait PID. Do not call tb_init, tb_spawn or
# tb_origin_start in a subshell. Up to ~1000 hosts (bridge port limit 1024). Under
# tests/lib/isolate.sh (DF_ISOLATED=1: private mount and pid namespaces) /run/netns becomes
# a private tmpfs, so parallel runs cannot collide and a killed run leaves nothing behind.
#
# Shaping (tc), the choice and why:
# * Each direction is an HTB tree: one class at the link rate, with K child classes that
#   borrow from it, one per peer host (hashed by u32 on the last byte of the peer's address:
#   the destination on the upload side, the source on the download side), each child with a
#   bfifo. So a link is shared fairly between the peers using it, as a per-flow fair queue
#   would (fq_codel, fq and sfq are not built into this kernel; with one FIFO, two BBR flows
#   sharing 40 Mbit/s split 33/7 for seconds). Peers whose last address bytes are equal
#   modulo K share a child. K is 256 for hosts at 198.18.0.1-9 (origin, supernodes: they
#   serve everybody) and 128 for the others (clients .10-.137 never collide), or
#   TB_FQ_BUCKETS (a power of two <= 256) when set, read by tb_add_host and tb_shape;
#   K=1 is a single FIFO.
# * HTB, not TBF: GSO/TSO frames on veth reach 64 KiB; TBF must segment any frame larger
#   than its burst (CPU, and bursts of drops), HTB just charges the frame and carries the
#   debt, so the long-term rate stays exact at any burst. burst = cburst = 10 ms at the
#   rate, at most 64 KiB (one GSO frame) and at least two frames: a fixed 64 KiB let a
#   1 Mbit/s link run 28% fast over 3 s; from 10 to 800 Mbit/s single flows measure within
#   0.7% of the rate over 3 s (at 1 Mbit/s the download side runs up to ~14% fast over 3 s:
#   an unshaped sender's 64 KiB GSO frame is half a second of debt there).
# * Queue per child: bfifo of max(256 KiB, 20 ms at the link rate). Smaller queues drop the
#   first GSO frames of every burst (TCP backs off and the rate sags); much larger ones only
#   add delay. BBR (this kernel's default) keeps the queue near empty anyway.
# * Rates are TCP payload rates: HTB counts Ethernet frames (payload 1448 of 1514 bytes for
#   bulk TCP with timestamps), so the wire rate given to tc is rate * 1514/1448 and a bulk
#   download at "40" measures ~40 Mbit/s of file bytes (set TB_RATE_BASIS=wire to give tc
#   the rate unchanged; goodput is then ~95.6% of it). Interface counters: see tb_tx_bytes.
#
# Scale: ARP entries of all namespaces share one kernel table whose gc_thresh3 (1024, a
# global sysctl) a full mesh of 100 hosts would exceed ("neighbour table overflow", dropped
# packets). So every host's eth0 gets a MAC derived from its address, and before a command
# runs (tb_exec, tb_spawn, tb_origin_start) each host gets permanent neighbour entries for
# all hosts (permanent entries are exempt from that limit), and the bridge static FDB
# entries (no flooding while it learns); no ARP traffic at all. IPv6 is off on eth0 and in
# the switch (no router solicitations or MLD flooding the bridge and the counters); lo keeps
# ::1. The bridge runs without STP, forward delay 0 and without multicast snooping.
# Cost (measured, kernel 6.18, 2 cores): an idle host costs no CPU and ~1.3 MB of kernel
# memory (the tc classes). Creating a host takes ~20 ms alone and ~85 ms when 100 exist
# (the kernel's cost per tc class grows with the classes on the machine): 102 hosts in
# ~8.5 s, ~4.3 s with TB_FQ_BUCKETS=32. Teardown of 102 hosts takes ~0.5 s.

# shellcheck disable=SC2034 # for the caller
{
	TB_ORIGIN_ADDR=198.18.0.1
	TB_SUPERNODE_ADDR=198.18.0.2
	TB_LAST_PID=
}
TB_PREFIX=
TB_HOSTS=()
TB_PIDS=()
declare -gA TB_ADDR=() TB_IDX=() TB_MAC=() TB_SYNCED=() TB_WHAT=()
TB_FDB_SYNCED=0

_tb_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/origin.sh
. "$_tb_lib_dir/origin.sh"

_tb_err() { echo "testbed: $*" >&2; }

_tb_alive() {
	local st
	[[ -r /proc/$1/stat ]] || return 1
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z && $st != X ]]
}

# _tb_our_netns: print the names of this run's namespaces (hosts first, switch last).
_tb_our_netns() {
	[[ -n ${TB_PREFIX:-} ]] || return 0
	ip netns list 2>/dev/null | awk -v p="$TB_PREFIX-" -v sw="$TB_PREFIX-sw" '
		index($1, p) == 1 { if ($1 == sw) s = 1; else print $1 }
		END { if (s) print sw }'
}

# Under tests/lib/isolate.sh we run in a private mount namespace: keep the namespace files
# (/run/netns/*) in a tmpfs of our own, so that parallel runs never see each other's and a
# run killed with SIGKILL leaves nothing behind. Elsewhere /run/netns is used as it is.
_tb_private_netns_dir() {
	[[ ${DF_ISOLATED:-} == 1 ]] || return 0
	grep -q ' /run/netns .* - tmpfs tbnetns ' /proc/self/mountinfo && return 0
	mkdir -p /run/netns
	if ! mount -t tmpfs -o mode=0755,size=4m tbnetns /run/netns; then
		_tb_err "cannot mount a private /run/netns"
		return 1
	fi
}

tb_check() {
	local probe=tbcheck$$x$RANDOM ok=1 c
	if [[ $EUID -ne 0 ]]; then
		echo "testbed: needs root (network namespaces, tc)" >&2
		return 1
	fi
	for c in ip tc bridge; do
		command -v "$c" >/dev/null 2>&1 || {
			echo "testbed: '$c' not found (apt-get install iproute2)" >&2
			return 1
		}
	done
	_tb_private_netns_dir || return 1
	if ! ip netns add "$probe" 2>/dev/null; then
		echo "testbed: 'ip netns add' fails here (no CAP_SYS_ADMIN or no netns support)" >&2
		return 1
	fi
	if ! ip -n "$probe" link add name br0 type bridge 2>/dev/null ||
		! ip -n "$probe" link add name v0 type veth peer name v1 2>/dev/null ||
		! tc -n "$probe" qdisc add dev v0 root handle 1: htb 2>/dev/null ||
		! tc -n "$probe" qdisc add dev v1 root bfifo limit 1000 2>/dev/null; then
		echo "testbed: the kernel lacks bridge, veth, htb or bfifo support" >&2
		ok=0
	fi
	ip netns del "$probe" 2>/dev/null
	((ok))
}

tb_init() {
	local want=${1:-} i p
	if [[ -n ${TB_PREFIX:-} ]] && ip netns list 2>/dev/null | grep -q "^$TB_PREFIX-sw\b"; then
		_tb_err "tb_init: already initialised ($TB_PREFIX)"
		return 1
	fi
	p=${want:-tb$$}
	if [[ ! $p =~ ^[A-Za-z0-9_.]+$ ]]; then
		_tb_err "tb_init: bad prefix '$p' (letters, digits, _ and . only)"
		return 1
	fi
	_tb_private_netns_dir || return 1
	for ((i = 0; i < 10; i++)); do
		ip netns list 2>/dev/null | awk '{print $1}' | grep -q "^$p-" || break
		if [[ -n $want ]]; then
			_tb_err "tb_init: namespaces named $p-* exist already (a stale run? remove them with ip netns del)"
			return 1
		fi
		p=tb$$x$RANDOM
	done
	if ((i == 10)); then
		_tb_err "tb_init: no free prefix found"
		return 1
	fi
	TB_PREFIX=$p
	TB_HOSTS=()
	TB_PIDS=()
	TB_WHAT=()
	TB_ADDR=()
	TB_IDX=()
	TB_MAC=()
	TB_SYNCED=()
	TB_FDB_SYNCED=0
	TB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$TB_PREFIX.XXXXXX") || return 1
	trap '_tb_on_exit' EXIT
	trap '_tb_on_signal 130' INT
	trap '_tb_on_signal 143' TERM
	trap '_tb_on_signal 129' HUP
	local sw=$TB_PREFIX-sw
	if ! ip netns add "$sw"; then
		_tb_err "tb_init: cannot create namespace $sw"
		return 1
	fi
	# Before any interface exists: no IPv6 in the switch, bridged frames skip netfilter.
	# shellcheck disable=SC2016 # expanded by sh in the namespace
	ip netns exec "$sw" sh -c '
		echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
		echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6
		for f in /proc/sys/net/bridge/bridge-nf-call-*; do [ -w "$f" ] && echo 0 >"$f"; done
		true' 2>/dev/null
	ip -n "$sw" -batch - <<EOF || { _tb_err "tb_init: cannot create the bridge"; return 1; }
link set lo up
link add name br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 ageing_time 30000
link set br0 up
EOF
}

# What a crash leaves in a log: our crash handler's line, MHD's panic, a sanitizer's report.
_tb_crash_pats=(-e ": FATAL: signal" -e "FATAL: libmicrohttpd" -e "ERROR: AddressSanitizer"
	-e ": runtime error: ")

_tb_on_exit() {
	local rc=$?
	TB_CRASHED=0
	tb_teardown "$rc"
	((TB_CRASHED)) && exit 1
	return "$rc"
}

_tb_on_signal() {
	tb_teardown "$1"
	trap - EXIT
	exit "$1"
}

_tb_need_host() {
	if [[ -z ${TB_ADDR[$1]+x} ]]; then
		_tb_err "no host named '$1'"
		return 1
	fi
}

tb_ns() { _tb_need_host "$1" && printf '%s\n' "$TB_PREFIX-$1"; }
tb_addr() { _tb_need_host "$1" && printf '%s\n' "${TB_ADDR[$1]}"; }

tb_client_addr() {
	local n=$1
	if [[ ! $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 240 * 512)); then
		_tb_err "tb_client_addr: bad client number '$n'"
		return 1
	fi
	n=$((n - 1))
	printf '198.%d.%d.%d\n' $((18 + n / 240 / 256)) $((n / 240 % 256)) $((10 + n % 240))
}

# _tb_mac ADDR: the MAC address derived from an IPv4 address (locally administered).
_tb_mac() {
	local IFS=.
	# shellcheck disable=SC2086 # split on dots on purpose
	set -- $1
	printf '02:00:%02x:%02x:%02x:%02x\n' "$1" "$2" "$3" "$4"
}

_tb_valid_addr() {
	local a=$1
	[[ $a =~ ^198\.(18|19)\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
	((BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 255)) || return 1
	[[ $a != 198.18.0.0 && $a != 198.19.255.255 ]]
}

_tb_valid_rate() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

# _tb_buckets ADDR: the number of fair-queue children for the host at ADDR.
_tb_buckets() {
	if [[ -n ${TB_FQ_BUCKETS:-} ]]; then
		printf '%s\n' "$TB_FQ_BUCKETS"
	elif [[ $1 =~ ^198\.18\.0\.[1-9]$ ]]; then
		echo 256
	else
		echo 128
	fi
}

# _tb_shape_batch DEV MBIT KEYOFF K: print tc batch commands that shape DEV's egress.
# KEYOFF is the offset in the IPv4 header of the address that picks the child class:
# 16 (destination) on a host's eth0, 12 (source) on a switch port. K children.
_tb_shape_batch() {
	local dev=$1 mbit=$2 off=$3 k=$4 kbit child limit b id
	local burst
	kbit=$(awk -v r="$mbit" -v basis="${TB_RATE_BASIS:-payload}" 'BEGIN {
		f = (basis == "wire") ? 1 : 1514 / 1448; printf "%d", r * 1000 * f + 0.5 }')
	burst=$((kbit * 10 / 8))  # 10 ms at the link rate, in bytes
	((burst > 65536)) && burst=65536
	((burst < 3028)) && burst=3028
	# Per child: the guaranteed share; all may borrow up to the link rate.
	child=$((kbit / k))
	((child < 8)) && child=8
	limit=$((kbit * 1000 / 8 / 50))  # 20 ms at the link rate, in bytes
	((limit < 262144)) && limit=262144
	echo "qdisc add dev $dev root handle 1: htb default 2 r2q 10"
	echo "class add dev $dev parent 1: classid 1:1 htb rate ${kbit}kbit ceil ${kbit}kbit burst $burst cburst $burst quantum 60000"
	# Class 1:2 takes what the filter does not classify (non-IPv4).
	echo "class add dev $dev parent 1:1 classid 1:2 htb rate ${child}kbit ceil ${kbit}kbit burst $burst cburst $burst quantum 9000"
	echo "qdisc add dev $dev parent 1:2 bfifo limit $limit"
	((k <= 1)) && return 0
	echo "filter add dev $dev parent 1: prio 1 handle 2: protocol ip u32 divisor $k"
	printf 'filter add dev %s parent 1: prio 1 protocol ip u32 ht 800:: match u32 0 0 hashkey mask 0x%08x at %d link 2:\n' \
		"$dev" $((k - 1)) "$off"
	for ((b = 0; b < k; b++)); do
		printf -v id '%x' $((0x100 + b))
		echo "class add dev $dev parent 1:1 classid 1:$id htb rate ${child}kbit ceil ${kbit}kbit burst $burst cburst $burst quantum 9000"
		echo "qdisc add dev $dev parent 1:$id bfifo limit $limit"
		printf 'filter add dev %s parent 1: prio 1 protocol ip u32 ht 2:%x: match u32 0 0 flowid 1:%s\n' "$dev" "$b" "$id"
	done
}

# _tb_shape NETNS DEV MBIT KEYOFF K: (re)shape; MBIT 0 removes the shaping.
_tb_shape() {
	local ns=$1 dev=$2 mbit=$3 off=$4 k=$5
	if [[ ! $k =~ ^[0-9]+$ ]] || ((k < 1 || k > 256 || (k & (k - 1)) != 0)); then
		_tb_err "TB_FQ_BUCKETS must be a power of two from 1 to 256"
		return 1
	fi
	tc -n "$ns" qdisc del dev "$dev" root >/dev/null 2>&1
	[[ $mbit =~ ^0*(\.0*)?$ ]] && return 0
	_tb_shape_batch "$dev" "$mbit" "$off" "$k" | tc -n "$ns" -batch - || {
		_tb_err "cannot shape $dev in $ns"
		return 1
	}
}

tb_add_host() {
	if [[ $# -ne 4 ]]; then
		_tb_err "usage: tb_add_host NAME ADDR UP_MBIT DOWN_MBIT"
		return 2
	fi
	local name=$1 addr=$2 up=$3 down=$4 ns idx port h mac
	[[ -n ${TB_PREFIX:-} ]] || { _tb_err "tb_add_host: call tb_init first"; return 1; }
	if [[ ! $name =~ ^[A-Za-z0-9_.]+$ || $name == sw ]]; then
		_tb_err "tb_add_host: bad host name '$name'"
		return 1
	fi
	[[ -z ${TB_ADDR[$name]+x} ]] || { _tb_err "tb_add_host: host '$name' exists"; return 1; }
	if ! _tb_valid_addr "$addr"; then
		_tb_err "tb_add_host: $addr is not a host address in 198.18.0.0/15"
		return 1
	fi
	for h in "${TB_HOSTS[@]}"; do
		[[ ${TB_ADDR[$h]} == "$addr" ]] && { _tb_err "tb_add_host: $addr is taken by $h"; return 1; }
	done
	if ! _tb_valid_rate "$up" || ! _tb_valid_rate "$down"; then
		_tb_err "tb_add_host: rates are Mbit/s numbers (0 = unshaped), got '$up' '$down'"
		return 1
	fi
	ns=$TB_PREFIX-$name
	idx=${#TB_HOSTS[@]}
	port=p$idx
	mac=$(_tb_mac "$addr")
	ip netns add "$ns" || { _tb_err "cannot create namespace $ns"; return 1; }
	TB_HOSTS+=("$name")
	TB_ADDR[$name]=$addr
	TB_IDX[$name]=$idx
	TB_MAC[$name]=$mac
	TB_SYNCED[$name]=0
	# The pair is born in the switch namespace with its peer already in the host's.
	ip -n "$TB_PREFIX-sw" -batch - <<EOF || { _tb_err "cannot create the link of $name"; return 1; }
link add name $port type veth peer name eth0 netns $ns
link set $port addrgenmode none
link set $port master br0
link set $port up
EOF
	ip -n "$ns" -batch - <<EOF || { _tb_err "cannot configure $ns"; return 1; }
link set lo up
link set eth0 address $mac addrgenmode none
addr add $addr/15 dev eth0
link set eth0 up
EOF
	tb_shape "$name" "$up" "$down"
}

tb_shape() {
	if [[ $# -ne 3 ]]; then
		_tb_err "usage: tb_shape NAME UP_MBIT DOWN_MBIT"
		return 2
	fi
	_tb_need_host "$1" || return 1
	if ! _tb_valid_rate "$2" || ! _tb_valid_rate "$3"; then
		_tb_err "tb_shape: rates are Mbit/s numbers (0 = unshaped), got '$2' '$3'"
		return 1
	fi
	local k
	k=$(_tb_buckets "${TB_ADDR[$1]}")
	_tb_shape "$TB_PREFIX-$1" eth0 "$2" 16 "$k" &&
		_tb_shape "$TB_PREFIX-sw" "p${TB_IDX[$1]}" "$3" 12 "$k"
}

# _tb_sync: give every host permanent neighbour entries for all hosts and the bridge static
# FDB entries for new hosts (see "Scale" above). Cheap when nothing changed.
_tb_sync() {
	local n=${#TB_HOSTS[@]} h o i
	((n > 0)) || return 0
	for h in "${TB_HOSTS[@]}"; do
		((TB_SYNCED[$h] < n)) || continue
		for ((i = TB_SYNCED[$h]; i < n; i++)); do
			o=${TB_HOSTS[i]}
			[[ $o == "$h" ]] && continue
			echo "neigh replace ${TB_ADDR[$o]} lladdr ${TB_MAC[$o]} dev eth0 nud permanent"
		done | ip -n "$TB_PREFIX-$h" -batch - || _tb_err "neighbour entries failed in $h"
		TB_SYNCED[$h]=$n
	done
	if ((TB_FDB_SYNCED < n)); then
		for ((i = TB_FDB_SYNCED; i < n; i++)); do
			o=${TB_HOSTS[i]}
			echo "fdb replace ${TB_MAC[$o]} dev p${TB_IDX[$o]} master static"
		done | bridge -n "$TB_PREFIX-sw" -batch - || _tb_err "bridge fdb entries failed"
		TB_FDB_SYNCED=$n
	fi
}

# Commands run with their host's name as hostname (own UTS namespace; TB_UTS=0: off), via
# an exec chain so that the pid we record is the command's. Used as: ... "${_tb_uts[@]}" NAME CMD...
# shellcheck disable=SC2016 # expanded by sh
{
	_tb_uts=(unshare --uts -- sh -c 'hostname "$0" && exec "$@"')
	[[ ${TB_UTS:-1} == 0 ]] && _tb_uts=(sh -c 'exec "$@"')
}

tb_exec() {
	_tb_need_host "${1:-}" || return 1
	local ns=$TB_PREFIX-$1 name=$1
	shift
	_tb_sync
	# In the background and waited for, so that a signal reaches our trap (and the
	# teardown) at once rather than when CMD ends; stdin is passed on explicitly.
	ip netns exec "$ns" "${_tb_uts[@]}" "${name}" "$@" <&0 &
	wait "$!"
}

tb_spawn() {
	if [[ $# -lt 3 ]]; then
		_tb_err "usage: tb_spawn NAME LOGFILE CMD..."
		return 2
	fi
	_tb_need_host "$1" || return 1
	local ns=$TB_PREFIX-$1 name=$1 log=$2
	shift 2
	_tb_sync
	ip netns exec "$ns" "${_tb_uts[@]}" "$name" "$@" </dev/null >"$log" 2>&1 &
	TB_LAST_PID=$!
	TB_PIDS+=("$TB_LAST_PID")
	TB_WHAT[$TB_LAST_PID]="${1##*/} in $name"
}

# tb_status_text STATUS: "exit status N", or "signal N (NAME)" for a shell status above 128.
tb_status_text() {
	if (($1 > 128)); then
		echo "signal $(($1 - 128)) ($(kill -l $(($1 - 128)) 2>/dev/null))"
	else
		echo "exit status $1"
	fi
}

# _tb_report_crashes: name every spawned process that crashed (died of SIGSEGV, SIGABRT,
# SIGBUS, SIGFPE, SIGILL, SIGTRAP or SIGSYS: a bug, never a signal a test sends); returns
# 1 if one did.
_tb_report_crashes() {
	local p st crashed=0
	for p in "${TB_PIDS[@]}"; do
		_tb_alive "$p" && continue
		wait "$p" 2>/dev/null
		st=$?
		case $((st - 128)) in
		4 | 5 | 6 | 7 | 8 | 11 | 31) ;;
		*) continue ;;
		esac
		_tb_err "pid $p (${TB_WHAT[$p]:-?}) crashed: it died of $(tb_status_text "$st")"
		crashed=1
	done
	return $crashed
}

tb_wait() {
	local pid=$1 timeout=${2:-60} i rc
	for ((i = 0; i < timeout * 20; i++)); do
		_tb_alive "$pid" || break
		sleep 0.05
	done
	if _tb_alive "$pid"; then
		_tb_err "tb_wait: pid $pid still running after ${timeout}s; killing it"
		tb_kill "$pid" KILL
		return 124
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	return "$rc"
}

tb_kill() {
	local pid=$1 sig=${2:-TERM} i
	kill -s "$sig" "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		_tb_alive "$pid" || break
		sleep 0.05
	done
	_tb_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	for ((i = 0; i < 40; i++)); do
		_tb_alive "$pid" || break
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	return 0
}

# _tb_counter NAME rx|tx: a counter of the host's eth0, read over netlink (no exec).
_tb_counter() {
	_tb_need_host "$1" || return 1
	ip -n "$TB_PREFIX-$1" -s link show dev eth0 | awk -v want="$2" '
		$1 == "RX:" { getline; rx = $1 } $1 == "TX:" { getline; tx = $1 }
		END { print (want == "rx") ? rx : tx }'
}

tb_tx_bytes() { _tb_counter "$1" tx; }
tb_rx_bytes() { _tb_counter "$1" rx; }

tb_origin_start() {
	if [[ $# -ne 3 ]]; then
		_tb_err "usage: tb_origin_start NAME DIR PORT"
		return 2
	fi
	_tb_need_host "$1" || return 1
	_tb_sync
	ORIGIN_EXEC="ip netns exec $TB_PREFIX-$1" origin_start "$2" "${TB_ADDR[$1]}" "$3"
}

# _tb_kill_all PID...: TERM them, wait up to 3 s, KILL the rest, reap our children.
_tb_kill_all() {
	local p i left
	(($# > 0)) || return 0
	for p in "$@"; do _tb_alive "$p" && kill -TERM "$p" 2>/dev/null; done
	for ((i = 0; i < 60; i++)); do
		left=0
		for p in "$@"; do _tb_alive "$p" && { left=1; break; }; done
		((left)) || break
		sleep 0.05
	done
	for p in "$@"; do _tb_alive "$p" && kill -KILL "$p" 2>/dev/null; done
	for p in "$@"; do wait "$p" 2>/dev/null; done
	return 0
}

tb_teardown() {
	local rc=${1:-0} ns pids=() p i
	[[ -n ${TB_PREFIX:-} ]] || return 0
	if declare -F tb_cleanup_hook >/dev/null; then
		tb_cleanup_hook || true
	fi
	origin_stop_all
	# A crash fails the script even when its checks passed (and keeps the logs).
	if ! _tb_report_crashes && [[ $rc == 0 ]]; then
		rc=1
		TB_CRASHED=1
	fi
	_tb_kill_all "${TB_PIDS[@]}"
	# Whatever still runs inside our namespaces (children of what we spawned).
	for ns in $(_tb_our_netns); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
	done
	_tb_kill_all "${pids[@]}"
	for ((i = 0; i < 3; i++)); do
		ns=$(_tb_our_netns)
		[[ -z $ns ]] && break
		# shellcheck disable=SC2086 # one name per word
		printf 'netns del %s\n' $ns | ip -force -batch - >/dev/null 2>&1
	done
	[[ -n $(_tb_our_netns) ]] && _tb_err "teardown: namespaces left: $(_tb_our_netns | tr '\n' ' ')"
	# A crash of a process we did not spawn ourselves (an uploader dfget started) is
	# found by the FATAL line its crash handler wrote; in a sanitizer build, by the
	# sanitizer's report (the process then exits 1, not by a signal).
	if [[ $rc == 0 && -n ${TB_DIR:-} && -d $TB_DIR ]] &&
		grep -rqs "${_tb_crash_pats[@]}" "$TB_DIR" --include='*.log*'; then
		_tb_err "a program logged a crash (a FATAL line or a sanitizer report) under $TB_DIR"
		rc=1
		TB_CRASHED=1
	fi
	if [[ -n ${TB_DIR:-} && -d $TB_DIR ]]; then
		# Kept for a post-mortem when the script fails, not when it is interrupted.
		if [[ ${TB_KEEP:-0} == 1 || ($rc != 0 && $rc != 129 && $rc != 130 && $rc != 143) ]]; then
			_tb_err "logs kept in $TB_DIR"
			# a crashed program left its FATAL line and backtrace in its log: show them
			grep -r -A 24 "${_tb_crash_pats[@]}" "$TB_DIR" --include='*.log*' 2>/dev/null |
				head -60 >&2
		else
			rm -rf "$TB_DIR"
		fi
	fi
	TB_PREFIX=
	TB_HOSTS=()
	TB_PIDS=()
	TB_WHAT=()
	TB_ADDR=()
	TB_IDX=()
	TB_MAC=()
	TB_SYNCED=()
	TB_FDB_SYNCED=0
	return 0
}
