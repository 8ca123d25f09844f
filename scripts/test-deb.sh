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
#      the installed dfdaemon as its unit would and fetch the file through it (P2P); the
#      services run under strace, and every system call they make must be allowed by
#      their unit's SystemCallFilter= (the sandbox cannot be run here: no systemd);
#   5. remove, then purge the supernode (its conffile and cache go, what dfdaemon and dfget
#      share stays), then purge all three and check nothing is left: no files under
#      /etc/dragonfly, /var/lib/dragonfly, /var/log/dragonfly, no programs, units or dpkg
#      state.
# Refuses to run when the packages or their directories already exist (it would remove
# them); a second run on the same machine waits for the first. Prints "PASS: debian packages" and exits 0 on success; 77 (skip) when not root.
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
	# shellcheck source=tests/lib/origin.sh
	. "$top/tests/lib/origin.sh"
	STRACE=$(command -v strace)
	command -v systemd-analyze >/dev/null || STRACE=
	declare -A job pid
	nfail=0
	bad() {
		echo "FAIL: $*"
		nfail=$((nfail + 1))
	}
	# start_svc NAME READY_ERE CMD...: start CMD as user dragonfly, as its unit would (under
	# strace -f when there is one, to check its system calls against the unit's filter),
	# and wait up to 10 s for READY_ERE on its stdout. job[NAME] is the background job,
	# pid[NAME] the program itself.
	start_svc() {
		local name=$1 ready=$2 i trace=()
		shift 2
		[ -z "$STRACE" ] || trace=("$STRACE" -f -qq -o "$work/$name.trace")
		# sh notes its pid, which the program keeps through the execs.
		"${trace[@]}" sh -c 'echo $$ >"$0"; exec "$@"' "$work/$name.pid" \
			setpriv --reuid=dragonfly --regid=dragonfly --init-groups "$@" \
			>"$work/$name.out" 2>"$work/$name.log" </dev/null &
		job[$name]=$!
		for ((i = 0; i < 200; i++)); do
			pid[$name]=$(cat "$work/$name.pid" 2>/dev/null)
			[ -n "${pid[$name]}" ] && grep -qE "$ready" "$work/$name.out" && return 0
			kill -0 "${job[$name]}" 2>/dev/null || break
			sleep 0.05
		done
		bad "the installed $name did not come up; its log:"
		tail -20 "$work/$name.log"
		return 1
	}
	# stop_svc NAME [EXTRA_PID]: SIGTERM the program (and EXTRA_PID, a child it started),
	# wait for the job (20 s, then SIGKILL); returns the program's exit status.
	stop_svc() {
		local name=$1 rc i
		[ -n "${job[$name]:-}" ] || return 0
		kill -TERM "${pid[$name]}" ${2:+"$2"} 2>/dev/null
		for ((i = 0; i < 400; i++)); do
			kill -0 "${job[$name]}" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "${job[$name]}" 2>/dev/null; then
			bad "$name did not stop within 20 s of SIGTERM"
			kill -KILL "${pid[$name]}" ${2:+"$2"} 2>/dev/null
		fi
		wait "${job[$name]}"
		rc=$?
		unset "job[$name]"
		return $rc
	}
	# check_syscalls NAME UNIT: every system call /usr/sbin/NAME (and its children) made
	# after its execve is allowed by the unit's SystemCallFilter= (groups expanded).
	check_syscalls() {
		local name=$1 unit=/lib/systemd/system/$2.service filter used extra
		[ -n "$STRACE" ] && [ -f "$work/$name.trace" ] || return 0
		filter=$(sed -n 's/^SystemCallFilter=//p' "$unit")
		[ -n "$filter" ] || return 0
		expand_filter $filter | sort -u >"$work/$name.allowed"
		awk -v exe="execve(\"/usr/sbin/$name\"" 'index($0, exe) { on = 1 } on' \
			"$work/$name.trace" |
			sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p' | sort -u >"$work/$name.used"
		used=$(wc -l <"$work/$name.used")
		extra=$(comm -23 "$work/$name.used" "$work/$name.allowed" | tr '\n' ' ')
		if [ -n "$extra" ]; then
			bad "$name made system calls its unit's SystemCallFilter=$filter forbids: $extra"
		else
			echo "$name: all $used system calls it made are allowed by $2.service"
		fi
	}
	expand_filter() { # syscall groups (@name) and names -> names, one per line
		local x
		for x in "$@"; do
			# shellcheck disable=SC2046 # the group's members are words
			case $x in
			@*) expand_filter $(systemd-analyze syscall-filter "$x" | sed 's/^ *//' |
				grep -v '^#' | tail -n +2) ;;
			*) echo "$x" ;;
			esac
		done
	}
	cleanup_ns() {
		local n
		for n in "${!job[@]}"; do stop_svc "$n"; done
		origin_stop_all
	}
	trap cleanup_ns EXIT
	mkdir -p "$work/www" "$work/client"
	head -c $((9 * 1024 * 1024 + 12345)) /dev/urandom >"$work/www/file.bin"
	want=$(sha256sum <"$work/www/file.bin")
	origin_start "$work/www" 127.0.0.1 0 || exit 1

	# The supernode, the unit's way: no flags but --config with the default path, so
	# ports 8002/8001 and /var/lib/dragonfly from the installed configuration file.
	start_svc supernode '^supernode ready: api_port=8002 download_port=8001' \
		/usr/sbin/supernode --config /etc/dragonfly/supernode.conf || exit 1
	echo "installed supernode is up as user dragonfly: $(cat "$work/supernode.out")"
	# The installed dfget with the installed /etc/dragonfly/dfget.conf (node 127.0.0.1:8002).
	if /usr/bin/dfget -u "$ORIGIN_URL/file.bin" -o "$work/client/file.bin" --notbs \
		--home "$work/client/home" 2>"$work/dfget.err"; then
		cat "$work/dfget.err"
		got=$(sha256sum <"$work/client/file.bin")
		[ "$want" = "$got" ] || bad "the downloaded file differs from the origin's"
		origin_wait_requests 1 '^/file\.bin' 10 >/dev/null 2>&1
		owner=$(find /var/lib/dragonfly/repo -type f -printf '%u\n' | sort -u | tr '\n' ' ')
		[ "$owner" = "dragonfly " ] ||
			bad "files in /var/lib/dragonfly/repo are owned by '$owner', not by dragonfly"
		echo "downloaded $(stat -c %s "$work/client/file.bin") bytes, sha256 verified; the" \
			"origin sent $(origin_bytes_sent) bytes (to the supernode, cache in /var/lib/dragonfly)"
	else
		bad "the installed dfget could not download through the supernode:"
		cat "$work/dfget.err"
		tail -20 "$work/supernode.log"
	fi
	upid=$(cat "$work/client/home/meta/uploader.pid" 2>/dev/null)
	[ -z "$upid" ] || kill -TERM "$upid" 2>/dev/null

	# dfdaemon, the unit's way (once it is more than a stub): HOME /var/lib/dragonfly/dfdaemon,
	# the installed configuration; a GET through it as a proxy, with a rule that sends the
	# file through P2P (its engine, and the uploader it starts from /usr/bin/dfget).
	if /usr/sbin/dfdaemon --help | grep -q -- --check-config; then
		ddhome=/var/lib/dragonfly/dfdaemon
		install -d -o dragonfly -g dragonfly -m 0750 "$ddhome"
		if start_svc dfdaemon '^dfdaemon ready: port=65001' env HOME="$ddhome" \
			/usr/sbin/dfdaemon --config /etc/dragonfly/dfdaemon.conf --rule 'file\.bin$'; then
			got=$(curl -sf -m 60 -x http://127.0.0.1:65001 "$ORIGIN_URL/file.bin" | sha256sum)
			[ "$got" = "$want" ] || bad "a GET through the installed dfdaemon: $(tail -5 "$work/dfdaemon.log")"
			stats=$(curl -sf -m 10 http://127.0.0.1:65001/_dfdaemon/stats)
			[ "$(jq -r '"\(.p2p_started) \(.fallbacks)"' <<<"$stats")" = "1 0" ] ||
				bad "dfdaemon did not serve the GET through P2P alone: $stats"
			upid=$(cat "$ddhome/.small-dragonfly/meta/uploader.pid" 2>/dev/null)
			stop_svc dfdaemon "$upid" || bad "dfdaemon exited $? on SIGTERM"
			echo "installed dfdaemon is up as user dragonfly and serves a GET through P2P"
			check_syscalls dfdaemon dfdaemon
		fi
	fi
	stop_svc supernode || bad "the supernode exited $? on SIGTERM"
	check_syscalls supernode dragonfly-supernode
	exit $((nfail > 0))
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
# One run per machine (the packages are installed system-wide): wait for another run. The
# lock stays with flock (-o), so no daemon this test starts can hold it after the run.
lock=/run/lock/dragonfly-test-deb.lock
if [ -z "${DF_TEST_DEB_LOCKED:-}" ]; then
	flock -n "$lock" true || echo "another test-deb.sh runs on this machine: waiting (10 min)"
	DF_TEST_DEB_LOCKED=1 flock -o -w 600 -E 75 "$lock" bash "$0" "$@"
	rc=$?
	[ "$rc" -ne 75 ] || echo "FAIL: another test-deb.sh held $lock for 10 min"
	exit "$rc"
fi
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
