#!/bin/bash
# gluvirt measure against qemu-img measure: the same "required size" and
# "fully allocated size" (human and JSON output, byte for byte) for new
# images of many sizes, raw and qcow2 with every cluster size, refcount
# width, extended L2 entries, preallocation mode and compat level; for
# existing raw and qcow2 images with holes, zero clusters, data written at
# cluster edges, compressed clusters and a backing file; and the same exit
# code for bad sizes, bad options, missing files, and both or neither of
# --size and a file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# New images: sizes x target options (MEASURE_QEMU_SIZES, default all of
# these, names fewer: the sanitizer pass runs five).
sizes=${MEASURE_QEMU_SIZES:-0 1 511 512 1000 65535 65536 1M 1G 100G 1T 16T}
opts=(
    "-O raw"
    "-O raw -o preallocation=full"
    "-O qcow2"
    "-O qcow2 -o cluster_size=512"
    "-O qcow2 -o cluster_size=4k,refcount_bits=1"
    "-O qcow2 -o cluster_size=2M,refcount_bits=64"
    "-O qcow2 -o refcount_bits=8,preallocation=metadata"
    "-O qcow2 -o preallocation=falloc"
    "-O qcow2 -o preallocation=full,cluster_size=16k"
    "-O qcow2 -o extended_l2=on"
    "-O qcow2 -o extended_l2=on,cluster_size=2M,refcount_bits=2"
    "-O qcow2 -o compat=0.10"
    "-O qcow2 -o compat=0.10,cluster_size=8k,preallocation=full"
    "-O qcow2 -o backing_file=base.qcow2,backing_fmt=qcow2"
)
for size in $sizes; do
    for o in "${opts[@]}"; do
        same_as_qemu "measure $o --size $size" "measure $o --size $size"
        same_as_qemu "measure --output=json $o --size $size" "measure --output=json $o --size $size"
    done
done

# Sizes that are too large for the cluster size, and refused layouts.
for o in "-O qcow2 -o cluster_size=512 --size 1P" "-O qcow2 --size 8E" \
         "-O qcow2 -o cluster_size=4k,extended_l2=on --size 1G" \
         "-O qcow2 -o compat=0.10,refcount_bits=8 --size 1G" \
         "-O qcow2 -o cluster_size=3k --size 1G" "-O qcow2 -o cluster_size=4M --size 1G" \
         "-O qcow2 -o refcount_bits=3 --size 1G" "-O qcow2 -o compat=2 --size 1G" \
         "-O qcow2 -o preallocation=sometimes --size 1G" "-O vmdk --size 1G" \
         "--size 1x" "--size -1" "" "-O qcow2"; do
    same_as_qemu "measure $o" "measure $o"
done


# Existing images, measured for raw and qcow2 targets.
cd "$work"
qemu-img create -q -f raw holes.raw 10M
write_at holes.raw 0 a
write_at holes.raw 65535 bc          # across a 64 KiB cluster edge
write_at holes.raw 5000000 d
write_at holes.raw 10485759 e        # the last byte
qemu-img create -q -f raw odd.raw 0
head -c 100001 /dev/urandom >odd.raw # not a multiple of 512
qemu-img create -q -f raw empty.raw 0
qemu-img create -q -f qcow2 -o cluster_size=4k mixed.qcow2 20M
qemu-io -f qcow2 -c 'write -P 0x11 0 64k' -c 'write -z 1M 1M' -c 'write -P 0x22 5M 1k' \
    -c 'write -P 0x33 19M 1M' -c 'discard 19M 512k' mixed.qcow2 >/dev/null
qemu-img create -q -f qcow2 base.qcow2 8M
qemu-io -f qcow2 -c 'write -P 0x44 0 2M' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -f qcow2 -c 'write -P 0x55 4M 64k' top.qcow2 >/dev/null
qemu-img convert -c -O qcow2 holes.raw compressed.qcow2
qemu-img create -q -f qcow2 -o preallocation=metadata meta.qcow2 3M
cd - >/dev/null
for f in "-f raw holes.raw" "-f raw odd.raw" "-f raw empty.raw" "-f qcow2 mixed.qcow2" \
         "-f qcow2 top.qcow2" "-f qcow2 compressed.qcow2" "-f qcow2 meta.qcow2" "holes.raw"; do
    for o in "${opts[@]}"; do
        same_as_qemu "measure $o $f" "measure $o $f"
    done
    same_as_qemu "measure --output=json -O qcow2 $f" "measure --output=json -O qcow2 $f"
done

# Errors: a missing file, a file and --size, a wrong format.
same_as_qemu "measure -O qcow2 missing.raw" "measure -O qcow2 missing.raw"
same_as_qemu "measure -O qcow2 --size 1G holes.raw" "measure -O qcow2 --size 1G holes.raw"
same_as_qemu "measure -O qcow2 holes.raw mixed.qcow2" "measure -O qcow2 holes.raw mixed.qcow2"
grep -q "missing.raw" "$work/gluvirt.err" 2>/dev/null || true
echo "measure: $checks comparisons with qemu-img agree"
