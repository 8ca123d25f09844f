# shellcheck shell=bash
# tests/lib/dfget.sh -- helpers for end-to-end tests of dfget. Source it after isolate.sh
# (it needs top_builddir). It sets no shell options.
#
#   DFGET                  the dfget binary under test
#   DG_TMP                 a private temp dir (made on source), removed by dg_cleanup
#   dg_home NAME           print the path of a work home DG_TMP/NAME (a simulated host)
#   dg_run ARGS...         run dfget with an empty private config; sets DG_RC (exit code)
#                          and DG_ERR (its stderr); stdout goes to DG_TMP/last.out
#   dg_expect RC WORDS ARGS...
#                          dg_run ARGS and fail (return 1, with a message) unless the exit
#                          code is RC and stderr contains WORDS. dfget's codes 1101, 1103
#                          and 1104 reach a shell modulo 256 (77, 79, 80), as with the
#                          original dfget; give them as 1101... here.
#   dg_uploader_port HOME  the port of HOME's uploader from meta/host.meta (0 = none)
#   dg_uploaded_bytes HOME bytes HOME's uploader served to other peers (from /server/stats)
#   dg_stop_uploaders      SIGTERM every uploader of a home under DG_TMP (by the pid in
#                          meta/uploader.pid), wait for them (bounded), SIGKILL stragglers
#   dg_cleanup             dg_stop_uploaders and remove DG_TMP
#   dg_sha FILE            sha256 of FILE
#   dg_fail MSG            print "FAIL: MSG" and return 1

DFGET=${DFGET:-$top_builddir/dfget}
DG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dg-e2e.XXXXXX")
: >"$DG_TMP/empty.conf"

dg_home() { printf '%s\n' "$DG_TMP/$1"; }

dg_fail() {
	echo "FAIL: $*" >&2
	return 1
}

dg_run() {
	DG_RC=0
	DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" "$@" >"$DG_TMP/last.out" 2>"$DG_TMP/last.err" ||
		DG_RC=$?
	DG_ERR=$(cat "$DG_TMP/last.err")
}

dg_expect() {
	local rc=$(($1 % 256)) words=$2
	shift 2
	dg_run "$@"
	if [[ $DG_RC != "$rc" ]]; then
		dg_fail "dfget $* exited $DG_RC, want $rc; stderr: $DG_ERR"
		return 1
	fi
	if [[ $DG_ERR != *"$words"* ]]; then
		dg_fail "dfget $*: stderr lacks '$words': $DG_ERR"
		return 1
	fi
}

dg_uploader_port() {
	local meta=$1/meta/host.meta
	[[ -r $meta ]] || { echo 0; return 0; }
	sed -n 's/.*"servicePort":\([0-9]*\).*/\1/p' "$meta"
}

dg_uploaded_bytes() {
	local port
	port=$(dg_uploader_port "$1")
	[[ $port != 0 && -n $port ]] || { echo 0; return 0; }
	curl -s --noproxy '*' --max-time 5 "http://127.0.0.1:$port/server/stats" |
		sed -n 's/^{[^}]*"uploadedBytes":\([0-9]*\).*/\1/p'
}

dg_stop_uploaders() {
	local f pid i pids=()
	for f in "$DG_TMP"/*/meta/uploader.pid; do
		[[ -r $f ]] || continue
		pid=$(cat "$f")
		[[ $pid =~ ^[0-9]+$ ]] || continue
		kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
	done
	for pid in "${pids[@]}"; do
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

dg_cleanup() {
	dg_stop_uploaders
	[[ -n ${DG_TMP:-} && -d $DG_TMP ]] && rm -rf "$DG_TMP"
	return 0
}

dg_sha() { sha256sum "$1" | cut -d' ' -f1; }

# --node for the supernode tests/lib/supernode.sh started.
dg_node() { printf '127.0.0.1:%s\n' "$SN_API"; }
