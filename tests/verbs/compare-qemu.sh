#!/bin/bash
# gluvirt compare against qemu-img compare on the same images: the same
# stdout ("Images are identical.", "Content mismatch at offset N!", the size
# warnings and strict-mode lines) and the same exit code, for raw and qcow2
# images with holes, zero clusters, compressed clusters, backing files,
# different sizes, differences at the first and last sector and at random
# places, in normal and strict mode (-s), quiet (-q); missing files and
# wrong formats give exit code 2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$work"

qemu-img create -q -f raw a.raw 8M
write_at a.raw 0 start
write_at a.raw 3000000 middle
write_at a.raw 8388607 z
cp --sparse=always a.raw same.raw
cp a.raw first.raw && write_at first.raw 1 X
cp a.raw last.raw && write_at last.raw 8388600 X
cp a.raw mid.raw && write_at mid.raw 4194304 X
# explicit zeros where a.raw has a hole: the same bytes
cp --sparse=never a.raw dense.raw
# a longer image: zeros past 8M, then data past 8M
cp a.raw long0.raw && truncate -s 12M long0.raw
cp long0.raw long1.raw && write_at long1.raw 10000000 X
qemu-img convert -O qcow2 a.raw a.qcow2
qemu-img convert -O qcow2 -o cluster_size=4k a.raw a4k.qcow2
qemu-img convert -c -O qcow2 a.raw compressed.qcow2
qemu-img convert -O qcow2 -o compat=0.10 mid.raw mid-v2.qcow2
# zero clusters over data, and a backing chain that reads as a.raw
qemu-img convert -O qcow2 a.raw zeroed.qcow2
qemu-io -f qcow2 -c 'write -z 0 64k' zeroed.qcow2 >/dev/null
qemu-img create -q -f qcow2 base.qcow2 8M
qemu-io -f qcow2 -c 'write -P 0 0 4M' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-img dd -f raw -O qcow2 if=a.raw of=top.qcow2 bs=1M count=8 conv=notrunc 2>/dev/null ||
    qemu-io -f qcow2 -c 'write -P 0 0 1' top.qcow2 >/dev/null
qemu-img rebase -u -b base.qcow2 -F qcow2 top.qcow2 2>/dev/null || true
qemu-img create -q -f qcow2 -o preallocation=metadata meta.qcow2 8M

pairs=(
    "-f raw -F raw a.raw same.raw"
    "-f raw -F raw a.raw first.raw"
    "-f raw -F raw a.raw last.raw"
    "-f raw -F raw mid.raw a.raw"
    "-f raw -F raw a.raw dense.raw"
    "-f raw -F raw a.raw long0.raw"
    "-f raw -F raw long1.raw a.raw"
    "-f raw -F raw a.raw long1.raw"
    "-f raw -F qcow2 a.raw a.qcow2"
    "-f qcow2 -F qcow2 a.qcow2 a4k.qcow2"
    "-f qcow2 -F raw compressed.qcow2 a.raw"
    "-f qcow2 -F raw mid-v2.qcow2 a.raw"
    "-f qcow2 -F raw zeroed.qcow2 a.raw"
    "-f qcow2 -F raw top.qcow2 a.raw"
    "-f qcow2 -F qcow2 base.qcow2 meta.qcow2"
    "-f qcow2 -F raw meta.qcow2 same.raw"
    "-f raw -F raw dense.raw dense.raw"
)
for p in "${pairs[@]}"; do
    same_as_qemu "compare $p" "compare $p"
    same_as_qemu "compare -s $p" "compare -s $p"
    same_as_qemu "compare -q $p" "compare -q $p"
done
# Without -f the format is probed (qemu-img warns on stderr, gluvirt notes it).
same_as_qemu "compare a.qcow2 a.raw" "compare a.qcow2 a.raw"

# Random images: the same verdict and offset as qemu-img, again and again.
seed=${GLUVIRT_TEST_SEED:-$RANDOM}
echo "random cases: GLUVIRT_TEST_SEED=$seed"
RANDOM=$seed
for i in $(seq 1 25); do
    qemu-img create -q -f raw r1.raw 4M
    for j in $(seq 1 $((RANDOM % 6))); do
        write_at r1.raw $(((RANDOM * 32768 + RANDOM) % 4194304)) "d$j"
    done
    cp --sparse=always r1.raw r2.raw
    case $((RANDOM % 4)) in
        0) ;;
        1) write_at r2.raw $(((RANDOM * 32768 + RANDOM) % 4194304)) Q ;;
        2) truncate -s $(((RANDOM % 16 + 1) * 512 + 4194304)) r2.raw ;;
        3) qemu-img convert -O qcow2 r1.raw r2.qcow2 &&
            qemu-io -f qcow2 -c "write -P 7 $(((RANDOM % 64) * 65536)) 512" r2.qcow2 >/dev/null &&
            qemu-img convert -f qcow2 -O raw r2.qcow2 r2.raw ;;
    esac
    same_as_qemu "compare -f raw -F raw r1.raw r2.raw" "compare -f raw -F raw r1.raw r2.raw"
    qemu-img convert -O qcow2 -o cluster_size=$((512 << (RANDOM % 6))) r2.raw r2.qcow2
    same_as_qemu "compare -f raw -F qcow2 r1.raw r2.qcow2" "compare -f raw -F qcow2 r1.raw r2.qcow2"
done

# Errors: exit 2 for what cannot be opened, and for a bad command line.
same_as_qemu "compare -f raw -F raw a.raw missing.raw" "compare -f raw -F raw a.raw missing.raw"
same_as_qemu "compare -f qcow2 -F raw a.raw a.raw" "compare -f qcow2 -F raw a.raw a.raw"
same_exit_as_qemu "compare a.raw" "compare a.raw"
grep -q "missing.raw" <("$GLUVIRT" compare a.raw missing.raw 2>&1) ||
    fail "the error does not name the missing file"

# -p: percentages when stderr is not a terminal, the answer unchanged.
out=$("$GLUVIRT" compare -p -f raw -F raw a.raw same.raw 2>progress.txt)
[ "$out" = "Images are identical." ] || fail "compare -p printed '$out'"
grep -qx '100%' progress.txt || fail "compare -p did not reach 100%: $(cat progress.txt)"
echo "compare: $checks comparisons with qemu-img agree"
