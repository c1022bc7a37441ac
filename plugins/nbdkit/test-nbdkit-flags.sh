#!/bin/bash
# The nbdkit plugin passes NBD's request flags through (local images, no
# cluster): nbdinfo sees can_fua, can_fast_zero and can_zero on a writable
# export and none of them on a read-only one; qemu-io's 'write -z' (may_trim
# off) and 'write -z -u' (may_trim on) over NBD leave the qcow2 image with
# the same map as the same commands run by qemu-io on a local copy (a kept
# zero cluster with its offset, a freed one); a FUA write reads back; the
# plugin's log= messages reach nbdkit's debug log; a fast zero
# (NBD_CMD_FLAG_FAST_ZERO, sent by nbdsh) of whole clusters succeeds and one
# that would have to write zeros fails with ENOTSUP, changing nothing.
set -euo pipefail
: "${top_srcdir:?set top_srcdir}" "${top_builddir:?set top_builddir}"

# shellcheck source=tests/gluster/lib.sh
. "$top_srcdir/tests/gluster/lib.sh" # fail (this script needs no volume)
plugin=$top_builddir/plugins/nbdkit/.libs/nbdkit-gluvirt-plugin.so
[ -f "$plugin" ] || fail "$plugin is not built (make check builds it)"
for tool in nbdkit nbdinfo qemu-img qemu-io; do
    command -v "$tool" >/dev/null ||
        fail "$tool is missing (apt-get install nbdkit libnbd-bin python3-libnbd qemu-utils)"
done
# nbdsh, run by Debian's python3 (the nbdsh script takes the first python3
# on PATH, which may lack the nbd module).
/usr/bin/python3 -c 'import nbd' 2>/dev/null ||
    fail "libnbd's Python module is missing (apt-get install python3-libnbd)"
export LD_LIBRARY_PATH=$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

work=$(mktemp -d)
server=
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
checks=()
ok() {
    checks+=("$*")
    echo "ok: $*"
}

# serve IMAGE [nbdkit options...]: nbdkit in the foreground of a background
# job, on a socket in $work; waits until it answers.
serve() {
    local image=$1
    shift
    rm -f "$work/sock"
    nbdkit -f -v -U "$work/sock" "$@" "$plugin" "file=$image" format=qcow2 log=debug \
        2>>"$work/nbdkit.log" &
    server=$!
    for _ in $(seq 100); do
        [ -S "$work/sock" ] && return 0
        sleep 0.05
    done
    fail "nbdkit did not start: $(tail -5 "$work/nbdkit.log")"
}
stop() {
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=
}
nbd="nbd+unix:///?socket=$work/sock"

qemu-img create -q -f qcow2 "$work/img.qcow2" 1M
qemu-io -f qcow2 -c 'write -P 0x55 0 512k' "$work/img.qcow2" >/dev/null
cp "$work/img.qcow2" "$work/qemu.qcow2"

# ---------------------------------------------------------------- what it offers
serve "$work/img.qcow2" -r
info=$(nbdinfo "$nbd")
stop
for flag in can_fua can_fast_zero can_zero; do
    grep -q "$flag: false" <<<"$info" || fail "read-only export: $flag is not false"
done
ok "a read-only export offers no FUA, zero or fast zero"

serve "$work/img.qcow2"
info=$(nbdinfo "$nbd")
for flag in can_fua can_fast_zero can_zero; do
    grep -q "$flag: true" <<<"$info" || fail "writable export: $flag is not true: $info"
done
ok "a writable export offers FUA, zero and fast zero"

# ---------------------------------------------------------------- may_trim
commands=(-c 'write -z 0 64k' -c 'write -z -u 64k 64k' -c 'write -P 0x22 256k 4k')
qemu-io -f raw "${commands[@]}" "$nbd" >/dev/null
stop
qemu-io -f qcow2 "${commands[@]}" "$work/qemu.qcow2" >/dev/null
grep -q 'zero count=65536 offset=0 may_trim=0' "$work/nbdkit.log" ||
    fail "no zero request without may_trim reached the plugin"
grep -q 'zero count=65536 offset=65536 may_trim=1' "$work/nbdkit.log" ||
    fail "no zero request with may_trim reached the plugin"
qemu-img map --output=json "$work/img.qcow2" >"$work/ours.map"
qemu-img map --output=json "$work/qemu.qcow2" >"$work/qemu.map"
diff -u "$work/qemu.map" "$work/ours.map" >&2 ||
    fail "zeroing over NBD left another map than qemu-io's"
grep -q '"start": 0, "length": 65536,.*"zero": true.*"offset"' "$work/ours.map" ||
    fail "the cluster zeroed without may_trim lost its offset"
qemu-img check -q "$work/img.qcow2"
qemu-img compare -q "$work/img.qcow2" "$work/qemu.qcow2"
ok "write -z and write -z -u over NBD leave qemu-io's map"

# ---------------------------------------------------------------- FUA
serve "$work/img.qcow2"
qemu-io -f raw -c 'write -f -P 0x33 512k 4k' "$nbd" >/dev/null
qemu-io -f raw -c 'read -P 0x33 512k 4k' "$nbd" >/dev/null || fail "the FUA write did not read back"
stop
grep -q 'pwrite count=4096 offset=524288 fua=1' "$work/nbdkit.log" ||
    fail "the FUA write reached the plugin without fua"
qemu-img check -q "$work/img.qcow2"
ok "a FUA write reaches the plugin as one and reads back"

# ---------------------------------------------------------------- fast zero
serve "$work/img.qcow2"
/usr/bin/python3 -m nbd -u "$nbd" -c '
import errno
whole = (128 << 10, 64 << 10)          # offset, length: one cluster
part = ((256 << 10) + 512, 4096)       # inside a cluster that holds data
before = h.pread(part[1], part[0])
h.zero(whole[1], whole[0], nbd.CMD_FLAG_FAST_ZERO)
if h.pread(whole[1], whole[0]) != bytes(whole[1]):
    raise SystemExit("the fast zero of a whole cluster does not read back as zeros")
try:
    h.zero(part[1], part[0], nbd.CMD_FLAG_FAST_ZERO)
except nbd.Error as e:
    # libnbd gives the errno by name
    if e.errno not in ("ENOTSUP", "EOPNOTSUPP", errno.ENOTSUP):
        raise SystemExit("a fast zero inside a cluster failed with %r, not ENOTSUP" % e.errno)
else:
    raise SystemExit("a fast zero inside a cluster succeeded (it would write zeros)")
if h.pread(part[1], part[0]) != before:
    raise SystemExit("the refused fast zero changed the data")
' || fail "fast zero over NBD"
stop
grep -q 'zero count=65536 offset=131072 may_trim=[01] fua=[01] fast=1' "$work/nbdkit.log" ||
    grep -q 'zero count=65536 offset=131072.*fast=1' "$work/nbdkit.log" ||
    fail "no fast zero request reached the plugin: $(grep 'zero count' "$work/nbdkit.log" | tail -3)"
qemu-img check -q "$work/img.qcow2"
ok "a fast zero of a cluster succeeds; one that would write zeros fails with ENOTSUP and changes nothing"

# ---------------------------------------------------------------- log=
grep -q "debug: $work/img.qcow2: opened as qcow2, writable" "$work/nbdkit.log" ||
    fail "the library's messages did not reach nbdkit's log"
ok "log=debug passes the library's messages to nbdkit_debug"

echo "${#checks[@]} passed, 0 failed"
