#!/bin/bash
# The forms gluvirt writes reach the same image on a real volume as the URI
# they came from: qemu-img opens the canonical URI, the unix-socket URI, the
# QEMU JSON, and the JSON converted from libvirt XML whose first server is
# dead (QEMU must fail over to the second).  Each qemu-img call costs ~10 s
# (glfs_fini), so they run in parallel.
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
require_gluster
: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"

host=$GLUVIRT_TEST_HOST
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
name="uri test+$$.qcow2"
messy="gluster+tcp://$host:24007//gv0//uri%20test%2B$$.qcow2"

canonical=$("$GLUVIRT" uri "$messy")
[ "$canonical" = "gluster://$host/gv0/uri%20test+$$.qcow2" ] ||
    fail "canonical form of $messy is '$canonical'"

qemu-img create -q -f qcow2 "$canonical" 16M 2>"$work/create.err" ||
    fail "qemu-img create $canonical: $(cat "$work/create.err")"

unix_uri=$("$GLUVIRT" uri "gluster+unix:///gv0/uri%20test+$$.qcow2?socket=$GLUVIRT_TEST_SOCKET")
# A json: target names its driver, so QEMU does not probe the format: put
# the qcow2 driver on top of the gluster location gluvirt wrote.
qcow2_on() { printf 'json:{"driver":"qcow2","file":%s}' "${1#json:}"; }
json=$(qcow2_on "$("$GLUVIRT" uri --to qemu-json "$messy")")
xml="<disk type='network' device='disk'><source protocol='gluster' name='gv0/$name'>
  <host name='127.1.1.250' port='24007'/><host name='$host'/></source></disk>"
failover_json=$(qcow2_on "$("$GLUVIRT" uri --from libvirt-xml --to qemu-json "$xml")")
case $failover_json in
*'"host":"127.1.1.250"'*'"host":"'"$host"'"'*) ;;
*) fail "server order lost in $failover_json" ;;
esac

i=0
for target in "$canonical" "$unix_uri" "$json" "$failover_json"; do
    i=$((i + 1))
    printf '%s\n' "$target" > "$work/target.$i"
    qemu-img info "$target" > "$work/info.$i" 2>"$work/err.$i" &
done
wait || true

for n in $(seq 1 $i); do
    grep -q 'virtual size: 16 MiB' "$work/info.$n" ||
        fail "qemu-img info $(cat "$work/target.$n") did not find the image: $(cat "$work/err.$n")"
    grep -q 'file format: qcow2' "$work/info.$n" || fail "format of $(cat "$work/target.$n")"
    echo "ok: qemu-img reads the image through $(cat "$work/target.$n")"
done
echo "uri-on-volume: $i passed, 0 failed"
