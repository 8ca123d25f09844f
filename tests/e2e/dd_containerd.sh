#!/bin/bash
# containerd (what kubelet pulls with) as a third real client: a private containerd daemon
# (its own root, state and socket under the test's temp dir; the CRI plugin off) pulls an
# image with `ctr images pull --hosts-dir`, whose hosts.toml names dfdaemon as the
# registry's mirror for pull and resolve, and unpacks it with the native snapshotter.
# The blobs reach containerd through P2P (ddc_check_p2p: containerd falls back to the
# registry silently when a mirror fails, so the counts prove the mirror was used); the
# image checks out complete.
. "$(dirname "$0")/../lib/isolate.sh"
. "$top_srcdir/tests/lib/supernode.sh"
. "$top_srcdir/tests/lib/dfget.sh"
. "$top_srcdir/tests/lib/registry.sh"
CT_PID=
ct_stop() { [[ -n $CT_PID ]] && _reg_kill "$CT_PID"; CT_PID=; }
trap 'ct_stop; dd_stop; dg_cleanup; sn_stop; reg_cleanup' EXIT
set -u
ddc_setup containerd ctr

# containerd, private to this test
C=$DG_TMP/containerd
mkdir -p "$C/root" "$C/state" "$C/certs.d/$REG_ADDR"
sock=$C/containerd.sock
cat >"$C/config.toml" <<CONF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = "$C/debug.sock"
CONF
cat >"$C/certs.d/$REG_ADDR/hosts.toml" <<CONF
server = "$REG_URL"
[host."$DD_URL"]
  capabilities = ["pull", "resolve"]
CONF
containerd --config "$C/config.toml" >"$C/containerd.log" 2>&1 </dev/null &
CT_PID=$!
ctr=(ctr --address "$sock" --namespace dftest)
ddc_wait_daemon "$CT_PID" 10 "$C/containerd.log" containerd "${ctr[@]}" version

"${ctr[@]}" images pull --hosts-dir "$C/certs.d" --snapshotter native "$DDC_IMAGE" \
	>"$C/pull.out" 2>&1 || { dg_fail "ctr images pull: $(tail -5 "$C/pull.out")"; DDC_FAIL=1; }
# complete: every blob of the image is in containerd's content store
"${ctr[@]}" images check >"$C/check" 2>&1 ||
	{ dg_fail "ctr images check: $(cat "$C/check")"; DDC_FAIL=1; }
ddc_check "image state" "$(awk -v r="$DDC_IMAGE" '$1 == r { print $4 }' "$C/check")" complete
for d in $DDC_BLOBS; do
	ddc_check "containerd holds ${d:0:12}" \
		"$("${ctr[@]}" content ls -q | grep -c "^sha256:$d\$")" 1
done
# unpacked with the native snapshotter: one snapshot per layer
ddc_check "snapshots" "$("${ctr[@]}" snapshots --snapshotter native ls | tail -n +2 | wc -l)" 3
ddc_check_p2p
ct_stop
dd_stop
((DD_BAD == 0)) || DDC_FAIL=1
exit $DDC_FAIL
