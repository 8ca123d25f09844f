#!/bin/bash
# Install, with apt-get, whatever this project needs and the machine lacks (Debian 12).
# Idempotent: packages already present are not touched. Usage: install-deps.sh [build|test|all]
set -eu
what=${1:-all}

build_pkgs="build-essential autoconf automake pkgconf libmicrohttpd-dev libcurl4-gnutls-dev
libgnutls28-dev libcjson-dev libinih-dev libcunit1-dev curl ca-certificates"
test_pkgs="nginx-light iproute2 procps psmisc util-linux gnuplot-nox jq"

case "$what" in
build) pkgs=$build_pkgs ;;
test | all) pkgs="$build_pkgs $test_pkgs" ;;
*) echo "usage: $0 [build|test|all]" >&2; exit 1 ;;
esac

missing=()
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "==> all required Debian packages are installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "==> installing: ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"${missing[@]}" >/dev/null
echo "==> installed ${#missing[@]} packages"
