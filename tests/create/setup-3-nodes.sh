#!/bin/bash
# The Virt-Store walk-through on three gluster servers, as docs/virt-store.md
# tells it: scripts/virt-store-setup.sh probes the servers into a pool (they
# start detached), creates a replica 3 volume with the virt group, the qemu
# owner and unprivileged ports allowed, starts it and prints the URIs; then
# the hypervisor side: gluvirt check-volume passes every item through any of
# the servers, gluvirt create makes a qcow2 image owned by qemu and a raw one,
# data goes in, and libgluvirt reads back what qemu-img reads.
#
# The cluster lives in its own netns and base dir (GLUVIRT_VS_NETNS, default
# gluvirt-vs; GLUVIRT_VS_BASE, default /tmp/gluvirt-vs) and is removed on
# exit.  Needs root and glusterd: without them the test skips, or fails when
# GLUVIRT_REQUIRE_GLUSTER=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../gluster/lib.sh"
. "$here/lib.sh"
: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"
gc=$here/../cluster/gluster-cluster.sh
setup=$here/../../scripts/virt-store-setup.sh

[ "$(id -u)" = 0 ] || skip_or_fail "setup-3-nodes starts a gluster cluster in a network namespace: run as root"
command -v glusterd >/dev/null || skip_or_fail "glusterd is not installed"

export GLUVIRT_NETNS=${GLUVIRT_VS_NETNS:-gluvirt-vs}
export GLUVIRT_CLUSTER_BASE=${GLUVIRT_VS_BASE:-/tmp/gluvirt-vs}
base=$GLUVIRT_CLUSTER_BASE
hosts=(127.1.1.1 127.1.1.2 127.1.1.3)
work=$(mktemp -d)
cleanup() {
    "$gc" down >/dev/null 2>&1 || echo "setup-3-nodes: '$gc down' failed; run it by hand" >&2
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
start=$(date +%s.%N)

# in_ns CMD...: run inside the cluster's netns, where the servers are.
in_ns() { ip netns exec "$GLUVIRT_NETNS" "$@"; }
cli() {
    in_ns gluster --mode=script --glusterd-sock="$base/n1/glusterd.socket" \
        --log-file="$base/n1/log/cli.log" "$@"
}

timeout -k 5 120 "$gc" up -f -n 3 >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; fail "cannot start 3 glusterds"; }
# Start from servers that do not know each other, as on new machines.
cli peer detach "${hosts[1]}" >/dev/null
cli peer detach "${hosts[2]}" >/dev/null
[ "$(cli pool list | grep -c Connected)" = 1 ] || fail "the servers are still peers after detach"
echo "3 lone servers up after $(elapsed_since "$start") s"

t0=$(date +%s.%N)
timeout -k 5 120 ip netns exec "$GLUVIRT_NETNS" "$setup" --force \
    --gluster-opt "--glusterd-sock=$base/n1/glusterd.socket" \
    --gluster-opt "--log-file=$base/n1/log/cli.log" \
    vmstore "${hosts[0]}:$base/n1/bricks/vmstore" "${hosts[1]}:$base/n2/bricks/vmstore" \
    "${hosts[2]}:$base/n3/bricks/vmstore" >"$work/setup.out" 2>"$work/setup.err" ||
    { cat "$work/setup.out" "$work/setup.err" >&2; fail "virt-store-setup.sh failed"; }
echo "virt-store-setup.sh: pool, volume, options and start in $(elapsed_since "$t0") s"
for h in "${hosts[@]}"; do
    grep -q "gluster://$h/vmstore/IMAGE" "$work/setup.out" || fail "no URI for $h: $(cat "$work/setup.out")"
done

cli volume info vmstore >"$work/info"
for want in 'Type: Replicate' 'Status: Started' 'Number of Bricks: 1 x 3 = 3' \
    'features.shard: on' 'performance.strict-o-direct: on' 'network.remote-dio: disable' \
    'cluster.eager-lock: enable' 'storage.owner-uid: 107' 'storage.owner-gid: 107' \
    'server.allow-insecure: on'; do
    grep -qF "$want" "$work/info" || fail "volume info lacks '$want': $(cat "$work/info")"
done
[ "$(cli pool list | grep -c Connected)" = 3 ] || fail "the setup script left servers out of the pool"
echo "ok: replica 3 volume with the virt group, owner 107:107 and insecure ports allowed"

# ---- the hypervisor side
gv() { in_ns "$GLUVIRT" "$@"; }
gv check-volume --min-free 1M gluster://127.1.1.2/vmstore >"$work/check.txt" ||
    { cat "$work/check.txt" >&2; fail "check-volume does not pass on the set-up volume"; }
grep -q '^summary: 2[0-9] pass, 0 warn, 0 fail' "$work/check.txt" || fail "$(cat "$work/check.txt")"
gv check-volume --min-free 1M -s 127.1.1.3 gluster://127.1.1.1/vmstore >/dev/null ||
    fail "check-volume with two servers does not pass"
echo "ok: check-volume passes every item, through any server"

gv create -q -f raw gluster://127.1.1.1/vmstore/disk.raw 3M & raw_pid=$!
gv create -q -f qcow2 --owner 107:107 gluster://127.1.1.1/vmstore/vm1.qcow2 64M ||
    fail "gluvirt create of the qcow2 image"
gv create -q -f qcow2 --owner 107:107 -b vm1.qcow2 -F qcow2 gluster://127.1.1.1/vmstore/vm1-snap.qcow2 ||
    fail "gluvirt create of the overlay"
wait "$raw_pid" || fail "gluvirt create of the raw image"
head -c 3145728 /dev/urandom >"$work/data.raw"
gv convert -f raw -O raw "$work/data.raw" gluster://127.1.1.3/vmstore/disk.raw ||
    fail "gluvirt convert into the raw image"
gv convert -f raw -O raw gluster://127.1.1.2/vmstore/disk.raw "$work/back.raw" || fail "reading disk.raw back"
cmp -s "$work/data.raw" "$work/back.raw" || fail "disk.raw does not read back what was written"

# qemu writes into the qcow2 overlay (through a FUSE mount, where qemu-img
# does not wait for glfs_fini); libgluvirt then reads what qemu-img reads.
export GLUVIRT_TEST_HOST=${hosts[0]}
# shellcheck disable=SC2016 # expanded by fuse_run's shell
in_ns bash -c '. "$1/../gluster/lib.sh"; . "$1/lib.sh"; work=$2
    fuse_run vmstore "qemu-io -f qcow2 -c \"write -P 0x6b 1M 2M\" vm1-snap.qcow2 >/dev/null &&
        qemu-img check -q vm1-snap.qcow2 && qemu-img convert -f qcow2 -O raw vm1-snap.qcow2 $2/qemu.raw &&
        stat -c %u:%g vm1.qcow2 vm1-snap.qcow2 ."' sh "$here" "$work" >"$work/owners" ||
    fail "qemu-io/qemu-img on the FUSE mount of vmstore"
[ "$(sort -u "$work/owners")" = 107:107 ] || fail "owners are $(tr '\n' ' ' <"$work/owners"), not 107:107"
gv convert -f qcow2 -O raw gluster://127.1.1.1/vmstore/vm1-snap.qcow2 "$work/ours.raw" ||
    fail "libgluvirt cannot read the overlay"
cmp -s "$work/qemu.raw" "$work/ours.raw" || fail "libgluvirt reads the overlay differently from qemu-img"
echo "ok: images created on the hypervisor side, owned by qemu, read back alike by qemu-img and libgluvirt"
echo "setup-3-nodes: done in $(elapsed_since "$start") s"
