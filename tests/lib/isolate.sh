# Source this first in an end-to-end script: when run as root, the script re-executes itself
# in fresh network, PID and mount namespaces (unshare -n -p -f --mount-proc) with only a
# loopback interface. Fixed ports cannot collide with anything else on the machine, and
# every process the script starts dies with it, whatever happens.
#
# Not root, or unshare unavailable: the script exits 77 (automake's SKIP) with the reason.
# Set DF_NO_ISOLATE=1 to run in the current namespaces instead (for debugging).
# DF_SKIP_E2E=1 skips every end-to-end script (make distcheck and package builds set it:
# CI runs them once, in build/).
if [ -n "${DF_SKIP_E2E:-}" ]; then
	echo "SKIP: DF_SKIP_E2E is set"
	exit 77
fi
if [ -z "${DF_ISOLATED:-}" ] && [ -z "${DF_NO_ISOLATE:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: $0 needs root (it runs in its own network namespace)"
		exit 77
	fi
	if ! unshare -n -p -f --mount-proc true 2>/dev/null; then
		echo "SKIP: unshare -n -p -f --mount-proc is not available here"
		exit 77
	fi
	export DF_ISOLATED=1
	exec unshare -n -p -f --mount-proc -- bash "$0" "$@"
fi
if [ -n "${DF_ISOLATED:-}" ]; then
	ip link set lo up
fi
# Where the build and the sources are (set by make check; defaults for running by hand).
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
