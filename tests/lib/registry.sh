# shellcheck shell=bash
# tests/lib/registry.sh -- a real Debian docker-registry (distribution 2.8) on loopback for
# end-to-end tests of dfdaemon, with plain, htpasswd basic auth or token auth (and the
# small token server that token auth needs), and helpers to build and push a test image.
# Source it after isolate.sh (fixed ports are safe inside the test's own namespace).
# It sets no shell options and is set -u clean.
#
#   reg_start PORT [none|htpasswd|token]
#       start docker-registry at 127.0.0.1:PORT with its storage, config and logs under
#       REG_BASE/PORT/. htpasswd: user REG_USER / REG_PASS (bcrypt). token: Bearer tokens
#       from the token server below (started here on PORT+1000), signed RS256 with a
#       throw-away key whose certificate the registry trusts. Waits (10 s) for /v2/.
#       Sets REG_PID, REG_ADDR (127.0.0.1:PORT), REG_URL, REG_LOG (the access log, one
#       combined-format line per request: IP - - [date] "METHOD URI HTTP/1.1" STATUS SIZE
#       "referer" "user-agent"), REG_ERR; for token auth also TOKEN_PID and TOKEN_URL.
#   reg_stop            stop what reg_start started (idempotent)
#   reg_cleanup         reg_stop and remove REG_BASE
#   reg_make_oci DIR TAG SIZE...
#       write an OCI image layout to DIR: one gzip layer of random bytes per SIZE (in
#       KiB, each layer a tar of one file), a config and a manifest tagged TAG. Sets
#       REG_LAYERS (their sha256 digests, space separated), REG_CONFIG (the config's).
#   reg_push DIR TAG REF [skopeo flags...]
#       skopeo copy oci:DIR:TAG docker://REF (plain HTTP, no TLS verification)
#   reg_count METHOD URI_ERE [UA_ERE [STATUS_ERE]]
#       print how many access-log lines have METHOD, a URI matching URI_ERE, a user agent
#       matching UA_ERE (default any) and a status matching STATUS_ERE (default any)
#   reg_token USER PASS SCOPE
#       print a Bearer token from the token server (as a client would get it)
#
# Inputs: REG_USER (default tester), REG_PASS (default s3cret). Only the PIDs started
# here are ever signalled.

: "${REG_USER:=tester}"
: "${REG_PASS:=s3cret}"
REG_BASE=$(mktemp -d "${TMPDIR:-/tmp}/reg-e2e.XXXXXX")
REG_PID=
TOKEN_PID=
REG_ADDR=
REG_URL=
REG_LOG=
REG_ERR=
TOKEN_URL=

_reg_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

_reg_kill() {
	local pid=$1 i
	_REG_RC=0
	_reg_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		_reg_alive "$pid" || break
		[[ $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
		sleep 0.05
	done
	_reg_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	_REG_RC=$?
	return 0
}

# The token server: GET /token?service=&scope=repository:NAME:ACTIONS with Basic auth of
# REG_USER/REG_PASS answers a JWT granting those actions; without valid credentials 401.
_reg_token_server() {
	cat >"$1" <<'PY'
import base64, json, os, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs
port, key, cert, user, pw, issuer, service = sys.argv[1:8]
der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                     capture_output=True, check=True).stdout
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def token(sub, access):
    now = int(time.time())
    head = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
    claims = {"iss": issuer, "sub": sub, "aud": service, "exp": now + 600,
              "nbf": now - 60, "iat": now, "jti": os.urandom(8).hex(), "access": access}
    signing = (b64(json.dumps(head).encode()) + "." + b64(json.dumps(claims).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing,
                         capture_output=True, check=True).stdout
    return signing.decode() + "." + b64(sig)
class H(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a): sys.stderr.write("token: " + (fmt % a) + "\n")
    def do_GET(self):
        q = parse_qs(urlparse(self.path).query)
        auth = self.headers.get("Authorization", "")
        ok = auth == "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
        if not ok:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="token"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        access = []
        for s in q.get("scope", []):
            parts = s.split(":")
            if len(parts) == 3:
                access.append({"type": parts[0], "name": parts[1], "actions": parts[2].split(",")})
        body = json.dumps({"token": token(user, access), "access_token": token(user, access),
                           "expires_in": 600}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
ThreadingHTTPServer(("127.0.0.1", int(port)), H).serve_forever()
PY
}

_reg_wait_http() {
	local url=$1 i
	for ((i = 0; i < 200; i++)); do
		curl -s -o /dev/null --noproxy '*' --max-time 1 "$url" && return 0
		sleep 0.05
	done
	return 1
}

_reg_auth_config() {
	local mode=$1 dir=$2 port=$3
	case $mode in
	none) ;;
	htpasswd)
		htpasswd -Bbn "$REG_USER" "$REG_PASS" >"$dir/htpasswd" || return 1
		printf 'auth:\n  htpasswd:\n    realm: test-registry\n    path: %s\n' \
			"$dir/htpasswd"
		;;
	token)
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/token.key" \
			-out "$dir/token.crt" -days 2 -subj /CN=test-token-issuer \
			>/dev/null 2>&1 || return 1
		TOKEN_URL="http://127.0.0.1:$((port + 1000))/token"
		printf 'auth:\n  token:\n    realm: %s\n    service: test-service\n' "$TOKEN_URL"
		printf '    issuer: test-issuer\n    rootcertbundle: %s\n' "$dir/token.crt"
		;;
	*) echo "reg_start: unknown auth mode $mode" >&2; return 1 ;;
	esac
}

reg_start() {
	local port=$1 mode=${2:-none} dir
	dir=$REG_BASE/$port
	mkdir -p "$dir/data"
	{
		printf 'version: 0.1\nlog:\n  level: info\n  formatter: text\n'
		printf 'storage:\n  filesystem:\n    rootdirectory: %s\n' "$dir/data"
		printf '  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' "$port"
		_reg_auth_config "$mode" "$dir" "$port" || return 1
	} >"$dir/config.yml" || return 1
	if [[ $mode == token ]]; then
		_reg_token_server "$dir/token.py"
		python3 "$dir/token.py" $((port + 1000)) "$dir/token.key" "$dir/token.crt" \
			"$REG_USER" "$REG_PASS" test-issuer test-service 2>"$dir/token.log" &
		TOKEN_PID=$!
		_reg_wait_http "http://127.0.0.1:$((port + 1000))/token" || {
			echo "reg_start: the token server did not start:" >&2
			tail -5 "$dir/token.log" >&2
			return 1
		}
	fi
	REG_LOG=$dir/access.log
	REG_ERR=$dir/registry.log
	docker-registry serve "$dir/config.yml" >>"$REG_LOG" 2>>"$REG_ERR" &
	REG_PID=$!
	REG_ADDR=127.0.0.1:$port
	REG_URL=http://$REG_ADDR
	_reg_wait_http "$REG_URL/v2/" || {
		echo "reg_start: docker-registry did not start:" >&2
		tail -5 "$REG_ERR" >&2
		return 1
	}
}

reg_stop() {
	_reg_kill "$REG_PID"
	_reg_kill "$TOKEN_PID"
	REG_PID=
	TOKEN_PID=
}

reg_cleanup() {
	reg_stop
	[[ -n ${REG_BASE:-} && -d $REG_BASE ]] && rm -rf "$REG_BASE"
	return 0
}

# _reg_blob DIR FILE: move FILE into DIR's blob store; print "digest size".
_reg_blob() {
	local dir=$1 f=$2 d s
	d=$(sha256sum "$f" | cut -d' ' -f1)
	s=$(stat -c %s "$f")
	mv "$f" "$dir/blobs/sha256/$d"
	echo "$d $s"
}

reg_make_oci() {
	local dir=$1 tag=$2 kib d s diff layers="" diffs="" cfg man t
	shift 2
	mkdir -p "$dir/blobs/sha256" "$dir/tmp"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	REG_LAYERS=
	for kib in "$@"; do
		t=$dir/tmp/layer
		rm -rf "$t" && mkdir -p "$t"
		head -c $((kib * 1024)) /dev/urandom >"$t/data-$kib-$RANDOM.bin"
		tar -C "$t" -cf "$dir/tmp/layer.tar" . || return 1
		diff=$(sha256sum "$dir/tmp/layer.tar" | cut -d' ' -f1)
		gzip -n -1 -c "$dir/tmp/layer.tar" >"$dir/tmp/layer.tgz"
		read -r d s < <(_reg_blob "$dir" "$dir/tmp/layer.tgz")
		layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$s}"
		diffs+="${diffs:+,}\"sha256:$diff\""
		REG_LAYERS+="${REG_LAYERS:+ }$d"
	done
	printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$diffs" >"$dir/tmp/config"
	read -r d s < <(_reg_blob "$dir" "$dir/tmp/config")
	REG_CONFIG=$d
	cfg="{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$d\",\"size\":$s}"
	man="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":$cfg,\"layers\":[$layers]}"
	printf '%s' "$man" >"$dir/tmp/manifest"
	read -r d s < <(_reg_blob "$dir" "$dir/tmp/manifest")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
		"$d" "$s" "$tag" >"$dir/index.json"
	rm -rf "$dir/tmp"
}

reg_push() {
	local dir=$1 tag=$2 ref=$3
	shift 3
	skopeo copy -q --dest-tls-verify=false "$@" "oci:$dir:$tag" "docker://$ref"
}

reg_count() {
	local method=$1 uri=$2 ua=${3:-.} st=${4:-.}
	awk -v m="$method" -v u="$uri" -v a="$ua" -v s="$st" -F'"' '
		{ split($2, r, " "); split($3, x, " ")
		  if (r[1] == m && r[2] ~ u && $6 ~ a && x[1] ~ s) n++ }
		END { print n + 0 }' "$REG_LOG"
}

reg_token() {
	curl -s --noproxy '*' -u "$1:$2" "$TOKEN_URL?service=test-service&scope=$3" |
		sed -n 's/.*"token": *"\([^"]*\)".*/\1/p'
}

# ---- dfdaemon helpers
#   dd_start HOME [flags...]   start $top_builddir/dfdaemon with --port 0 --workHome HOME
#                              --dfpath $top_builddir/dfget, stdout in HOME/dd.out, log in
#                              HOME/dd.log; waits for "dfdaemon ready: port=N" and sets
#                              DD_PID, DD_PORT, DD_ADDR (127.0.0.1:N), DD_URL
#   dd_stop                    SIGTERM it and wait (bounded); idempotent. When its log
#                              holds a sanitizer report (ASan, LSan, UBSan) or it did not
#                              exit 0, print that and set DD_BAD=1 (tests fail on it)
#   dd_stat NAME               a counter of /_dfdaemon/stats
DD_PID=
DD_PORT=
DD_ADDR=
DD_URL=
DD_HOME=
DD_BAD=0

dd_start() {
	local home=$1 i line
	shift
	mkdir -p "$home"
	: >"$home/dd.out"
	: >"$home/empty.conf"
	"${DFDAEMON:-$top_builddir/dfdaemon}" --config "$home/empty.conf" --port 0 --workHome "$home" \
		--dfpath "$top_builddir/dfget" "$@" >"$home/dd.out" 2>>"$home/dd.log" </dev/null &
	DD_PID=$!
	DD_HOME=$home
	for ((i = 0; i < 200; i++)); do
		line=$(grep -m1 '^dfdaemon ready: ' "$home/dd.out" 2>/dev/null) || line=
		if [[ $line =~ port=([0-9]+) ]]; then
			DD_PORT=${BASH_REMATCH[1]}
			DD_ADDR=127.0.0.1:$DD_PORT
			DD_URL=http://$DD_ADDR
			return 0
		fi
		_reg_alive "$DD_PID" || break
		sleep 0.05
	done
	echo "dd_start: dfdaemon did not come up; its log:" >&2
	tail -20 "$home/dd.log" >&2
	_reg_kill "$DD_PID"
	DD_PID=
	return 1
}

dd_stop() {
	local rc=0
	[[ -n $DD_PID ]] || return 0
	_reg_kill "$DD_PID"
	rc=$_REG_RC
	DD_PID=
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$DD_HOME/dd.log"; then
		echo "FAIL: dfdaemon ($DD_HOME) reported memory errors:" >&2
		grep -A12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$DD_HOME/dd.log" |
			head -40 >&2
		DD_BAD=1
	elif [[ $rc != 0 ]]; then
		echo "FAIL: dfdaemon ($DD_HOME) exited $rc; its log ends:" >&2
		tail -5 "$DD_HOME/dd.log" >&2
		DD_BAD=1
	fi
	return 0
}

dd_stat() {
	curl -s --noproxy '*' --max-time 5 "$DD_URL/_dfdaemon/stats" |
		sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

# ---- real container clients (dd_podman.sh, dd_containerd.sh, dd_docker.sh)
#   ddc_setup TOOL...   SKIP (exit 77) unless docker-registry, skopeo and every TOOL are
#                       installed; then a registry on 5000 holding lib/img:v1 (3 layers),
#                       a supernode and a dfdaemon mirroring the registry. Needs
#                       supernode.sh and dfget.sh. Sets DDC_IMAGE (REG_ADDR/lib/img:v1),
#                       DDC_BLOBS (the layers' and config's digests) and DDC_FAIL=0.
#   ddc_check NAME GOT WANT   print ok, or FAIL and set DDC_FAIL=1
#   ddc_wait_daemon PID SECONDS LOG NAME CMD...
#                       wait (bounded) until CMD succeeds, the client's daemon PID being
#                       alive; if it never does, SKIP (exit 77) quoting the end of LOG
#   ddc_check_p2p       every blob came by P2P: the supernode fetched each once, the
#                       registry served no blob to anyone else (a client that silently
#                       fell back to the registry fails it), dfdaemon answered each blob
#                       request itself, without a fallback
DDC_FAIL=0
DDC_BLOBS=
DDC_IMAGE=

ddc_setup() {
	local t
	for t in docker-registry skopeo "$@"; do
		command -v "$t" >/dev/null ||
			{ echo "SKIP: $t is not installed (scripts/install-deps.sh)"; exit 77; }
	done
	reg_start 5000 none || exit 1
	reg_make_oci "$DG_TMP/img" v1 3072 1024 64 || exit 1
	DDC_BLOBS="$REG_LAYERS $REG_CONFIG"
	DDC_IMAGE=$REG_ADDR/lib/img:v1
	reg_push "$DG_TMP/img" v1 "$DDC_IMAGE" || exit 1
	: >"$REG_LOG"
	sn_start "$DG_TMP/sn" || exit 1
	dd_start "$DG_TMP/dd" --registry "$REG_URL" --node "127.0.0.1:$SN_API" || exit 1
}

ddc_wait_daemon() {
	local pid=$1 secs=$2 log=$3 name=$4 i
	shift 4
	for ((i = 0; i < secs * 20; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		_reg_alive "$pid" || break
		sleep 0.05
	done
	"$@" >/dev/null 2>&1 && return 0
	echo "SKIP: $name cannot run here: $(tail -3 "$log")"
	exit 77
}

ddc_check() {
	if [[ $2 != "$3" ]]; then
		dg_fail "$1: got '$2', want '$3'"
		DDC_FAIL=1
	else
		echo "ok: $1 = $2"
	fi
}

ddc_check_p2p() {
	local d
	for d in $DDC_BLOBS; do
		ddc_check "supernode GETs of ${d:0:12}" \
			"$(reg_count GET "/blobs/sha256:$d" '^dragonfly-c' '^200$')" 1
	done
	ddc_check "blob GETs by others at the registry" "$(reg_count GET /blobs/ '^([^d]|d[^r])')" 0
	ddc_check "dfdaemon blob requests" "$(dd_stat blob_requests)" "$(wc -w <<<"$DDC_BLOBS")"
	ddc_check "fallbacks" "$(dd_stat fallbacks)" 0
}
