#!/bin/bash
# gluvirt resize against qemu-img resize on twin copies of raw images: the
# same stdout ("Image resized.") and exit code, and afterwards the same file
# size and the same bytes (qemu-img compare), for absolute, +N and -N sizes,
# growing, shrinking with and without --shrink, size 0, sizes past the
# limit and bad sizes; qcow2 images are refused and left as they were.
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

# qcow2 is refused (not supported in this version) and left untouched.
qemu-img create -q -f qcow2 q.qcow2 1M
before=$(md5sum <q.qcow2)
rc=0
"$GLUVIRT" resize -f qcow2 q.qcow2 2M 2>err.txt || rc=$?
[ "$rc" = 1 ] || fail "resize of a qcow2 image exited $rc"
grep -q "qemu-img resize" err.txt || fail "the refusal does not say what to use: $(cat err.txt)"
[ "$(md5sum <q.qcow2)" = "$before" ] || fail "the refused qcow2 image changed"
# Without -f the probe finds qcow2 and refuses too.
"$GLUVIRT" resize q.qcow2 2M 2>/dev/null && fail "a probed qcow2 image was resized"
# Shrinking without --shrink names the option.
"$GLUVIRT" resize -f raw g.raw 1k 2>err.txt && fail "shrank without --shrink"
grep -q -- "--shrink" err.txt || fail "the refusal does not name --shrink: $(cat err.txt)"
# A bad size is named in the message.
"$GLUVIRT" resize -f raw g.raw 12Q 2>err.txt && fail "took 12Q as a size"
grep -q "12Q" err.txt || fail "the error does not name the bad size: $(cat err.txt)"
checks=$((checks + 5))
echo "resize: $checks checks against qemu-img agree"
