#!/bin/bash
# dfdaemon as a registry mirror, with real processes: Debian's docker-registry, a
# supernode, dfdaemon, and skopeo as the client (through a registries.conf mirror entry,
# and by pulling from dfdaemon's address; three pulls at once). Every blob verifies; the
# registry's access log shows each blob fetched exactly once, by the supernode, and no
# blob GET from anyone else (a client or dfdaemon that silently fell back would show
# there); dfdaemon's counters agree. Then: a blob streams before it is complete, HEAD is
# forwarded, a corrupted blob never reaches a client whole, the fallback to the registry
# when the supernode is gone (and its absence with --no-fallback), and a TLS handshake on
# the plain port is answered at once.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
. "$top_srcdir/tests/lib/registry.sh"
trap '[[ -n ${DD_KEEP_LOG:-} ]] && cp "$DG_TMP/dd/dd.log" /tmp/dd-last.log; dd_stop; dg_cleanup; sn_stop; reg_cleanup' EXIT
set -u
for t in docker-registry skopeo; do
	command -v $t >/dev/null || { echo "SKIP: $t is not installed (scripts/install-deps.sh)"; exit 77; }
done
fail=0
check() { # check WHAT GOT WANT
	if [[ $2 != "$3" ]]; then dg_fail "$1: got '$2', want '$3'"; fail=1; else echo "ok: $1 = $2"; fi
}
verify_oci() { # every blob of an OCI layout matches its name
	local f n=0
	for f in "$1"/blobs/sha256/*; do
		[[ $(dg_sha "$f") == "$(basename "$f")" ]] || { dg_fail "$f: bad digest"; return 1; }
		n=$((n + 1))
	done
	echo "ok: $1: $n blobs verified"
}
UA_SN='^dragonfly-c'

reg_start 5000 none || exit 1
reg_make_oci "$DG_TMP/img" v1 6144 2048 200 || exit 1
img_blobs="$REG_LAYERS $REG_CONFIG"
reg_push "$DG_TMP/img" v1 "$REG_ADDR/lib/img:v1" || exit 1
reg_make_oci "$DG_TMP/img2" v1 8192 1024 || exit 1
img2_blobs="$REG_LAYERS $REG_CONFIG"
reg_push "$DG_TMP/img2" v1 "$REG_ADDR/lib/img2:v1" || exit 1
: >"$REG_LOG" # count from here on
sn_start "$DG_TMP/sn" || exit 1
dd_start "$DG_TMP/dd" --registry "$REG_URL" --node "127.0.0.1:$SN_API" || exit 1

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

# 1. through the mirror entry, 2. from dfdaemon's address
skopeo --registries-conf "$DG_TMP/registries.conf" copy -q "docker://$REG_ADDR/lib/img:v1" \
	"oci:$DG_TMP/out1:v1" || { dg_fail "skopeo through the mirror failed"; fail=1; }
verify_oci "$DG_TMP/out1" || fail=1
skopeo copy -q --src-tls-verify=false "docker://$DD_ADDR/lib/img:v1" "oci:$DG_TMP/out2:v1" ||
	{ dg_fail "skopeo from dfdaemon's address failed"; fail=1; }
verify_oci "$DG_TMP/out2" || fail=1
# 3. three clients at once, one new image
pids=()
for i in 3 4 5; do
	skopeo copy -q --src-tls-verify=false "docker://$DD_ADDR/lib/img2:v1" \
		"oci:$DG_TMP/out$i:v1" 2>"$DG_TMP/skopeo$i.err" &
	pids+=($!)
done
for i in 0 1 2; do
	wait "${pids[i]}" || { dg_fail "concurrent skopeo $((i + 3)): $(cat "$DG_TMP/skopeo$((i + 3)).err")"; fail=1; }
	verify_oci "$DG_TMP/out$((i + 3))" || fail=1
done

# The registry: each blob once, from the supernode; no other blob GET at all.
for d in $img_blobs $img2_blobs; do
	check "supernode GETs of ${d:0:12}" "$(reg_count GET "/blobs/sha256:$d" "$UA_SN" '^200$')" 1
done
check "blob GETs by anyone else" "$(reg_count GET /blobs/ '^([^d]|d[^r])')" 0
# ... while the manifests came through dfdaemon (forwarded, with skopeo's user agent)
man=$(reg_count GET /manifests/ skopeo)
((man >= 5)) || { dg_fail "only $man manifest GETs reached the registry"; fail=1; }
nblobs=$(($(wc -w <<<"$img_blobs") * 2 + $(wc -w <<<"$img2_blobs") * 3))
check "dfdaemon blob requests" "$(dd_stat blob_requests)" "$nblobs"
check "P2P downloads started" "$(dd_stat p2p_started)" "$(wc -w <<<"$img_blobs $img2_blobs")"
check "fallbacks" "$(dd_stat fallbacks)" 0
check "digest errors" "$(dd_stat digest_errors)" 0
((${DD_FORWARDED:=$(dd_stat forwarded)} >= man)) || { dg_fail "dfdaemon forwarded $DD_FORWARDED < $man"; fail=1; }

# HEAD of a blob is forwarded, with the registry's headers.
first=${img_blobs%% *}
hdrs=$(curl -sI --noproxy '*' "$DD_URL/v2/lib/img/blobs/sha256:$first" | tr -d '\r')
check "HEAD status" "$(sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p' <<<"$hdrs")" 200
check "HEAD digest" "$(sed -n 's/^Docker-Content-Digest: //Ip' <<<"$hdrs")" "sha256:$first"
check "HEAD length" "$(sed -n 's/^Content-Length: //Ip' <<<"$hdrs")" \
	"$(stat -c %s "$DG_TMP/out1/blobs/sha256/$first")"

# A TLS handshake on the plain port gets an answer at once (clients probe for HTTPS).
t0=$(date +%s%N)
curl -sk --noproxy '*' --max-time 10 -o /dev/null "https://$DD_ADDR/v2/" && {
	dg_fail "TLS on the plain port succeeded"; fail=1; }
ms=$((($(date +%s%N) - t0) / 1000000))
((ms < 3000)) || { dg_fail "TLS probe answered after $ms ms"; fail=1; }
echo "ok: TLS probe refused in $ms ms"

# Streaming: with the rate limited, the first piece reaches the client long before the
# last (a fresh dfdaemon, so that the rate applies to a new uploader).
dd_stop
dd_start "$DG_TMP/dd2" --registry "$REG_URL" --node "127.0.0.1:$SN_API" --ratelimit 16MB \
	--verbose || exit 1
# 24 pieces: the first 4 arrive together (the workers share the rate), so the first 4 MiB
# come about a sixth of the way through, leaving room for a loaded machine's start-up.
reg_make_oci "$DG_TMP/img3" v1 98304 || exit 1
big=$REG_LAYERS
reg_push "$DG_TMP/img3" v1 "$REG_ADDR/lib/img3:v1" || exit 1
bigsize=$(stat -c %s "$DG_TMP/img3/blobs/sha256/$big")
t0=$(date +%s%N)
curl -s --noproxy '*' -o "$DG_TMP/big" "$DD_URL/v2/lib/img3/blobs/sha256:$big" &
cpid=$!
tfirst=
for ((i = 0; i < 600; i++)); do
	s=$(stat -c %s "$DG_TMP/big" 2>/dev/null || echo 0)
	if ((s >= (4 << 20) - 16)); then tfirst=$((($(date +%s%N) - t0) / 1000000)); break; fi
	kill -0 $cpid 2>/dev/null || break
	sleep 0.02
done
wait $cpid || { dg_fail "streaming curl failed"; fail=1; }
ttotal=$((($(date +%s%N) - t0) / 1000000))
check "streamed blob digest" "$(dg_sha "$DG_TMP/big")" "$big"
echo "streaming: first 4 MiB after ${tfirst:-?} ms, all $bigsize bytes after $ttotal ms"
# --ratelimit holds: 16 MiB/s for a 96 MiB blob is at least ~6 s (allow 20% for bursts)
want_ms=$((bigsize * 1000 / (16 << 20) * 8 / 10))
((ttotal >= want_ms)) || { dg_fail "--ratelimit 16MB: $bigsize bytes in $ttotal ms"; fail=1; }
[[ -n $tfirst ]] && ((tfirst * 10 < ttotal * 6)) ||
	{
		dg_fail "the blob did not stream (first 4 MiB at ${tfirst:-never}, end at $ttotal ms)"
		echo "dfdaemon's piece log:"
		grep -E "piece|registered" "$DG_TMP/dd2/dd.log" | tail -30
		fail=1
	}

# A blob corrupted in the registry's storage never reaches a client whole: the engine
# refuses it, the fallback gets the same bad bytes, and the response is cut short.
reg_make_oci "$DG_TMP/img4" v1 3072 || exit 1
bad=$REG_LAYERS
reg_push "$DG_TMP/img4" v1 "$REG_ADDR/lib/img4:v1" || exit 1
badsize=$(stat -c %s "$DG_TMP/img4/blobs/sha256/$bad")
f=$(find "$REG_BASE" -path "*/blobs/sha256/${bad:0:2}/$bad/data")
printf 'X' | dd of="$f" bs=1 seek=$((badsize - 100)) conv=notrunc status=none
cmp -s "$f" "$DG_TMP/img4/blobs/sha256/$bad" && { dg_fail "the corruption did not take"; fail=1; }
errs0=$(dd_stat digest_errors)
rc=0
curl -s --noproxy '*' -o "$DG_TMP/bad" "$DD_URL/v2/lib/img4/blobs/sha256:$bad" || rc=$?
got=$(stat -c %s "$DG_TMP/bad" 2>/dev/null || echo 0)
((rc != 0 && got < badsize)) || { dg_fail "corrupt blob: curl rc $rc, $got of $badsize bytes"; fail=1; }
check "digest errors after the corrupt blob" "$(dd_stat digest_errors)" $((errs0 + 1))
echo "ok: corrupt blob cut at $got of $badsize bytes (curl exit $rc)"

# Fallback: the supernode is gone; the blob comes from the registry, logged and counted.
reg_make_oci "$DG_TMP/img5" v1 1024 2048 || exit 1
read -r fb1 fb2 <<<"$REG_LAYERS"
reg_push "$DG_TMP/img5" v1 "$REG_ADDR/lib/img5:v1" || exit 1
sn_stop
fb0=$(dd_stat fallbacks)
curl -sf --noproxy '*' -o "$DG_TMP/fb" "$DD_URL/v2/lib/img5/blobs/sha256:$fb1" ||
	{ dg_fail "fallback GET failed"; fail=1; }
check "fallback blob digest" "$(dg_sha "$DG_TMP/fb")" "$fb1"
check "fallbacks counted" "$(dd_stat fallbacks)" $((fb0 + 1))
check "fallback GETs at the registry" "$(reg_count GET "/blobs/sha256:$fb1" curl '^200$')" 1
grep -q "fetching it from the registry directly" "$DG_TMP/dd2/dd.log" ||
	{ dg_fail "the fallback was not logged"; fail=1; }
# ... and without fallback the client gets an error, not a blob.
dd_stop
dd_start "$DG_TMP/dd3" --registry "$REG_URL" --node "127.0.0.1:$SN_API" --no-fallback ||
	exit 1
rc=0
curl -sf --noproxy '*' -o "$DG_TMP/nofb" "$DD_URL/v2/lib/img5/blobs/sha256:$fb2" || rc=$?
((rc != 0)) || { dg_fail "--no-fallback still served the blob"; fail=1; }
check "registry GETs of that blob with --no-fallback" "$(reg_count GET "/blobs/sha256:$fb2")" 0
echo "ok: --no-fallback: curl exit $rc"

# HTTPS on its own listener (--certpem/--keypem): the same mirror, P2P included.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DG_TMP/tls.key" \
	-out "$DG_TMP/tls.crt" -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	>/dev/null 2>&1 || { dg_fail "openssl"; exit 1; }
dd_stop
sn_start "$DG_TMP/sn2" || exit 1
printf '[dfdaemon]\nblob_keep = 1s\n' >"$DG_TMP/keep.conf"
dd_start "$DG_TMP/dd4" --registry "$REG_URL" --node "127.0.0.1:$SN_API" \
	--certpem "$DG_TMP/tls.crt" --keypem "$DG_TMP/tls.key" --tls-port 0 \
	--config "$DG_TMP/keep.conf" || exit 1
tls_port=$(sed -n 's/.*tls_port=\([0-9]*\).*/\1/p' "$DG_TMP/dd4/dd.out")
[[ -n $tls_port ]] || { dg_fail "no tls_port on the ready line: $(cat "$DG_TMP/dd4/dd.out")"; fail=1; }
tls=(-s --noproxy '*' --cacert "$DG_TMP/tls.crt")
check "HTTPS: manifest" "$(curl "${tls[@]}" -o /dev/null -w '%{http_code}' \
	-H "Accept: application/vnd.oci.image.manifest.v1+json" \
	"https://127.0.0.1:$tls_port/v2/lib/img/manifests/v1")" 200
curl "${tls[@]}" -o "$DG_TMP/tlsblob" "https://127.0.0.1:$tls_port/v2/lib/img5/blobs/sha256:$fb2"
check "HTTPS: blob through P2P" "$(dg_sha "$DG_TMP/tlsblob")" "$fb2"
check "HTTPS: P2P downloads" "$(dd_stat p2p_started)" 1
check "HTTPS: fallbacks" "$(dd_stat fallbacks)" 0
# A finished blob is kept blob_keep (1 s here) for later clients, then its file goes.
for ((i = 0; i < 150; i++)); do
	[[ -z $(ls -A "$DG_TMP/dd4/dfdaemon/data") ]] && break
	sleep 0.1
done
check "blob files left after blob_keep" "$(ls -A "$DG_TMP/dd4/dfdaemon/data" | wc -l)" 0
dd_stop
((DD_BAD == 0)) || fail=1
exit $fail
