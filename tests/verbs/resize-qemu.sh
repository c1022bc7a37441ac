#!/bin/bash
# gluvirt resize against qemu-img resize on twin copies of raw images: the
# same stdout ("Image resized.") and exit code, and afterwards the same file
# size and the same bytes (qemu-img compare), for absolute, +N and -N sizes,
# growing, shrinking with and without --shrink, size 0, sizes past the
# limit and bad sizes; then qcow2 images, judged the same way and by
# 'qemu-img check'.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$work"

qemu-img create -q -f raw orig.raw 4M
write_at orig.raw 0 head
write_at orig.raw 3000000 body
write_at orig.raw 4194303 t

cases=(
    "8M" "+1M" "+1" "4M" "1M" "-1M" "--shrink 1M" "--shrink -1M" "--shrink -- -1"
    "--shrink 1000" "0" "--shrink 0" "--shrink -- -4M" "--shrink -- -5M" "1x" "-- +x"
    "1.5M" "0x500000" "-q 6M" "1E" "8E"
)
for c in "${cases[@]}"; do
    cp --sparse=always orig.raw q.raw
    cp --sparse=always orig.raw g.raw
    same_as_qemu "resize -f raw q.raw $c" "resize -f raw g.raw $c"
    # options before the name, as qemu-img also takes them
    qsize=$(stat -c %s q.raw)
    gsize=$(stat -c %s g.raw)
    [ "$qsize" = "$gsize" ] || fail "resize $c: qemu-img made $qsize bytes, gluvirt $gsize"
    qemu-img compare -q -f raw -F raw q.raw g.raw || fail "resize $c: the bytes differ"
done

# A missing image and too few words: qemu-img's exit code 1.
same_as_qemu "resize -f raw missing.raw 1M" "resize -f raw missing.raw 1M"
same_exit_as_qemu "resize q.raw" "resize q.raw"

# qcow2 images, on twin copies made by qemu-img: the same output and exit
# code, then the same virtual size and the same bytes (data below a cut
# unchanged, past the old end zeros), and 'qemu-img check' clean.  4 KiB
# clusters put 2 MiB under each L1 entry, so growing to 64M grows the L1
# table and shrinking to 1M drops whole L2 tables.
qcow2_same() { # Q G WHAT
    [ "$(qemu-img info --output=json "$1" | grep '"virtual-size"')" = \
      "$(qemu-img info --output=json "$2" | grep '"virtual-size"')" ] ||
        fail "$3: the sizes differ: $(qemu-img info "$1" "$2" | grep virtual)"
    qemu-img compare -q -f qcow2 -F qcow2 "$1" "$2" || fail "$3: the bytes differ"
    checks=$((checks + 1))
}
qemu-img create -q -f qcow2 -o cluster_size=4096 orig.qcow2 4M
qemu-io -f qcow2 -c 'write -P 0x11 0 1M' -c 'write -P 0x22 2M 1M' \
    -c 'write -P 0x33 4190208 4096' orig.qcow2 >/dev/null
qcow2_cases=(
    "+4M" "64M" "--shrink 1M" "--shrink 2500k" "--shrink -- -4095k" "2M" "1000001" "1E"
    "4M"
)
for c in "${qcow2_cases[@]}"; do
    cp orig.qcow2 q.qcow2
    cp orig.qcow2 g.qcow2
    same_as_qemu "resize -f qcow2 q.qcow2 $c" "resize -f qcow2 g.qcow2 $c"
    qcow2_check_clean g.qcow2 "qcow2 resize $c"
    qcow2_same q.qcow2 g.qcow2 "qcow2 resize $c"
done
# Past the old end reads zeros, below it the old bytes (against the raw view).
cp orig.qcow2 g.qcow2
"$GLUVIRT" resize -q -f qcow2 g.qcow2 64M
qemu-io -f qcow2 -c 'read -P 0x33 4190208 4096' -c 'read -P 0 4M 60M' g.qcow2 |
    grep -q "Pattern verification failed" && fail "qcow2 grow: wrong bytes"
# A grown image takes writes at its new end.
qemu-io -f qcow2 -c 'write -P 0x44 63M 1M' g.qcow2 >/dev/null
qcow2_check_clean g.qcow2 "qcow2 written past the old end"
qemu-io -f qcow2 -c 'read -P 0x44 63M 1M' g.qcow2 | grep -q "Pattern verification failed" &&
    fail "qcow2 grow: the write at the new end reads back wrong"
# Shrinking with an internal snapshot (QEMU allows it for version 3): the
# snapshot keeps its clusters and its view.
cp orig.qcow2 g.qcow2
qemu-img snapshot -c keep g.qcow2
cp g.qcow2 q.qcow2
same_as_qemu "resize --shrink -f qcow2 q.qcow2 1M" "resize --shrink -f qcow2 g.qcow2 1M"
qcow2_check_clean g.qcow2 "qcow2 shrink with a snapshot"
qcow2_same q.qcow2 g.qcow2 "qcow2 shrink with a snapshot"
# (qemu-img convert -l reads a snapshot at the current size: apply it.)
qemu-img snapshot -a keep g.qcow2
qemu-img compare -q -f qcow2 -F qcow2 orig.qcow2 g.qcow2 || fail "the snapshot lost its view"
qcow2_check_clean g.qcow2 "qcow2 snapshot applied after a shrink"
# Version 2 images with snapshots cannot be resized (qemu-img's refusal).
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 1M
qemu-img snapshot -c s v2.qcow2
before=$(md5sum <v2.qcow2)
same_as_qemu "resize -f qcow2 v2.qcow2 2M" "resize -f qcow2 v2.qcow2 2M"
[ "$(md5sum <v2.qcow2)" = "$before" ] || fail "the refused qcow2 image changed"
# Without -f the probe finds qcow2.
"$GLUVIRT" resize -q orig.qcow2 8M || fail "a probed qcow2 image was not resized"
# Shrinking without --shrink names the option.
"$GLUVIRT" resize -f raw g.raw 1k 2>err.txt && fail "shrank without --shrink"
grep -q -- "--shrink" err.txt || fail "the refusal does not name --shrink: $(cat err.txt)"
# A bad size is named in the message.
"$GLUVIRT" resize -f raw g.raw 12Q 2>err.txt && fail "took 12Q as a size"
grep -q "12Q" err.txt || fail "the error does not name the bad size: $(cat err.txt)"
checks=$((checks + 4))
echo "resize: $checks checks against qemu-img agree"
