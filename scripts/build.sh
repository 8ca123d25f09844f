#!/bin/bash
# Configure and build out of tree. Usage: build.sh BUILDDIR [configure flags...]
# Re-running reuses the build directory (only what changed is rebuilt).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$1
shift
flags="$*"
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	echo "==> autoreconf -fi"
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
mkdir -p "$builddir"
cd "$builddir"
stamp=.df-configure-flags
if [ ! -f Makefile ] || [ "$(cat $stamp 2>/dev/null)" != "$flags" ]; then
	echo "==> configure $flags (in $builddir)"
	# shellcheck disable=SC2086
	"$top/configure" -q $flags
	echo "$flags" >$stamp
fi
echo "==> make (in $builddir)"
make -s -j"$(nproc)" >/dev/null
