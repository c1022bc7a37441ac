#!/bin/bash
# The qcow2 matrix on local files: qemu-img and qemu-io 7.2 make about twenty
# images (v2 and v3; clusters of 512 bytes to 2 MiB; odd and 3 GiB sparse
# sizes; zero clusters, preallocation, discard; zlib and zstd compression;
# extended L2 entries; a qcow2 -> qcow2 -> raw chain with relative names and
# shorter backing files; internal snapshots; external data files; the dirty
# and corrupt bits: matrix-lib.sh lists them), and for each one
#   - gluvirt convert -f qcow2 -O raw gives the bytes qemu-img convert gives
#     (and snapshots: --snapshot against qemu-img convert -l);
#   - gluvirt map --output=json prints what qemu-img map prints, byte for
#     byte, and so does the human table;
#   - gluvirt info --json agrees with qemu-img info --output=json on every
#     key (--backing-chain too), and the text output is qemu-img's.
# Takes about half a minute.  GLUVIRT names the gluvirt program; set
# MATRIX_VERBOSE=1 to see each check, MATRIX_KEEP=1 to keep the images.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/qcow2/matrix-lib.sh
. "$here/matrix-lib.sh"

work=$(mktemp -d /tmp/qcow2-matrix.XXXXXX)
images=$work/images
mkdir -p "$images"
cleanup() {
    if [ "${MATRIX_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The dates in the snapshot list are local times; pin the zone so that both
# tools print the same ones whatever the machine's settings.
export TZ=UTC
export MATRIX_HUMAN=1

start=$SECONDS
build_matrix "$images"
echo "matrix-local: built $(wc -l <"$images/cases") images in $((SECONDS - start)) s"

while read -r name; do
    check_case "$name" "$images" "$images"
done <"$images/cases"

echo "matrix-local: checked in $((SECONDS - start)) s"
summary matrix-local
