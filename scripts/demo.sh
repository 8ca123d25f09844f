#!/bin/bash
# The main job: install what is missing, build, and run a real P2P distribution on this
# machine (a supernode, an nginx origin and several dfget clients on loopback), then print
# what happened. Everything it starts is stopped on exit.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh" test
"$top/scripts/build.sh" "$top/build"
for p in supernode dfget dfdaemon; do
	"$top/build/$p" --version
done
echo "The distribution demo arrives with the supernode and dfget (issues 3 and 4)."
