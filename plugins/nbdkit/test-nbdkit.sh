#!/bin/bash
# The nbdkit plugin with real NBD clients, on the test volume gv1:
#   - a qcow2 overlay and its backing file (qemu-img made them locally; their
#     bytes are copied onto the volume) served read-only: nbdcopy reads the
#     same bytes qemu-img reads from the local original; nbdinfo --map sees
#     holes, zeros and data; qemu-img compare finds the NBD export equal to
#     the image on gluster:// (QEMU's own gluster driver);
#   - a raw image served writable: nbdcopy writes into it, and gluvirt reads
#     back what was written.
set -euo pipefail
: "${top_srcdir:?set top_srcdir}" "${top_builddir:?set top_builddir}"
# shellcheck source=tests/gluster/lib.sh
. "$top_srcdir/tests/gluster/lib.sh"
require_gluster
: "${GLUVIRT:=$top_builddir/tools/gluvirt}"

plugin=$top_builddir/plugins/nbdkit/.libs/nbdkit-gluvirt-plugin.so
[ -f "$plugin" ] || fail "$plugin is not built (make check builds it)"
for tool in nbdkit nbdcopy nbdinfo qemu-img qemu-io; do
    command -v "$tool" >/dev/null ||
        fail "$tool is missing (apt-get install nbdkit libnbd-bin qemu-utils)"
done
# the plugin's libgluvirt is the one of this build
export LD_LIBRARY_PATH=$top_builddir/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

work=$(mktemp -d)
name=nbdkit-$$
base_uri=gluster://$GLUVIRT_TEST_HOST/gv1/$name-base.qcow2
top_uri=gluster://$GLUVIRT_TEST_HOST/gv1/$name-top.qcow2
raw_uri=gluster://$GLUVIRT_TEST_HOST/gv1/$name.raw
cleanup() {
    : >"$work/empty"
    for image in "$base_uri" "$top_uri" "$raw_uri"; do
        "$GLUVIRT" convert -f raw "$work/empty" "$image" >/dev/null 2>&1 &
    done
    wait
    rm -rf "$work"
}
trap cleanup EXIT
passed=0
ok() {
    echo "ok: $*"
    passed=$((passed + 1))
}

# ---------------------------------------------------------------- images
qemu-img create -q -f qcow2 "$work/$name-base.qcow2" 16M
qemu-io -f qcow2 -c 'write -P 0x61 0 2M' -c 'write -P 0x62 8M 1M' "$work/$name-base.qcow2" \
    >/dev/null
qemu-img create -q -f qcow2 -b "$name-base.qcow2" -F qcow2 "$work/$name-top.qcow2" 16M
# Compressed clusters first: the last one of a file may end inside a sector
# that the file does not hold, and QEMU's gluster driver (unlike its file
# driver, and libgluvirt) fails such a short read with EIO.
qemu-io -f qcow2 -c 'write -c -P 0x72 12M 1M' -c 'write -P 0x71 1M 2M' -c 'write -z 8M 256k' \
    "$work/$name-top.qcow2" >/dev/null
qemu-img convert -f qcow2 -O raw "$work/$name-top.qcow2" "$work/expected.raw"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$work/data.raw"
head -c $((1024 * 1024)) /dev/zero >>"$work/data.raw"

# empty files on the volume, then the qcow2 files' bytes into them
# (each program that wrote waits up to 1.5 s for replication before it
# exits, so these run in parallel)
pids=()
for uri in "$base_uri" "$top_uri" "$raw_uri"; do
    "$top_builddir/examples/create_image" "$uri" 0 >/dev/null 2>>"$work/create.err" &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid" || fail "create_image: $(cat "$work/create.err")"
done
"$GLUVIRT" convert -f raw "$work/$name-base.qcow2" "$base_uri" 2>"$work/copy1.err" &
p1=$!
"$GLUVIRT" convert -f raw "$work/$name-top.qcow2" "$top_uri" 2>"$work/copy2.err" &
p2=$!
"$GLUVIRT" convert -f raw "$work/data.raw" "$raw_uri" 2>"$work/copy3.err" &
p3=$!
wait $p1 || fail "copy onto $base_uri: $(cat "$work/copy1.err")"
wait $p2 || fail "copy onto $top_uri: $(cat "$work/copy2.err")"
wait $p3 || fail "copy onto $raw_uri: $(cat "$work/copy3.err")"
# the raw image starts as zeros, so that what nbdcopy writes is what shows
: >"$work/zero.raw"
truncate -s $((4 * 1024 * 1024)) "$work/zero.raw"
"$GLUVIRT" convert -f raw "$work/zero.raw" "$raw_uri" 2>"$work/copy3.err" ||
    fail "zeroing $raw_uri: $(cat "$work/copy3.err")"

# ---------------------------------------------------------------- qcow2, read-only
# In captive mode nbdkit runs the command with $uri set to its export and
# exits with the command's status.  qemu-img compare opens the image with
# QEMU's gluster driver (about 10 s, glfs_fini): it runs alongside the rest.
export work top_uri
# shellcheck disable=SC2016 # $uri is nbdkit's, expanded by the --run shell
nbdkit -r -U - "$plugin" "$top_uri" format=qcow2 --run '
    qemu-img compare -f raw "$uri" -F qcow2 "$top_uri" >"$work/compare.out" 2>&1 &
    compare=$!
    nbdcopy "$uri" "$work/served.raw" 2>"$work/nbdcopy.err" || echo failed >"$work/nbdcopy.rc"
    nbdinfo --map "$uri" >"$work/map.txt" 2>&1 || echo failed >"$work/nbdinfo.rc"
    nbdinfo --size "$uri" >"$work/size.txt" 2>&1 || echo failed >"$work/nbdinfo.rc"
    wait $compare || echo failed >"$work/compare.rc"
' 2>"$work/nbdkit.err" || fail "nbdkit serving $top_uri: $(cat "$work/nbdkit.err")"

[ ! -e "$work/nbdcopy.rc" ] || fail "nbdcopy from the export: $(cat "$work/nbdcopy.err")"
cmp -s "$work/expected.raw" "$work/served.raw" ||
    fail "nbdcopy read other bytes than qemu-img reads from the image"
ok "nbdcopy reads the qcow2 overlay on gluster as qemu-img reads it (backing file included)"

[ ! -e "$work/nbdinfo.rc" ] || fail "nbdinfo: $(cat "$work/map.txt" "$work/size.txt")"
[ "$(cat "$work/size.txt")" = $((16 * 1024 * 1024)) ] || fail "export size $(cat "$work/size.txt")"
grep -q 'hole,zero' "$work/map.txt" || fail "no hole in the export's map: $(cat "$work/map.txt")"
grep -Eq '[[:space:]]data$' "$work/map.txt" ||
    fail "no data in the export's map: $(cat "$work/map.txt")"
ok "nbdinfo --map sees the image's holes, zeros and data"

[ ! -e "$work/compare.rc" ] || fail "qemu-img compare nbd:// gluster://: $(cat "$work/compare.out")"
grep -q 'Images are identical' "$work/compare.out" ||
    fail "qemu-img compare: $(cat "$work/compare.out")"
ok "qemu-img compare: the NBD export equals the image QEMU reads from gluster://"

# ---------------------------------------------------------------- raw, writable
# shellcheck disable=SC2016
nbdkit -U - "$plugin" "$raw_uri" --run 'nbdcopy "$work/data.raw" "$uri"' \
    2>"$work/nbdkit-write.err" || fail "nbdcopy into the export: $(cat "$work/nbdkit-write.err")"
"$GLUVIRT" convert -f raw "$raw_uri" - >"$work/written.raw" 2>"$work/readback.err" ||
    fail "reading $raw_uri back: $(cat "$work/readback.err")"
cmp -s "$work/data.raw" "$work/written.raw" || fail "the raw image does not hold what nbdcopy wrote"
ok "nbdcopy writes a raw image on gluster through the plugin"

# ---------------------------------------------------------------- errors
# shellcheck disable=SC2016
if nbdkit -r -U - "$plugin" "gluster://$GLUVIRT_TEST_HOST/gv1/$name-missing.raw" \
    --run 'nbdinfo --size "$uri"' >/dev/null 2>"$work/missing.err"; then
    fail "serving a missing image worked"
fi
grep -q "$name-missing.raw" "$work/missing.err" ||
    fail "the error for a missing image does not name it: $(cat "$work/missing.err")"
ok "a missing image: the client fails and the log names the image"

echo "test-nbdkit: $passed passed, 0 failed"
