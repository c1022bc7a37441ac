#!/bin/bash
# The qcow2 matrix on a real volume (gv1): the images of matrix-local.sh are
# made locally by qemu-img/qemu-io, copied onto the volume through a FUSE
# mount (extent by extent, so that holes and allocated blocks stay where
# they are), and gluvirt reads them by gluster:// URI, through gfapi:
#   - gluvirt convert -f qcow2 -O raw (and --snapshot) gives the bytes that
#     qemu-img convert gives for the local copy;
#   - gluvirt map --output=json prints what qemu-img map prints for it;
#   - gluvirt info --json (and --backing-chain) agrees with qemu-img info on
#     every key, file names read under the volume's URI instead of the local
#     directory.
# qemu-img itself only reads local files: on gluster:// each call would cost
# ~10 s of glfs_fini.  Then the backing file policy, on the volume:
#   - an image naming an absolute host path as its backing file is refused,
#     and so is a relative name that climbs above the volume's root; with
#     --backing any the host file is read (qemu-img's bytes and map);
#   - --backing none reads what the image does not hold as zeros, as QEMU
#     does with "backing": null;
#   - gluvirt info still describes the refused image, with a warning.
# Runs inside the test cluster's network namespace (make check does), as
# root (it mounts the volume), in about a minute.  Fails without the test
# volumes when GLUVIRT_REQUIRE_GLUSTER=1, else skips.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/gluster/lib.sh
. "$here/../gluster/lib.sh"
require_gluster
command -v mount.glusterfs >/dev/null ||
    fail "mount.glusterfs is missing (apt-get install glusterfs-client)"
[ "$(id -u)" = 0 ] || fail "run me as root: the images reach the volume through a FUSE mount"
# shellcheck source=tests/qcow2/matrix-lib.sh
. "$here/matrix-lib.sh"

host=$GLUVIRT_TEST_HOST
volume=gv1
top="qcow2-matrix-$$"
uri="gluster://$host/$volume/$top"
work=$(mktemp -d /tmp/qcow2-matrix-gluster.XXXXXX)
images=$work/images
mnt=$work/mnt
mkdir -p "$images" "$mnt"
mounted=0
cleanup() {
    if [ "$mounted" = 1 ]; then
        rm -rf "${mnt:?}/$top"
        umount "$mnt" || umount -l "$mnt" || true
    fi
    if [ "${MATRIX_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
export TZ=UTC

# copy_tree SRC DST: copy a directory tree file by file, writing only the
# extents SEEK_DATA finds (zeros included), so that the copy on the volume
# is allocated where the original is, and a raw file's map stays the same.
# (cp --sparse=auto would punch the blocks of zeros that qemu-img create
# allocates at the start of a raw file.)
copy_tree() {
    /usr/bin/python3 - "$1" "$2" <<'EOF'
import os, sys
src, dst = sys.argv[1:3]
for root, dirs, files in os.walk(src):
    out_dir = os.path.join(dst, os.path.relpath(root, src))
    os.makedirs(out_dir, exist_ok=True)
    for name in files:
        fin = os.open(os.path.join(root, name), os.O_RDONLY)
        fout = os.open(os.path.join(out_dir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        size = os.fstat(fin).st_size
        at = 0
        while at < size:
            try:
                data = os.lseek(fin, at, os.SEEK_DATA)
            except OSError:
                break  # nothing but a hole up to the end
            hole = os.lseek(fin, data, os.SEEK_HOLE)
            while data < hole:
                chunk = os.pread(fin, min(1 << 20, hole - data), data)
                os.pwrite(fout, chunk, data)
                data += len(chunk)
            at = hole
        os.ftruncate(fout, size)
        os.close(fin)
        os.close(fout)
EOF
}

start=$SECONDS
build_matrix "$images"
echo "matrix-gluster: built $(wc -l <"$images/cases") images in $((SECONDS - start)) s"

mount -t glusterfs -o log-file="$work/fuse.log" "$host:/$volume" "$mnt" 2>"$work/mount.err" ||
    fail "cannot mount $host:/$volume on $mnt: $(cat "$work/mount.err") (see $work/fuse.log)"
mounted=1
copy_tree "$images" "$mnt/$top" || fail "cannot copy the images onto $volume"
echo "matrix-gluster: copied them onto $volume in $((SECONDS - start)) s (since the start)"

# A brick allocates a block of its own for gluster's extended attributes,
# and allocates in its own way after a copy: actual-size may differ a little.
while read -r name; do
    check_case "$name" "$images" "$uri" --prefix "$images=$uri" --size-slack 131072 --gluster
done <"$images/cases"
echo "matrix-gluster: checked the matrix in $((SECONDS - start)) s (since the start)"

# ---------------------------------------------------------------- backing policy
policy=$work/policy
mkdir -p "$policy"
qemu-img create -q -f raw "$policy/host.raw" 2M
qio "$policy/host.raw" raw 'write -P 0x5e 0 2M'
qcreate -b "$policy/host.raw" -F raw "$policy/abs.qcow2" 2M
qio "$policy/abs.qcow2" qcow2 'write -P 0x6e 64k 64k'
qcreate -u -b ../../../outside.raw -F raw "$policy/climb.qcow2" 2M
mkdir -p "$mnt/$top/policy"
cp "$policy/abs.qcow2" "$policy/climb.qcow2" "$mnt/$top/policy/"
abs_uri=$uri/policy/abs.qcow2
climb_uri=$uri/policy/climb.qcow2
case_dir=$policy

# refused TARGET COMMAND...: the command fails, saying what it refused.
refused() {
    local what=$1 rc=0
    shift
    "$@" >"$work/refused.out" 2>"$work/refused.err" || rc=$?
    if [ "$rc" = 0 ]; then
        note_fail "policy: '$*' read $what"
    elif ! grep -q "$what" "$work/refused.err"; then
        note_fail "policy: '$*' failed without naming $what: $(cat "$work/refused.err")"
    else
        note_pass "policy: $* refused: $(head -c 200 "$work/refused.err")"
    fi
}
refused "$policy/host.raw" "$GLUVIRT" convert -f qcow2 -O raw "$abs_uri" "$work/abs.raw"
refused "$policy/host.raw" "$GLUVIRT" map -f qcow2 --output=json "$abs_uri"
refused "$policy/host.raw" "$GLUVIRT" info -f qcow2 --backing-chain "$abs_uri"
refused "../../../outside.raw" "$GLUVIRT" convert -f qcow2 -O raw "$climb_uri" "$work/climb.raw"
refused "../../../outside.raw" "$GLUVIRT" convert -f qcow2 --backing any -O raw "$climb_uri" \
    "$work/climb.raw"

# Allowed, the host file is read: the bytes and the map of qemu-img.
check_convert_any() {
    qimg convert -f qcow2 -O raw "$policy/abs.qcow2" "$work/abs.ref.raw"
    if ! "$GLUVIRT" convert -f qcow2 --backing any -O raw "$abs_uri" "$work/abs.raw" \
        2>"$work/abs.err"; then
        note_fail "policy: convert --backing any: $(cat "$work/abs.err")"
    elif ! cmp -s "$work/abs.raw" "$work/abs.ref.raw"; then
        note_fail "policy: convert --backing any differs from qemu-img convert"
    else
        note_pass "policy: convert --backing any reads the host's backing file"
    fi
    qimg map -f qcow2 --output=json "$policy/abs.qcow2" >"$work/abs.map.ref"
    if ! "$GLUVIRT" map -f qcow2 --backing any --output=json "$abs_uri" >"$work/abs.map" \
        2>"$work/abs.map.err"; then
        note_fail "policy: map --backing any: $(cat "$work/abs.map.err")"
    elif ! cmp -s "$work/abs.map" "$work/abs.map.ref"; then
        note_fail "policy: map --backing any differs from qemu-img map:"$'\n'"$(diff \
            "$work/abs.map" "$work/abs.map.ref")"
    else
        note_pass "policy: map --backing any"
    fi
}
check_convert_any

# Without a backing file at all: QEMU's "backing": null.
qimg convert -O raw "json:{\"driver\":\"qcow2\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$policy/abs.qcow2\"}}" \
    "$work/none.ref.raw"
if ! "$GLUVIRT" convert -f qcow2 --backing none -O raw "$abs_uri" "$work/none.raw" \
    2>"$work/none.err"; then
    note_fail "policy: convert --backing none: $(cat "$work/none.err")"
elif ! cmp -s "$work/none.raw" "$work/none.ref.raw"; then
    note_fail "policy: convert --backing none differs from qemu-img with \"backing\": null"
else
    note_pass "policy: convert --backing none reads zeros where the image holds nothing"
fi

# info describes the image itself, as qemu-img info does, and says why it
# left the backing file out.
if ! "$GLUVIRT" info -f qcow2 --json "$abs_uri" >"$work/abs.info" 2>"$work/abs.info.err"; then
    note_fail "policy: info on the refused image: $(cat "$work/abs.info.err")"
elif ! grep -q "warning: .*$policy/host.raw" "$work/abs.info.err"; then
    note_fail "policy: info gave no warning about the refused backing file:" \
        "$(cat "$work/abs.info.err")"
elif ! /usr/bin/python3 -c '
import json, sys
info = json.load(open(sys.argv[1]))
sys.exit(info.get("backing-filename") != sys.argv[2] or info.get("virtual-size") != 2097152)
' "$work/abs.info" "$policy/host.raw"; then
    note_fail "policy: info on the refused image: $(cat "$work/abs.info")"
else
    note_pass "policy: info describes the image and warns about its backing file"
fi

echo "matrix-gluster: done in $((SECONDS - start)) s"
summary matrix-gluster
