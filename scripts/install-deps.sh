#!/bin/bash
# Install, with apt-get, whatever this project needs and the machine lacks (Debian 12).
# Idempotent: packages already present are not touched.
# Usage: install-deps.sh [build|test|deb|all]   (deb: what scripts/test-deb.sh needs)
set -eu
what=${1:-all}

build_pkgs="build-essential autoconf automake pkgconf libmicrohttpd-dev libcurl4-gnutls-dev
libgnutls28-dev libcjson-dev libinih-dev libcunit1-dev curl ca-certificates"
test_pkgs="nginx-light iproute2 procps psmisc util-linux gnuplot-nox jq"
# dfdaemon's end-to-end tests: a real registry, real clients, htpasswd and a token server
test_pkgs="$test_pkgs docker-registry skopeo podman containerd docker.io apache2-utils openssl python3"
# the supernode's operators tests: promtool (prometheus), a headless browser for the status
# page (driven by playwright-core from npm, installed by the test itself)
test_pkgs="$test_pkgs prometheus chromium"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	test_pkgs="$test_pkgs nodejs npm" # (a nodejs from elsewhere may bring its own npm)
fi
# reliability: valgrind for the unit tests, clang and its libFuzzer runtime for tests/fuzz/,
# clang's static analyser (scan-build)
test_pkgs="$test_pkgs valgrind clang libclang-rt-14-dev clang-tools"
deb_pkgs="dpkg-dev debhelper lintian man-db strace"

case "$what" in
build) pkgs=$build_pkgs ;;
test) pkgs="$build_pkgs $test_pkgs" ;;
deb | all) pkgs="$build_pkgs $test_pkgs $deb_pkgs" ;;
*) echo "usage: $0 [build|test|deb|all]" >&2; exit 1 ;;
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
