#!/bin/sh
# Make the seed corpus of the qcow2 fuzzer: small qcow2 images (mostly
# 512-byte and 4 KiB clusters, so that each is a few KiB) covering what the
# reader handles: versions 2 and 3, zlib and zstd compressed clusters, zero
# clusters, extended L2 entries, internal snapshots, a backing file name with
# its format extension, dirty and corrupt bits, bitmaps, an external data file.
#   tests/fuzz/make-qcow2-seeds.sh OUTPUT-DIRECTORY
# Needs qemu-img and qemu-io (qemu-utils).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTPUT-DIRECTORY" >&2; exit 2; }
out=$1
for tool in qemu-img qemu-io; do
    command -v $tool >/dev/null || { echo "make-qcow2-seeds: $tool not found: apt-get install qemu-utils" >&2; exit 1; }
done
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

create() { qemu-img create -q -f qcow2 "$@"; }
io() { img=$1; shift; for c in "$@"; do qemu-io -f qcow2 -c "$c" "$img" >/dev/null; done; }
# Set incompatible feature bits (a big-endian 64-bit field at offset 72).
set_incompatible() {
    printf "$(printf '\\%03o' 0 0 0 0 0 0 0 "$2")" | dd of="$1" bs=1 seek=72 conv=notrunc status=none
}

create -o compat=0.10,cluster_size=512 v2.qcow2 1M
io v2.qcow2 "write -P 0x11 0 1k" "write -P 0x22 300k 3k"

create -o cluster_size=512 v3-512.qcow2 1M
io v3-512.qcow2 "write -P 0x33 0 2k" "write -z 4k 2k" "write -P 0x34 900k 512"

create -o cluster_size=4k v3-4k.qcow2 4M
io v3-4k.qcow2 "write -P 0x44 0 12k" "write -z 64k 8k" "write -z -u 128k 4k" "write -P 0x45 3M 4k"

create -o cluster_size=4k,compression_type=zlib zlib.qcow2 1M
io zlib.qcow2 "write -c -P 0x55 0 4k" "write -c -P 0x56 4k 4k" "write -P 0x57 8k 4k"

create -o cluster_size=4k,compression_type=zstd zstd.qcow2 1M
io zstd.qcow2 "write -c -P 0x66 0 4k" "write -c -P 0x67 8k 4k"

create -o compat=0.10,cluster_size=512 zlib-v2.qcow2 64k
io zlib-v2.qcow2 "write -c -P 0x68 0 512" "write -c -P 0x69 1k 512"

create -o extended_l2=on,cluster_size=16k extl2.qcow2 1M
io extl2.qcow2 "write -P 0x77 1k 1k" "write -z 4k 2k" "write -c -P 0x79 16k 16k"

create -o cluster_size=512 snapshot.qcow2 64k
io snapshot.qcow2 "write -P 0x81 0 1k"
qemu-img snapshot -c first snapshot.qcow2
io snapshot.qcow2 "write -P 0x82 512 1k"
qemu-img snapshot -c second snapshot.qcow2

create -o compat=0.10,cluster_size=512 snapshot-v2.qcow2 64k
io snapshot-v2.qcow2 "write -P 0x83 0 512"
qemu-img snapshot -c only snapshot-v2.qcow2

create -o cluster_size=512 base.qcow2 64k
create -o cluster_size=512 -b base.qcow2 -F qcow2 backing-fmt.qcow2 64k
io backing-fmt.qcow2 "write -P 0x91 1k 1k"
create -o compat=0.10,cluster_size=512 -b base.qcow2 -F qcow2 backing-fmt-v2.qcow2 128k

create -o cluster_size=512 dirty.qcow2 64k
io dirty.qcow2 "write -P 0xa1 0 512"
set_incompatible dirty.qcow2 1
create -o cluster_size=512 corrupt.qcow2 64k
io corrupt.qcow2 "write -P 0xa2 0 512"
set_incompatible corrupt.qcow2 2

create -o cluster_size=4k bitmaps.qcow2 64k
qemu-img bitmap --add bitmaps.qcow2 b0

create -o cluster_size=4k,data_file=seed.data data-file.qcow2 64k
io data-file.qcow2 "write -P 0xb1 0 4k"

create -o cluster_size=512 empty.qcow2 0

for f in *.qcow2; do
    cp "$f" "$out/qcow2-${f%.qcow2}"
done
echo "make-qcow2-seeds: $(ls *.qcow2 | wc -l) seeds in $out"
