#!/bin/bash
# The Debian packages, end to end, on this machine (Debian 12, as root):
#   1. install the build tools (scripts/install-deps.sh deb), copy the source tree (the
#      files git tracks or would track: no build products) to a temp dir;
#   2. dpkg-buildpackage -us -uc -b there (unit tests run; DEB_BUILD_OPTIONS=nocheck in the
#      environment skips them); lintian on the .changes: no error, no warning;
#   3. apt-get install ./dfget_*.deb ./dragonfly-supernode_*.deb ./dfdaemon_*.deb; check the
#      installed programs, the system user, conffiles, manual pages and systemd units;
#   4. in fresh network and PID namespaces (like tests/lib/isolate.sh): start the installed
#      supernode by hand, as the service would (user dragonfly, /etc/dragonfly/supernode.conf,
#      state in /var/lib/dragonfly), serve a file with nginx on loopback and download it with
#      the installed dfget through the supernode (--notbs: P2P or fail), verify it; start
#      the installed dfdaemon as its unit would and fetch the file through it as a proxy;
#   5. remove, then purge the supernode (its conffile and cache go, what dfdaemon and dfget
#      share stays), then purge all three and check nothing is left: no files under
#      /etc/dragonfly, /var/lib/dragonfly, /var/log/dragonfly, no programs, units or dpkg
#      state.
# Refuses to run when the packages or their directories already exist (it would remove
# them). Prints "PASS: debian packages" and exits 0 on success; 77 (skip) when not root.
# Usage: scripts/test-deb.sh [--keep]   (--keep: leave the temp dir with the .debs and logs)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
pkgs=(dfget dragonfly-supernode dfdaemon)
APT=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -q)
t0=$(date +%s)

# ---------------------------------------------------------------- step 4, in namespaces
# Run as: unshare -n -p -f --mount-proc -- bash test-deb.sh --download WORKDIR
if [ "${1:-}" = --download ]; then
	work=$2
	ip link set lo up || exit 1
	top_srcdir=$top
	# shellcheck source=../tests/lib/origin.sh
	. "$top/tests/lib/origin.sh"
	sn_pid=
	dd_pid=
	cleanup_ns() {
		[ -z "$sn_pid" ] || { kill -TERM "$sn_pid" 2>/dev/null; wait "$sn_pid" 2>/dev/null; }
		[ -z "$dd_pid" ] || { kill -TERM "$dd_pid" 2>/dev/null; wait "$dd_pid" 2>/dev/null; }
		origin_stop_all
	}
	trap cleanup_ns EXIT
	mkdir -p "$work/www" "$work/client"
	head -c $((9 * 1024 * 1024 + 12345)) /dev/urandom >"$work/www/file.bin"
	origin_start "$work/www" 127.0.0.1 0 || exit 1
	# The service's way: user dragonfly, no flags (the unit adds only --config with the
	# default path), ports 8002/8001 from the installed configuration file.
	setpriv --reuid=dragonfly --regid=dragonfly --init-groups \
		/usr/sbin/supernode >"$work/sn.out" 2>"$work/sn.log" </dev/null &
	sn_pid=$!
	for _ in $(seq 200); do
		grep -q '^supernode ready: api_port=8002 download_port=8001' "$work/sn.out" && break
		kill -0 "$sn_pid" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q '^supernode ready: ' "$work/sn.out"; then
		echo "FAIL: the installed supernode did not come up; its log:"
		tail -20 "$work/sn.log"
		exit 1
	fi
	echo "installed supernode is up as user dragonfly: $(cat "$work/sn.out")"
	# The installed dfget with the installed /etc/dragonfly/dfget.conf (node 127.0.0.1:8002).
	if ! /usr/bin/dfget -u "$ORIGIN_URL/file.bin" -o "$work/client/file.bin" --notbs \
		--home "$work/client/home" 2>"$work/dfget.err"; then
		echo "FAIL: the installed dfget could not download through the supernode:"
		cat "$work/dfget.err"
		tail -20 "$work/sn.log"
		exit 1
	fi
	cat "$work/dfget.err"
	want=$(sha256sum <"$work/www/file.bin")
	got=$(sha256sum <"$work/client/file.bin")
	[ "$want" = "$got" ] || { echo "FAIL: the downloaded file differs from the origin's"; exit 1; }
	origin_wait_requests 1 '^/file\.bin' 10 >/dev/null 2>&1
	sent=$(origin_bytes_sent)
	[ -n "$(ls -A /var/lib/dragonfly/repo/download 2>/dev/null)" ] ||
		{ echo "FAIL: the supernode cached nothing in /var/lib/dragonfly/repo/download"; exit 1; }
	owner=$(find /var/lib/dragonfly/repo -type f -printf '%u\n' | sort -u | tr '\n' ' ')
	[ "$owner" = "dragonfly " ] ||
		{ echo "FAIL: cache files are owned by '$owner', not by dragonfly"; exit 1; }
	echo "downloaded $(stat -c %s "$work/client/file.bin") bytes, sha256 verified;" \
		"the origin sent $sent bytes (to the supernode); cache in /var/lib/dragonfly"
	upid=$(cat "$work/client/home/meta/uploader.pid" 2>/dev/null)
	[ -z "$upid" ] || kill -TERM "$upid" 2>/dev/null
	if /usr/sbin/dfdaemon --help | grep -q -- --check-config; then
		# The unit's way: user dragonfly, HOME /var/lib/dragonfly/dfdaemon (StateDirectory),
		# the installed configuration; then a request through it as an HTTP proxy.
		install -d -o dragonfly -g dragonfly -m 0750 /var/lib/dragonfly/dfdaemon
		HOME=/var/lib/dragonfly/dfdaemon setpriv --reuid=dragonfly --regid=dragonfly \
			--init-groups /usr/sbin/dfdaemon --config /etc/dragonfly/dfdaemon.conf \
			>"$work/dd.out" 2>"$work/dd.log" </dev/null &
		dd_pid=$!
		for _ in $(seq 200); do
			grep -q '^dfdaemon ready: port=65001' "$work/dd.out" && break
			kill -0 "$dd_pid" 2>/dev/null || break
			sleep 0.05
		done
		grep -q '^dfdaemon ready: ' "$work/dd.out" ||
			{ echo "FAIL: the installed dfdaemon did not come up:"; tail -20 "$work/dd.log"; exit 1; }
		got=$(curl -sf -x http://127.0.0.1:65001 "$ORIGIN_URL/file.bin" | sha256sum)
		[ "$got" = "$want" ] ||
			{ echo "FAIL: a GET through the installed dfdaemon"; tail -20 "$work/dd.log"; exit 1; }
		kill -TERM "$dd_pid"
		wait "$dd_pid" || { echo "FAIL: dfdaemon exited $? on SIGTERM"; exit 1; }
		dd_pid=
		echo "installed dfdaemon is up as user dragonfly ($(cat "$work/dd.out")), proxies a GET"
	fi
	kill -TERM "$sn_pid"
	wait "$sn_pid"
	rc=$?
	sn_pid=
	[ "$rc" -eq 0 ] || { echo "FAIL: the supernode exited $rc on SIGTERM"; exit 1; }
	exit 0
fi

# ---------------------------------------------------------------- the main run
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: test-deb.sh installs and purges packages: run it as root"
	exit 77
fi
keep=no
[ "${1:-}" = --keep ] && keep=yes
fail() {
	echo "FAIL: $*"
	exit 1
}
installed() { # the packages of ours dpkg knows in any state but not-installed
	dpkg-query -W -f='${db:Status-Status} ${Package}\n' "${pkgs[@]}" 2>/dev/null |
		awk '$1 != "not-installed" { print $2 }'
}
leftovers() {
	local p
	for p in /etc/dragonfly /var/lib/dragonfly /var/log/dragonfly /usr/bin/dfget \
		/usr/sbin/supernode /usr/sbin/dfdaemon /usr/bin/supernode /usr/sbin/dfget \
		/usr/bin/dfdaemon /lib/systemd/system/dragonfly-supernode.service \
		/lib/systemd/system/dfdaemon.service \
		/etc/systemd/system/multi-user.target.wants/dragonfly-supernode.service \
		/etc/systemd/system/multi-user.target.wants/dfdaemon.service; do
		[ ! -e "$p" ] && [ ! -L "$p" ] || echo "$p"
	done
	for p in "${pkgs[@]}"; do
		ls /var/lib/dpkg/info/"$p".* 2>/dev/null
		ls /var/lib/systemd/deb-systemd-helper-enabled/*"${p}"* 2>/dev/null
	done
}
[ -z "$(installed)" ] || fail "already installed here: $(installed | tr '\n' ' ')(this test" \
	"installs and purges them: purge them first, or run it on a CI machine)"
[ -z "$(leftovers)" ] || fail "not a clean machine, these exist: $(leftovers | tr '\n' ' ')"

work=$(mktemp -d /tmp/test-deb.XXXXXX)
chmod 0755 "$work"
we_installed=no
cleanup() {
	if [ "$we_installed" = yes ] && [ -n "$(installed)" ]; then
		echo "cleanup: purging $(installed | tr '\n' ' ')"
		# shellcheck disable=SC2046 # package names are words
		"${APT[@]}" purge $(installed) >/dev/null 2>&1
	fi
	if [ "$keep" = yes ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "=== 1. build dependencies and a copy of the tree"
"$top/scripts/install-deps.sh" deb || fail "cannot install the build dependencies"
src=$work/dragonfly
mkdir -p "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -xf - -C "$src" || fail "cannot copy the tree"
version=$(cd "$src" && dpkg-parsechangelog -S Version)
upstream=$(sed -n 's/^AC_INIT(\[[^]]*\], \[\([^]]*\)\].*/\1/p' "$src/configure.ac")
[ "$version" = "$upstream" ] ||
	fail "debian/changelog says $version but configure.ac says $upstream: add a changelog entry"

echo "=== 2. dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS='${DEB_BUILD_OPTIONS:-}')"
tb=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	tail -60 "$work/build.log"
	fail "dpkg-buildpackage failed (log: $work/build.log; rerun with --keep to keep it)"
fi
grep -E '^(# (TOTAL|PASS|FAIL|ERROR|SKIP):|dpkg-buildpackage: info: binary-only)' \
	"$work/build.log" | sed 's/^/    /'
echo "built in $(($(date +%s) - tb)) s:"
(cd "$work" && ls -1 ./*.deb ./*.changes) | sed 's/^/    /'
for p in "${pkgs[@]}"; do
	[ -f "$(echo "$work/${p}_${version}_"*.deb)" ] || fail "no ${p}_${version}_*.deb"
done
changes=$(echo "$work"/dragonfly_"${version}"_*.changes)
lintian --pedantic --display-info --fail-on error,warning "$changes" >"$work/lintian.out" 2>&1
lrc=$?
sed 's/^/    lintian: /' "$work/lintian.out"
[ "$lrc" -eq 0 ] || fail "lintian reports errors or warnings"
grep -qE '^[EW]: ' "$work/lintian.out" && fail "lintian reports errors or warnings"
echo "lintian: no errors, no warnings"

echo "=== 3. apt-get install ./dfget_*.deb ./dragonfly-supernode_*.deb ./dfdaemon_*.deb"
we_installed=yes
(cd "$work" && "${APT[@]}" install ./dfget_*.deb ./dragonfly-supernode_*.deb ./dfdaemon_*.deb) \
	>"$work/install.log" 2>&1 || { tail -30 "$work/install.log"; fail "apt-get install failed"; }
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$p")
	[ "$st" = "ii $version" ] || fail "$p is '$st' after installation"
done
out=$(dfget --version) || fail "the installed dfget --version exited $?"
[ "$out" = "dfget $version" ] || fail "dfget --version says '$out'"
echo "installed: $out; $(supernode --version); $(dfdaemon --version)"
[ "$(command -v dfget)" = /usr/bin/dfget ] || fail "dfget is not /usr/bin/dfget"
pw=$(getent passwd dragonfly) || fail "no system user dragonfly"
IFS=: read -r _ _ uid _ _ home shell <<<"$pw"
[ "$uid" -lt 1000 ] && [ "$home" = /var/lib/dragonfly ] && [ "$shell" = /usr/sbin/nologin ] ||
	fail "user dragonfly: $pw (want a system user, home /var/lib/dragonfly, no login)"
[ "$(stat -c %U /var/lib/dragonfly)" = dragonfly ] || fail "/var/lib/dragonfly is not dragonfly's"
conffiles="/etc/dragonfly/supernode.conf /etc/dragonfly/dfget.conf"
[ ! -f "$src/etc/dfdaemon.conf" ] || conffiles="$conffiles /etc/dragonfly/dfdaemon.conf"
for c in $conffiles; do
	dpkg-query -W -f='${Conffiles}\n' "${pkgs[@]}" | grep -q " $c " || fail "$c is no conffile"
done
for m in dfget supernode dfdaemon dfget.conf supernode.conf dfdaemon.conf; do
	man -w "$m" >/dev/null 2>&1 || fail "no manual page for $m"
done
/usr/sbin/supernode --check-config >"$work/check.out" 2>&1 ||
	fail "supernode --check-config on the installed configuration: $(cat "$work/check.out")"
grep -q '^home-dir = /var/lib/dragonfly$' "$work/check.out" ||
	fail "the installed supernode's home-dir is not /var/lib/dragonfly"
[ -L /etc/systemd/system/multi-user.target.wants/dragonfly-supernode.service ] ||
	fail "dragonfly-supernode.service is not enabled"
[ ! -e /etc/systemd/system/multi-user.target.wants/dfdaemon.service ] ||
	fail "dfdaemon.service is enabled (it must wait for its configuration)"
if command -v systemd-analyze >/dev/null; then
	for u in dragonfly-supernode dfdaemon; do
		v=$(systemd-analyze verify "/lib/systemd/system/$u.service" 2>&1) ||
			fail "systemd-analyze verify $u.service: $v"
		[ -z "$v" ] || fail "systemd-analyze verify $u.service: $v"
		score=$(systemd-analyze security --offline=yes "/lib/systemd/system/$u.service" \
			2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: //p')
		echo "$u.service: systemd-analyze verify clean; exposure ${score:-?}"
	done
fi

echo "=== 4. a download through the installed supernode (own network and PID namespaces)"
unshare -n -p -f --mount-proc -- bash "$0" --download "$work" ||
	fail "the download through the installed packages failed"

echo "=== 5. remove and purge: the supernode first (dfdaemon shares /var/lib/dragonfly), then all"
"${APT[@]}" remove dragonfly-supernode >"$work/purge.log" 2>&1 ||
	{ tail -30 "$work/purge.log"; fail "apt-get remove dragonfly-supernode failed"; }
[ ! -e /usr/sbin/supernode ] || fail "remove left /usr/sbin/supernode"
[ -f /etc/dragonfly/supernode.conf ] && [ -d /var/lib/dragonfly/repo ] ||
	fail "remove (not purge) dropped the supernode's configuration or cache"
"${APT[@]}" purge dragonfly-supernode >>"$work/purge.log" 2>&1 ||
	{ tail -30 "$work/purge.log"; fail "apt-get purge dragonfly-supernode failed"; }
[ ! -e /etc/dragonfly/supernode.conf ] && [ ! -e /var/lib/dragonfly/repo ] ||
	fail "purging dragonfly-supernode left its configuration or its cache"
[ -d /var/lib/dragonfly ] && [ -f /etc/dragonfly/dfget.conf ] ||
	fail "purging dragonfly-supernode removed what dfdaemon and dfget still use"
# apt no longer knows dragonfly-supernode (it came from a file): purge the other two.
"${APT[@]}" purge dfget dfdaemon >>"$work/purge.log" 2>&1 ||
	{ tail -30 "$work/purge.log"; fail "apt-get purge failed"; }
[ -z "$(installed)" ] || fail "still known to dpkg after purge: $(installed | tr '\n' ' ')"
left=$(leftovers)
[ -z "$left" ] || fail "left behind after purge: $(echo "$left" | tr '\n' ' ')"
getent passwd dragonfly >/dev/null && echo "the system user dragonfly stays (Debian's custom)"
echo "nothing left behind"
echo "PASS: debian packages (build, lintian, install, download, purge) in $(($(date +%s) - t0)) s"
