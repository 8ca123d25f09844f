#!/bin/bash
# dfdaemon in front of private registries: docker-registry with htpasswd basic auth, then
# with token auth (a small token server signs the Bearer tokens). The client's
# Authorization travels with the P2P task, so the supernode can fetch the blobs; a client
# without credentials, with a wrong password or with a token for another repository gets
# the registry's 401 (and its WWW-Authenticate), never the blob, even once the blob is
# cached; skopeo through the mirror entry pulls with credentials; every blob is fetched
# from the registry once, by the supernode, and by nobody else.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
. "$top_srcdir/tests/lib/registry.sh"
trap 'dd_stop; dg_cleanup; sn_stop; reg_cleanup' EXIT
set -u
for t in docker-registry skopeo htpasswd python3 openssl; do
	command -v $t >/dev/null || { echo "SKIP: $t is not installed (scripts/install-deps.sh)"; exit 77; }
done
fail=0
check() {
	if [[ $2 != "$3" ]]; then dg_fail "$1: got '$2', want '$3'"; fail=1; else echo "ok: $1 = $2"; fi
}
UA_SN='^dragonfly-c'
CREDS=$REG_USER:$REG_PASS

# get NAME URL [curl args...]: GET through dfdaemon; sets CODE and fills DG_TMP/NAME,
# DG_TMP/NAME.h (headers).
get() {
	local name=$1 url=$2
	shift 2
	CODE=$(curl -s --noproxy '*' -D "$DG_TMP/$name.h" -o "$DG_TMP/$name" -w '%{http_code}' \
		"$@" "$url")
}

# refused WHAT URL [curl args...]: the answer is 401 with a challenge, and not the blob
refused() {
	local what=$1 url=$2
	shift 2
	get refused "$url" "$@"
	check "$what: status" "$CODE" 401
	grep -qi '^WWW-Authenticate: ' "$DG_TMP/refused.h" ||
		{ dg_fail "$what: no WWW-Authenticate"; fail=1; }
	(($(stat -c %s "$DG_TMP/refused") < 4096)) || { dg_fail "$what: got a body"; fail=1; }
}

mirror_conf() {
	cat >"$DG_TMP/registries.conf" <<CONF
unqualified-search-registries = []
[[registry]]
prefix = "$REG_ADDR"
location = "$REG_ADDR"
insecure = true
[[registry.mirror]]
location = "$DD_ADDR"
insecure = true
CONF
}

verify_oci() {
	local f
	for f in "$1"/blobs/sha256/*; do
		[[ $(dg_sha "$f") == "$(basename "$f")" ]] || { dg_fail "$f: bad digest"; return 1; }
	done
	echo "ok: $1 verified"
}

# run MODE PORT: one registry in that auth mode, the whole scenario.
run() {
	local mode=$1 port=$2 layer blob auth good
	reg_start "$port" "$mode" || return 1
	reg_make_oci "$DG_TMP/$mode-img" v1 4096 512 || return 1
	reg_push "$DG_TMP/$mode-img" v1 "$REG_ADDR/lib/img:v1" --dest-creds "$CREDS" || return 1
	local blobs="$REG_LAYERS $REG_CONFIG"
	layer=${REG_LAYERS%% *}
	: >"$REG_LOG"
	dd_start "$DG_TMP/dd-$mode" --registry "$REG_URL" --node "127.0.0.1:$SN_API" || return 1
	mirror_conf
	blob="$DD_URL/v2/lib/img/blobs/sha256:$layer"
	if [[ $mode == token ]]; then
		good="Authorization: Bearer $(reg_token "$REG_USER" "$REG_PASS" repository:lib/img:pull)"
		auth=(-H "$good")
	else
		auth=(-u "$CREDS")
	fi

	echo "== $mode"
	refused "$mode, no credentials, nothing cached" "$blob"
	check "$mode: nothing fetched for a refused client" "$(reg_count GET /blobs/ . '^200$')" 0
	get ok "$blob" "${auth[@]}"
	check "$mode: with credentials" "$CODE" 200
	check "$mode: blob digest" "$(dg_sha "$DG_TMP/ok")" "$layer"
	# cached now: refused clients still get no blob
	refused "$mode, no credentials, blob cached" "$blob"
	if [[ $mode == token ]]; then
		refused "$mode, token for another repository" "$blob" -H \
			"Authorization: Bearer $(reg_token "$REG_USER" "$REG_PASS" repository:other:pull)"
	else
		refused "$mode, wrong password" "$blob" -u "$REG_USER:wrong"
	fi
	# skopeo looks credentials up by the host it talks to: the mirror's too.
	local b64
	b64=$(printf '%s' "$CREDS" | base64 -w0)
	printf '{"auths":{"%s":{"auth":"%s"},"%s":{"auth":"%s"}}}' "$DD_ADDR" "$b64" \
		"$REG_ADDR" "$b64" >"$DG_TMP/auth.json"
	echo '{"auths":{}}' >"$DG_TMP/noauth.json"
	skopeo --registries-conf "$DG_TMP/registries.conf" copy -q --authfile "$DG_TMP/auth.json" \
		"docker://$REG_ADDR/lib/img:v1" "oci:$DG_TMP/$mode-out:v1" ||
		{ dg_fail "$mode: skopeo through the mirror failed"; fail=1; }
	verify_oci "$DG_TMP/$mode-out" || fail=1
	if skopeo --registries-conf "$DG_TMP/registries.conf" copy -q --authfile "$DG_TMP/noauth.json" \
		"docker://$REG_ADDR/lib/img:v1" "oci:$DG_TMP/$mode-anon:v1" 2>/dev/null; then
		dg_fail "$mode: skopeo without credentials pulled the image"
		fail=1
	fi
	for d in $blobs; do
		check "$mode: supernode GETs of ${d:0:12}" \
			"$(reg_count GET "/blobs/sha256:$d" "$UA_SN" '^200$')" 1
	done
	check "$mode: blob GETs served to anyone else" \
		"$(reg_count GET /blobs/ '^([^d]|d[^r])' '^2')" 0
	check "$mode: fallbacks" "$(dd_stat fallbacks)" 0
	local denied
	denied=$(dd_stat auth_denied)
	((denied >= 3)) || { dg_fail "$mode: auth_denied is $denied"; fail=1; }
	[[ -n ${DD_DEBUG:-} ]] && { cp "$REG_LOG" /tmp/reg-$mode.log; cp "$DG_TMP/dd-$mode/dd.log" /tmp/dd-$mode.log; }
	dd_stop
	reg_stop
}

sn_start "$DG_TMP/sn" || exit 1
run htpasswd 5000 || fail=1
run token 5001 || fail=1
dd_stop
((DD_BAD == 0)) || fail=1
exit $fail
