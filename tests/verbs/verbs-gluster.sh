#!/bin/bash
# compare, measure, resize and snapshot on the test volume gv2, through gluster://
# URIs and QEMU's json:{...} form, judged by qemu-img run on the same files
# over gluster:// (in parallel: each of its calls waits ~10 s in
# glfs_fini): the same stdout and exit codes; resize's new size read back by
# qemu-img; an unreachable server and a missing file give qemu-img's exit
# codes and a message that names them.  Skips without the test volumes (fails
# then when GLUVIRT_REQUIRE_GLUSTER=1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
on_test_volume gv2
tag=gluvirt-verbs-$$
url="gluster://$host/$volume/$tag"
cleanup_volume() {
    for f in a.raw b.raw a.qcow2 r.raw; do
        "$GLUVIRT" create -q --overwrite -f raw "$url-$f" 512 >/dev/null 2>&1 || true
    done
}
trap 'cleanup_volume; rm -rf "$work"' EXIT
cd "$work"

# The images, made locally by qemu-io and copied onto the volume by gluvirt.
qemu-img create -q -f raw a.raw 16M
qemu-io -f raw -c 'write -P 1 0 1M' -c 'write -P 2 9M 100k' a.raw >/dev/null
cp --sparse=always a.raw b.raw
write_at b.raw 9500000 X
qemu-img convert -O qcow2 a.raw a.qcow2
truncate -s %512 a.qcow2 # QEMU's gluster driver fails short reads at the end
for f in a.raw b.raw a.qcow2; do
    "$GLUVIRT" convert -f raw "$f" "$url-$f" >/dev/null 2>&1 ||
        fail "copying $f onto $volume failed"
done
"$GLUVIRT" compare -q -f raw -F raw a.raw "$url-a.raw" || fail "the copy of a.raw differs"
json="json:{\"driver\":\"qcow2\",\"file\":{\"driver\":\"gluster\",\"volume\":\"$volume\",\"path\":\"$tag-a.qcow2\",\"server\":[{\"type\":\"inet\",\"host\":\"$host\",\"port\":\"24007\"}]}}"

# qemu-img's answers over gluster://, all at once.
declare -A qemu_cases=(
    [c1]="compare -f raw -F raw $url-a.raw $url-b.raw"
    [c2]="compare -f raw -F qcow2 $url-a.raw $url-a.qcow2"
    [c3]="compare -s -f raw -F raw $url-a.raw $url-b.raw"
    [m1]="measure -O qcow2 -f raw $url-b.raw"
    [m2]="measure --output=json -O qcow2 -o cluster_size=4k -f qcow2 $url-a.qcow2"
)
for k in "${!qemu_cases[@]}"; do
    # shellcheck disable=SC2086
    (rc=0; qemu-img ${qemu_cases[$k]} >"$k.out" 2>"$k.err" || rc=$?; echo $rc >"$k.rc") &
done
wait
for k in "${!qemu_cases[@]}"; do
    rc=0
    # shellcheck disable=SC2086
    "$GLUVIRT" ${qemu_cases[$k]} >"$k.gout" 2>"$k.gerr" || rc=$?
    if ! cmp -s "$k.out" "$k.gout" || [ "$rc" != "$(cat "$k.rc")" ]; then
        cat "$k.out" "$k.err" "$k.gout" "$k.gerr" >&2
        fail "${qemu_cases[$k]}: qemu-img exits $(cat "$k.rc"), gluvirt $rc"
    fi
    checks=$((checks + 1))
done

# json:{...} and a local path name the same bytes.
out=$("$GLUVIRT" compare -f qcow2 -F raw "$json" a.raw) || fail "compare with json: failed"
[ "$out" = "Images are identical." ] || fail "json: target: $out"
same_out=$("$GLUVIRT" measure -O qcow2 -f qcow2 "$json")
[ "$same_out" = "$("$GLUVIRT" measure -O qcow2 -f qcow2 a.qcow2)" ] ||
    fail "measure of the json: target differs from the local copy"
checks=$((checks + 2))

# resize on the volume: grow, refuse to shrink, shrink; qemu-img reads the size.
cp a.raw r.raw
"$GLUVIRT" convert -f raw r.raw "$url-r.raw" >/dev/null 2>&1
[ "$("$GLUVIRT" resize -f raw "$url-r.raw" +1M)" = "Image resized." ] || fail "resize +1M"
"$GLUVIRT" resize -f raw "$url-r.raw" 1M 2>err.txt && fail "shrank without --shrink"
grep -q -- --shrink err.txt || fail "no word of --shrink: $(cat err.txt)"
"$GLUVIRT" resize -q --shrink -f raw "$url-r.raw" -- -2M || fail "resize --shrink -2M"
size=$(qemu-img info --output=json -f raw "$url-r.raw" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
[ "$size" = $((15 << 20)) ] || fail "qemu-img sees $size bytes after the resizes"
checks=$((checks + 3))

# qcow2 on the volume: a snapshot made, the image grown, the snapshot
# applied (the size goes back), through gluster:// URIs; the file's bytes
# copied back (raw) and judged by qemu-img locally (quick, no glfs_fini
# wait): the snapshot listed, the view that of a.raw, the check clean.
# (Each gluvirt call here costs a connection, ~1.5 s.)
"$GLUVIRT" snapshot -f qcow2 -c onvol "$url-a.qcow2" || fail "snapshot -c on the volume"
"$GLUVIRT" resize -q -f qcow2 "$url-a.qcow2" 32M || fail "qcow2 resize on the volume"
"$GLUVIRT" snapshot -f qcow2 -a onvol "$url-a.qcow2" || fail "snapshot -a on the volume"
"$GLUVIRT" convert -f raw "$url-a.qcow2" back.qcow2 >/dev/null 2>&1 || fail "copying back"
qemu-img snapshot -l back.qcow2 | grep -Eq '^1 +onvol ' || fail "qemu-img lists no 'onvol'"
qcow2_check_clean back.qcow2 "a snapshot, a resize and an apply on the volume"
qemu-img compare -q -f qcow2 -F raw back.qcow2 a.raw || fail "the applied snapshot reads wrong"
[ "$(qemu-img info --output=json back.qcow2 | grep '"virtual-size"')" = \
  '    "virtual-size": 16777216,' ] || fail "apply did not bring the size back"
checks=$((checks + 3))

# Unreachable server, missing file: qemu-img's exit codes, named in the message.
rc=0; "$GLUVIRT" compare -f raw -F raw "gluster://$host:1/$volume/x.raw" a.raw 2>err.txt || rc=$?
[ "$rc" = 2 ] || fail "compare with an unreachable server exited $rc"
grep -q "$host" err.txt || fail "the message does not name the server: $(cat err.txt)"
rc=0; "$GLUVIRT" measure -O qcow2 "$url-missing.raw" 2>err.txt || rc=$?
[ "$rc" = 1 ] || fail "measure of a missing file exited $rc"
grep -q "missing" err.txt || fail "the message does not name the file: $(cat err.txt)"
rc=0; "$GLUVIRT" resize -f raw "gluster://$host:1/$volume/x.raw" 1G 2>err.txt || rc=$?
[ "$rc" = 1 ] || fail "resize with an unreachable server exited $rc"
checks=$((checks + 3))
echo "gluster: $checks checks against qemu-img agree"
