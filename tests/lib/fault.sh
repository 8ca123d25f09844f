# shellcheck shell=bash
# tests/lib/fault.sh -- helpers shared by the fault and hostile-input tests
# (tests/e2e/fault_*.sh, hostile_*.sh) on the testbed (tests/lib/testbed.sh). Source it
# after testbed.sh and tb_init; it needs top_builddir. set -u clean, sets no shell options.
#
#   fo_start HOST DIR [flags...]
#       start tests/tools/faultorigin in HOST on its address, port 80, serving DIR (see the
#       tool's header for the fault paths /<fault>/<name>); waits for it (10 s). Sets
#       FO_URL (http://ADDR), FO_LOG (one line a request: METHOD PATH RANGE STATUS BYTES)
#       and FO_PID. Returns 1 with the output's tail when it does not come up.
#   fo_count ERE             print how many logged requests match ERE ("GET /cut/a.bin ...")
#   rl_run HOST ARGS...      run dfget in HOST with an empty config; sets RL_RC (the exit
#                            code dfget meant: 1101/1103/1104 restored from the shell's
#                            77/79/80) and RL_ERR (stderr); stdout is dropped
#   rl_expect HOST RC WORDS ARGS...
#                            rl_run, then fail (print FAIL, return 1) unless the exit code
#                            is RC and stderr contains WORDS (a grep -E pattern)
#   rl_no_output OUT         fail unless neither OUT nor a dfget temp file beside it exists
#   rl_sha FILE              sha256 of FILE ("none" if missing)
#   fo_version ORIG FILE     print "version K" when FILE is ORIG with every byte XOR K (what
#                            /change/ serves at its K-th request; K 0 = ORIG itself), else
#                            "mixed at byte N" or "length differs"
#   rl_ping HOST URL         fail unless GET URL/_ping from HOST answers OK within 5 s
#   rl_ok MSG / rl_bad MSG   print "  ok    MSG" / "  FAIL  MSG" (rl_bad counts RL_FAILS)
#
# Inputs: DFGET (default top_builddir/dfget), FAULTORIGIN (default
# top_builddir/tests/tools/faultorigin), RL_TMP (scratch dir, default TB_DIR).

: "${DFGET:=${top_builddir:-.}/dfget}"
: "${FAULTORIGIN:=${top_builddir:-.}/tests/tools/faultorigin}"
RL_FAILS=0
RL_RC=0
RL_ERR=
FO_URL=
FO_LOG=
FO_PID=

rl_ok() { printf '  ok    %s\n' "$*"; }
rl_bad() {
	printf '  FAIL  %s\n' "$*"
	RL_FAILS=$((RL_FAILS + 1))
	return 1
}

_rl_tmp() { printf '%s\n' "${RL_TMP:-$TB_DIR}"; }

fo_start() {
	local host=$1 dir=$2 out i port
	shift 2
	out=$(_rl_tmp)/faultorigin.$host.out
	FO_LOG=$(_rl_tmp)/faultorigin.$host.log
	: >"$FO_LOG"
	if [[ ! -x $FAULTORIGIN ]]; then
		echo "fo_start: $FAULTORIGIN is not built (make check builds it)" >&2
		return 1
	fi
	tb_spawn "$host" "$out" "$FAULTORIGIN" -d "$dir" -a "$(tb_addr "$host")" -p 80 \
		-l "$FO_LOG" "$@" || return 1
	FO_PID=$TB_LAST_PID
	for ((i = 0; i < 200; i++)); do
		port=$(sed -n 's/^faultorigin ready: port=//p' "$out" 2>/dev/null)
		if [[ -n $port ]]; then
			FO_URL=http://$(tb_addr "$host")
			return 0
		fi
		kill -0 "$FO_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "fo_start: faultorigin did not come up in $host:" >&2
	tail -n 5 "$out" >&2
	return 1
}

fo_count() { grep -cE "$1" "$FO_LOG"; }

fo_version() { "$FAULTORIGIN" -V "$1" "$2"; }

rl_run() {
	local host=$1 errf
	shift
	errf=$(_rl_tmp)/rl.err.$BASHPID # (several may run at once, from subshells)
	: >"$(_rl_tmp)/rl.empty.conf"
	RL_RC=0
	tb_exec "$host" env DFGET_CONFIG="$(_rl_tmp)/rl.empty.conf" "$DFGET" "$@" \
		>/dev/null 2>"$errf" || RL_RC=$?
	case $RL_RC in
	77) RL_RC=1101 ;;
	79) RL_RC=1103 ;;
	80) RL_RC=1104 ;;
	esac
	RL_ERR=$(cat "$errf")
	rm -f "$errf"
}

rl_expect() {
	local host=$1 rc=$2 words=$3
	shift 3
	rl_run "$host" "$@"
	if [[ $RL_RC != "$rc" ]]; then
		rl_bad "dfget $* exited $RL_RC, want $rc; stderr: $(tail -c 600 <<<"$RL_ERR")"
		return 1
	fi
	if ! grep -qE -- "$words" <<<"$RL_ERR"; then
		rl_bad "dfget $*: stderr lacks /$words/: $(tail -c 600 <<<"$RL_ERR")"
		return 1
	fi
}

rl_no_output() {
	local out=$1 left
	left=$(find "$(dirname "$out")" -maxdepth 1 \( -name "$(basename "$out")" -o \
		-name ".$(basename "$out").dfget-*" \) 2>/dev/null)
	[[ -z $left ]] && return 0
	rl_bad "left behind at the output path: $(tr '\n' ' ' <<<"$left")"
	xargs -d '\n' rm -f <<<"$left"
	return 1
}

rl_sha() {
	local s
	s=$(sha256sum 2>/dev/null <"$1") || s=none
	printf '%s\n' "${s%% *}"
}

rl_ping() {
	local got
	got=$(tb_exec "$1" curl -s --noproxy '*' --max-time 5 "$2/_ping") || true
	[[ $got == OK ]] || { rl_bad "$2/_ping from $1 answered '${got}'"; return 1; }
}

# rl_spawn HOST TAG ARGS...: start dfget in HOST in the background (empty config, home
# RL_TMP/TAG/home, output RL_TMP/TAG/out, stderr in RL_TMP/TAG/err); RL_PID[TAG] is
# dfget's pid. rl_reap TAG [TIMEOUT_S]: wait for it (tb_wait), set RL_RC as rl_run does.
# rl_out TAG / rl_home TAG: the paths. rl_uploader_pid TAG: its uploader's pid, or "".
declare -gA RL_PID=()
rl_out() { printf '%s/%s/out\n' "$(_rl_tmp)" "$1"; }
rl_home() { printf '%s/%s/home\n' "$(_rl_tmp)" "$1"; }
rl_spawn() {
	local host=$1 tag=$2 d
	shift 2
	d=$(_rl_tmp)/$tag
	rm -rf "$d"
	mkdir -p "$d"
	: >"$d/empty.conf"
	tb_spawn "$host" "$d/err" env DFGET_CONFIG="$d/empty.conf" "$DFGET" -o "$d/out" \
		--home "$d/home" "$@" || return 1
	RL_PID[$tag]=$TB_LAST_PID
}
rl_reap() {
	RL_RC=0
	tb_wait "${RL_PID[$1]}" "${2:-120}" || RL_RC=$?
	case $RL_RC in
	77) RL_RC=1101 ;;
	79) RL_RC=1103 ;;
	80) RL_RC=1104 ;;
	esac
	RL_ERR=$(cat "$(_rl_tmp)/$1/err" 2>/dev/null)
}
rl_uploader_pid() {
	local f
	f=$(rl_home "$1")/meta/uploader.pid
	[[ -r $f ]] && tr -dc 0-9 <"$f"
}
