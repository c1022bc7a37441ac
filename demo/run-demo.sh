#!/bin/bash
# The libgluvirt demo, from a fresh Debian 12 machine (run as root):
# installs the packages, builds, starts a local single-node gluster volume
# in a private network namespace, makes a qcow2 image on it with qemu-img,
# and shows what gluvirt does with it.  Stops the volume at the end, unless
# --keep is given (then 'tests/cluster/test-volumes.sh down' stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = --keep ] && keep=1

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
show() { say "$*"; "$@" || true; }

scripts/install-deps.sh
scripts/build.sh
tests/cluster/test-volumes.sh down >/dev/null 2>&1 || true
[ $keep = 1 ] || trap 'tests/cluster/test-volumes.sh down >/dev/null 2>&1 || true' EXIT
tests/cluster/test-volumes.sh up >/dev/null
# shellcheck disable=SC1091
. "${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}/env"
in_ns() { ip netns exec "$GLUVIRT_NETNS" "$@"; }
gluvirt=$(pwd)/tools/gluvirt
host=$GLUVIRT_TEST_HOST

echo
echo "A gluster volume 'gv0' is up on $host (network namespace $GLUVIRT_NETNS)."
echo "qemu-img creates a qcow2 image on it (about 20 s: QEMU's gluster driver waits"
echo "for glfs_fini twice)."
say "qemu-img create -f qcow2 gluster://$host/gv0/demo.qcow2 1G"
say "qemu-img create -f raw gluster://$host/gv0/demo.raw 64M   (in parallel)"
in_ns qemu-img create -q -f qcow2 "gluster://$host/gv0/demo.qcow2" 1G 2>/dev/null &
in_ns qemu-img create -q -f raw "gluster://$host/gv0/demo.raw" 64M 2>/dev/null
wait
in_ns qemu-io -f raw -c 'write -P 0x5a 1M 64k' "gluster://$host/gv0/demo.raw" >/dev/null 2>&1
echo "created (and qemu-io wrote 64 KiB of 0x5a at 1 MiB into demo.raw)."

echo
echo "gluvirt checks the URI the way QEMU reads it and prints the canonical form:"
show "$gluvirt" uri "gluster+tcp://$host:24007//gv0/demo.qcow2"
show "$gluvirt" uri --json "gluster://$host/gv0/demo.qcow2"
echo
echo "It converts it for QEMU's -drive/--image-opts JSON and for libvirt's domain XML:"
show "$gluvirt" uri --to qemu-json "gluster://$host/gv0/demo.qcow2"
show "$gluvirt" uri --to libvirt-xml "gluster://$host/gv0/demo.qcow2"
json=$("$gluvirt" uri --to qemu-json "gluster://$host/gv0/demo.qcow2")
json="json:{\"driver\":\"qcow2\",\"file\":${json#json:}}"
echo
echo "and QEMU opens the image through the JSON gluvirt wrote (qcow2 on top of it):"
say "qemu-img info '$json'"
in_ns qemu-img info "$json" 2>/dev/null | sed -n '1,4p'
echo
echo "gluvirt reaches the volume through a connection pool and does not wait ~10 s for"
echo "glfs_fini on the way out, as qemu-img does:"
say "time gluvirt info gluster://$host/gv0/demo.raw"
time in_ns "$gluvirt" info "gluster://$host/gv0/demo.raw"
show in_ns "$gluvirt" connect -v "gluster://$host/gv0/demo.raw"
echo
echo "It copies the image, skipping holes, byte for byte what qemu-img convert gives:"
say "gluvirt convert -f raw -O raw gluster://$host/gv0/demo.raw /tmp/gluvirt-demo.raw"
in_ns "$gluvirt" convert -f raw -O raw "gluster://$host/gv0/demo.raw" /tmp/gluvirt-demo.raw
ls -ls /tmp/gluvirt-demo.raw
od -A d -t x1 /tmp/gluvirt-demo.raw | sed -n '1,4p'
rm -f /tmp/gluvirt-demo.raw
echo
echo "The qcow2 driver is next; until then gluvirt says so instead of guessing:"
show in_ns "$gluvirt" info "gluster://$host/gv0/demo.qcow2"
echo
echo "Bad URIs get an error that names the fault, where it is, and the fix:"
show "$gluvirt" uri "gluster://$host:99999/gv0/demo.qcow2"
show "$gluvirt" uri "gluster+unix:///gv0/demo.qcow2"
show "$gluvirt" uri "gluster://admin:secret@$host/gv0/demo.qcow2"
echo
if [ $keep = 1 ]; then
    echo "The volume stays up: 'ip netns exec $GLUVIRT_NETNS ...' reaches it;"
    echo "'tests/cluster/test-volumes.sh down' stops it."
fi
echo "demo: done"
