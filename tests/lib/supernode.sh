# shellcheck shell=bash
# tests/lib/supernode.sh -- start and stop a real supernode for end-to-end tests and benches.
#
# Source this file from bash (set -u clean; sets no shell options).
#
#   sn_start HOME [extra flags...]
#       Start $SN_BIN (default $top_builddir/supernode) in the background with
#       --home-dir HOME --port 0 --download-port 0 (flags given later win), its stdout in
#       HOME/sn.out and its log (stderr) in HOME/sn.log (appended: restarts keep history).
#       Waits (SN_START_TIMEOUT seconds, default 10) for the line
#           supernode ready: api_port=N download_port=M
#       and sets SN_PID, SN_API (N), SN_DL (M), SN_URL (http://$SN_ADDR:N) and SN_HOME.
#       Returns 1 with the log's tail on stderr when it does not come up.
#   sn_stop [TIMEOUT_S]
#       SIGTERM the supernode and wait (default 10 s) for it to exit, then SIGKILL.
#       Sets SN_EXIT to its exit status (or 137 when killed). Idempotent.
#   sn_kill
#       SIGKILL it at once (a crash) and reap it.
#   sn_alive
#       True while it runs.
#
# Inputs: SN_BIN, SN_ADDR (the address tests use to reach it, default 127.0.0.1),
# SN_START_TIMEOUT. Only the PID started here is ever signalled.

: "${SN_ADDR:=127.0.0.1}"
SN_PID=
SN_API=
SN_DL=
SN_URL=
SN_HOME=
SN_EXIT=

sn_alive() {
	[[ -n ${SN_PID:-} ]] && kill -0 "$SN_PID" 2>/dev/null
}

sn_start() {
	if [[ $# -lt 1 ]]; then
		echo "usage: sn_start HOME [flags...]" >&2
		return 2
	fi
	local home=$1 bin=${SN_BIN:-${top_builddir:-.}/supernode} i line
	shift
	if sn_alive; then
		echo "sn_start: a supernode is already running (pid $SN_PID)" >&2
		return 1
	fi
	if [[ ! -x $bin ]]; then
		echo "sn_start: $bin is not built" >&2
		return 1
	fi
	mkdir -p "$home" || return 1
	: >"$home/sn.out"
	"$bin" --home-dir "$home" --port 0 --download-port 0 "$@" \
		>"$home/sn.out" 2>>"$home/sn.log" </dev/null &
	SN_PID=$!
	SN_HOME=$home
	SN_EXIT=
	for ((i = 0; i < ${SN_START_TIMEOUT:-10} * 20; i++)); do
		line=$(grep -m1 '^supernode ready: ' "$home/sn.out" 2>/dev/null) || line=
		if [[ $line =~ api_port=([0-9]+)\ download_port=([0-9]+) ]]; then
			SN_API=${BASH_REMATCH[1]}
			SN_DL=${BASH_REMATCH[2]}
			SN_URL="http://$SN_ADDR:$SN_API"
			return 0
		fi
		if ! sn_alive; then
			wait "$SN_PID" 2>/dev/null
			SN_EXIT=$?
			break
		fi
		sleep 0.05
	done
	{
		echo "sn_start: the supernode did not come up (exit ${SN_EXIT:-none}); its log:"
		tail -n 20 "$home/sn.log"
	} >&2
	sn_alive && kill -KILL "$SN_PID" 2>/dev/null && wait "$SN_PID" 2>/dev/null
	SN_PID=
	return 1
}

sn_stop() {
	local timeout=${1:-10} i
	[[ -n ${SN_PID:-} ]] || return 0
	if sn_alive; then
		kill -TERM "$SN_PID" 2>/dev/null
		for ((i = 0; i < timeout * 20; i++)); do
			sn_alive || break
			# A zombie still answers kill -0: reap it when it has exited.
			[[ $(cut -d' ' -f3 "/proc/$SN_PID/stat" 2>/dev/null) == Z ]] && break
			sleep 0.05
		done
		sn_alive && [[ $(cut -d' ' -f3 "/proc/$SN_PID/stat" 2>/dev/null) != Z ]] &&
			kill -KILL "$SN_PID" 2>/dev/null
	fi
	wait "$SN_PID" 2>/dev/null
	SN_EXIT=$?
	SN_PID=
	return 0
}

sn_kill() {
	[[ -n ${SN_PID:-} ]] || return 0
	kill -KILL "$SN_PID" 2>/dev/null
	wait "$SN_PID" 2>/dev/null
	SN_EXIT=$?
	SN_PID=
	return 0
}
