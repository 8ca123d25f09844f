#!/bin/bash
# Preheat of container images from a real registry (Debian's docker-registry) with token
# auth: the supernode reads the manifest, answers the Bearer challenge (the preheat's Basic
# credentials go to the token server, once), and caches every blob (config and layers),
# each fetched from the registry once and verified against its digest. A multi-platform
# image (an OCI index pushed with skopeo --all) preheats the blobs of every platform. A
# later dfget of a layer, with its own token, costs the registry nothing. Wrong
# credentials fail with a message that says so.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
. "$top_srcdir/tests/lib/registry.sh"
trap 'dg_cleanup; sn_stop; reg_cleanup' EXIT
set -u
TOKEN=img-token
AUTH="Authorization: Bearer $TOKEN"
BASIC=$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64)
fail() {
	echo "FAIL: $*"
	[ -f "$DG_TMP/sn/sn.log" ] && tail -n 20 "$DG_TMP/sn/sn.log"
	exit 1
}
check() {
	[ "$2" == "$3" ] || fail "$1: got '$2', want '$3'"
	echo "ok: $1"
}
for t in docker-registry skopeo jq python3 openssl; do
	command -v "$t" >/dev/null || fail "$t is missing (scripts/install-deps.sh test installs it)"
done
preheat() { # preheat URL AUTH_HEADER_VALUE: prints the id
	jq -cn --arg u "$1" --arg a "$2" '{type:"image", url:$u} + (if $a == "" then {} else {headers:{Authorization:$a}} end)' |
		curl -s -H "$AUTH" -d @- "$SN_URL/api/v1/preheats" | jq -r .ID
}
wait_done() { # wait_done ID: until SUCCESS or FAILED (30 s); prints the status
	local i s=
	for ((i = 0; i < 600; i++)); do
		s=$(curl -s "$SN_URL/api/v1/preheats/$1" | jq -r .status)
		[ "$s" == SUCCESS ] || [ "$s" == FAILED ] && break
		sleep 0.05
	done
	echo "$s"
}
blob_gets() { reg_count GET "/v2/lib/img/blobs/sha256:$1" . '^200$'; }

reg_start 5000 token || exit 1
# Image A: a config and two layers. Image B: a config and one layer.
reg_make_oci "$DG_TMP/a" single 300 200 || exit 1
A_LAYERS=$REG_LAYERS A_CONFIG=$REG_CONFIG
reg_make_oci "$DG_TMP/b" single 100 || exit 1
B_LAYERS=$REG_LAYERS B_CONFIG=$REG_CONFIG
reg_push "$DG_TMP/a" single "$REG_ADDR/lib/img:single" --dest-creds "$REG_USER:$REG_PASS" || fail "push a"
# A two-platform OCI index of A (amd64) and B (arm64).
m=$DG_TMP/multi
mkdir -p "$m/blobs/sha256"
cp "$DG_TMP"/a/blobs/sha256/* "$DG_TMP"/b/blobs/sha256/* "$m/blobs/sha256/"
printf '{"imageLayoutVersion":"1.0.0"}' >"$m/oci-layout"
ma=$(jq -c '.manifests[0] | {mediaType, digest, size}' "$DG_TMP/a/index.json")
mb=$(jq -c '.manifests[0] | {mediaType, digest, size}' "$DG_TMP/b/index.json")
jq -cn --argjson a "$ma" --argjson b "$mb" '{schemaVersion:2, mediaType:"application/vnd.oci.image.index.v1+json",
	manifests:[$a + {platform:{architecture:"amd64",os:"linux"}}, $b + {platform:{architecture:"arm64",os:"linux"}}]}' >"$m/idx"
idx=$(sha256sum "$m/idx" | cut -d' ' -f1)
mv "$m/idx" "$m/blobs/sha256/$idx"
jq -cn --arg d "sha256:$idx" --argjson s "$(stat -c %s "$m/blobs/sha256/$idx")" \
	'{schemaVersion:2, manifests:[{mediaType:"application/vnd.oci.image.index.v1+json", digest:$d, size:$s,
	annotations:{"org.opencontainers.image.ref.name":"multi"}}]}' >"$m/index.json"
reg_push "$m" multi "$REG_ADDR/lib/img:multi" --all --dest-creds "$REG_USER:$REG_PASS" || fail "push multi"
echo "ok: pushed lib/img:single and lib/img:multi (two platforms)"

sn_start "$DG_TMP/sn" --api-token "$TOKEN" || exit 1

# Wrong credentials: FAILED, and the message names the token server's refusal.
id=$(preheat "$REG_URL/v2/lib/img/manifests/single" "Basic $(printf 'tester:wrong' | base64)")
check "wrong credentials: FAILED" "$(wait_done "$id")" FAILED
msg=$(curl -s "$SN_URL/api/v1/preheats/$id" | jq -r .errorMsg)
[[ $msg == *"token server"*401* ]] || fail "the message does not name the token server's 401: $msg"
echo "ok: $msg"
check "no blob fetched" "$(reg_count GET '/v2/lib/img/blobs/' . '^200$')" 0

# The single-platform image: its config and two layers.
tokens=$(grep -c 'GET /token' "$REG_BASE/5000/token.log")
id=$(preheat "$REG_URL/v2/lib/img/manifests/single" "Basic $BASIC")
check "single: SUCCESS" "$(wait_done "$id")" SUCCESS
p=$(curl -s "$SN_URL/api/v1/preheats/$id")
check "single: three blobs" "$(jq .blobs <<<"$p")" 3
check "single: the config and the layers" "$(jq -r '.items[].digest' <<<"$p" | sort | tr '\n' ' ')" \
	"$(for d in $A_CONFIG $A_LAYERS; do echo "sha256:$d"; done | sort | tr '\n' ' ')"
for d in $A_CONFIG $A_LAYERS; do
	check "blob ${d:0:12} fetched once" "$(blob_gets "$d")" 1
	tid=$(jq -r --arg d "sha256:$d" '.items[] | select(.digest == $d) | .taskId' <<<"$p")
	check "blob ${d:0:12}: its task holds it, sha256 verified" \
		"$(curl -s "$SN_URL/api/v1/tasks/$tid" | jq -r '.cdnStatus, .sha256' | tr '\n' ' ')" "SUCCESS $d "
done
check "one token request for the preheat" "$(grep -c 'GET /token' "$REG_BASE/5000/token.log")" $((tokens + 1))

# The two-platform image: every platform's blobs (A's are cached already).
id=$(preheat "$REG_URL/v2/lib/img/manifests/multi" "Basic $BASIC")
check "multi: SUCCESS" "$(wait_done "$id")" SUCCESS
check "multi: five blobs (two configs, three layers)" "$(curl -s "$SN_URL/api/v1/preheats/$id" | jq .blobs)" 5
for d in $A_CONFIG $A_LAYERS $B_CONFIG $B_LAYERS; do
	check "blob ${d:0:12} fetched once in all" "$(blob_gets "$d")" 1
done
img_id=$id
file_id=$(curl -s -H "$AUTH" -d "{\"type\":\"file\",\"url\":\"$REG_URL/v2/lib/img/manifests/multi\"}" "$SN_URL/api/v1/preheats" | jq -r .ID)
[ "$file_id" != "$img_id" ] || fail "a file preheat of the manifest URL has the image's id"
echo "ok: image and file preheats of one URL have different ids"

# A client with its own token gets a layer without a new request to the registry.
layer=${B_LAYERS%% *}
tok=$(reg_token "$REG_USER" "$REG_PASS" repository:lib/img:pull)
DFGET_CONFIG=$DG_TMP/empty.conf "$DFGET" -u "$REG_URL/v2/lib/img/blobs/sha256:$layer" \
	-o "$DG_TMP/layer" -n "$(dg_node)" --home "$(dg_home c1)" -s 0 --notbs \
	--header "Authorization: Bearer $tok" 2>"$DG_TMP/c1.err" || fail "dfget: $(cat "$DG_TMP/c1.err")"
check "the layer's content" "$(sha256sum "$DG_TMP/layer" | cut -d' ' -f1)" "$layer"
check "the registry served the layer once, to the preheat" "$(blob_gets "$layer")" 1
check "still serving" "$(curl -s "$SN_URL/_ping")" OK
sn_stop
check "exit status" "$SN_EXIT" 0
echo "PASS: preheat_image"
