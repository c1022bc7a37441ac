#!/bin/bash
# gluvirt against qemu-img, byte for byte, on a real volume (gv1): qemu-img
# creates a raw image and qemu-io writes patterns into it; then
#   - gluvirt convert and qemu-img convert give identical local files, and
#     gluvirt's is sparse; so does gluvirt convert to standard output;
#   - gluvirt convert into an image on the volume gives the same bytes,
#     as qemu-img compare sees them;
#   - gluvirt info agrees with qemu-img info (text and JSON) and returns
#     without the ~10 s qemu-img waits in glfs_fini.
# Each qemu tool call on gluster:// costs ~10 s, so they run in parallel:
# the script takes about 30 s (create, qemu-io, then everything else).
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=tests/gluster/lib.sh
. "$here/lib.sh"
require_gluster
: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"

host=$GLUVIRT_TEST_HOST
work=$(mktemp -d)
src="gluster://$host/gv1/image-qemu-$$.raw"
dst="gluster://$host/gv1/image-qemu-$$-copy.raw"
qcow2="gluster://$host/gv1/image-qemu-$$.qcow2"
missing="gluster://$host/gv1/image-qemu-$$-created-by-convert.raw"
# gluvirt cannot delete files on a volume; converting an empty file into the
# images at least gives their space back.
cleanup() {
    : >"$work/empty.raw"
    for image in "$src" "$dst" "$qcow2" "$missing"; do
        "$GLUVIRT" convert -f raw "$work/empty.raw" "$image" 2>/dev/null &
    done
    wait
    rm -rf "$work"
}
trap cleanup EXIT
# 64 MiB + 3 sectors: not a power of two, several copy chunks, and a multiple
# of 512 (qemu rounds raw sizes up to one, gluvirt does not).
size=$((64 * 1024 * 1024 + 3 * 512))
passed=0
ok() {
    echo "ok: $*"
    passed=$((passed + 1))
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# Run a command in the background with its output in $work/NAME.{out,err}
# and its duration in $work/NAME.ms; 'finished NAME' then says whether it
# exited 0.
background() {
    local name=$1
    shift
    (
        start=$(date +%s%N)
        rc=0
        "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
        ms_since "$start" >"$work/$name.ms"
        echo "$rc" >"$work/$name.rc"
    ) &
    pids[$name]=$!
}
declare -A pids
finished() { [ "$(cat "$work/$1.rc")" = 0 ]; }
explain() { echo "$1: $(cat "$work/$1.err")"; }

# ---------------------------------------------------------------- images
t0=$(date +%s%N)
background create-src qemu-img create -q -f raw "$src" "$size"
background create-dst qemu-img create -q -f raw "$dst" 1M
# A qcow2 image costs qemu-img two clients (~20 s): it runs alongside the
# next two steps, and gluvirt info on it right after.
qcow2_info() {
    qemu-img create -q -f qcow2 "$qcow2" 1M || return 2
    start=$(date +%s%N)
    "$GLUVIRT" info --json -f qcow2 "$qcow2" && rc=0 || rc=$?
    ms_since "$start" >"$work/info-qcow2-gluvirt.ms"
    return "$rc"
}
background info-qcow2 qcow2_info
wait "${pids[create-src]}" "${pids[create-dst]}"
for job in create-src create-dst; do
    finished "$job" || fail "$(explain "$job")"
done
echo "qemu-img created the images in $(ms_since "$t0") ms"

# Patterns: unaligned and aligned, across copy-chunk boundaries, a run of
# zeros written over data, the first and the last block.
qemu-io -f raw \
    -c 'write -P 0xa5 0 4k' \
    -c 'write -P 0x5a 1M 64k' \
    -c 'write -z 1056k 4k' \
    -c 'write -P 0x33 5000001 12345' \
    -c 'write -P 0x77 7M 3M' \
    -c 'write -P 0x01 33554431 2' \
    -c "write -P 0xff $((size - 4096)) 4k" \
    "$src" >"$work/qemu-io.out" 2>"$work/qemu-io.err" ||
    fail "qemu-io on $src: $(cat "$work/qemu-io.err")"
grep -c '^wrote' "$work/qemu-io.out" | grep -qx 7 || fail "qemu-io: $(cat "$work/qemu-io.out")"
echo "qemu-io wrote the patterns in $(ms_since "$t0") ms (since the start)"

# ---------------------------------------------------------------- qemu and gluvirt side by side
background ref qemu-img convert -f raw -O raw "$src" "$work/ref.raw"
background qemu-info qemu-img info -f raw "$src"
background qemu-json qemu-img info -f raw --output=json "$src"
background info "$GLUVIRT" info "$src"
background info-json "$GLUVIRT" info --json "$src"
background missing "$GLUVIRT" convert -f raw -O raw "$src" "$missing"
# gluvirt's local copy, its copy on the volume, and how qemu-img compare
# sees the two (out.raw is compared with qemu's below).
copy_and_compare() {
    "$GLUVIRT" convert -p -f raw -O raw "$src" "$work/out.raw" 2>"$work/progress.err" &&
        "$GLUVIRT" convert -f raw -O raw "$src" "$dst" &&
        qemu-img compare -f raw -F raw "$dst" "$work/out.raw"
}
background copy copy_and_compare
for job in ref qemu-info qemu-json info info-json missing copy; do
    wait "${pids[$job]}"
done
for job in ref qemu-info qemu-json info info-json copy; do
    finished "$job" || fail "$(explain "$job")"
done
echo "the conversions and infos ran in $(ms_since "$t0") ms (since the start)"

cmp "$work/out.raw" "$work/ref.raw" || fail "gluvirt convert and qemu-img convert differ"
ok "gluvirt convert gives the bytes qemu-img convert gives ($size bytes)"

apparent=$(stat -c %s "$work/out.raw")
allocated=$(($(stat -c %b "$work/out.raw") * $(stat -c %B "$work/out.raw")))
[ "$apparent" = "$size" ] || fail "output is $apparent bytes, not $size"
[ "$allocated" -lt $((apparent / 4)) ] ||
    fail "output is not sparse: $allocated bytes allocated of $apparent"
ok "the output is sparse: $allocated bytes allocated of $apparent (qemu-img's: $(du -B1 "$work/ref.raw" | cut -f1))"

grep -q '(100.00/100%)' "$work/progress.err" || fail "no progress from -p: $(cat "$work/progress.err")"
ok "-p draws the progress on stderr"

"$GLUVIRT" convert -f raw -O raw "$src" - 2>"$work/stdout.err" | cmp - "$work/ref.raw" ||
    fail "gluvirt convert to standard output differs: $(cat "$work/stdout.err")"
ok "gluvirt convert to standard output gives the same bytes"

finished missing || fail "convert into a missing image on the volume: $(explain missing)"
"$GLUVIRT" convert -f raw -O raw "$missing" "$work/missing.raw" 2>"$work/missing-back.err" ||
    fail "reading back the image convert created: $(cat "$work/missing-back.err")"
cmp "$work/missing.raw" "$work/ref.raw" ||
    fail "the image convert created on the volume differs from qemu-img's copy"
ok "convert creates a missing destination on the volume, holding the bytes qemu-img convert gives"
nodir="gluster://$host/gv1/image-qemu-$$-no-such-dir/x.raw"
if "$GLUVIRT" convert -f raw -O raw "$src" "$nodir" 2>"$work/nodir.err"; then
    fail "convert into a directory that does not exist on the volume succeeded"
fi
grep -q "its directory does not exist; create it first" "$work/nodir.err" ||
    fail "message for a destination in a missing directory: $(cat "$work/nodir.err")"
ok "a destination in a directory that does not exist is refused, saying so"

# ---------------------------------------------------------------- info
for key in 'file format:' 'virtual size:'; do
    ours=$(grep "^$key" "$work/info.out") || fail "gluvirt info has no '$key': $(cat "$work/info.out")"
    theirs=$(grep "^$key" "$work/qemu-info.out") || fail "qemu-img info has no '$key'"
    [ "$ours" = "$theirs" ] || fail "gluvirt info says '$ours', qemu-img info says '$theirs'"
done
grep -qx "image: $src" "$work/info.out" || fail "gluvirt info: $(cat "$work/info.out")"
ok "gluvirt info agrees with qemu-img info: $(grep '^virtual size:' "$work/info.out")"

python3 - "$work/info-json.out" "$work/qemu-json.out" <<'EOF' || fail "JSON outputs disagree"
import json, sys
ours, theirs = (json.load(open(p)) for p in sys.argv[1:3])
for key in ("filename", "format", "virtual-size"):
    if ours.get(key) != theirs.get(key):
        sys.exit(f"{key}: gluvirt {ours.get(key)!r}, qemu-img {theirs.get(key)!r}")
extra = set(ours) - set(theirs)
if extra:
    sys.exit(f"keys qemu-img info does not have: {sorted(extra)}")
EOF
ok "gluvirt info --json agrees with qemu-img info --output=json"

wait "${pids[info-qcow2]}"
[ "$(cat "$work/info-qcow2.rc")" != 2 ] || fail "qemu-img create -f qcow2: $(cat "$work/info-qcow2.err")"
finished info-qcow2 || fail "gluvirt info on qcow2: $(cat "$work/info-qcow2.err")"
/usr/bin/python3 -c '
import json, sys
info = json.load(open(sys.argv[1]))
assert info["format"] == "qcow2" and info["virtual-size"] == 1 << 20, info
' "$work/info-qcow2.out" || fail "gluvirt info on qcow2: $(cat "$work/info-qcow2.out")"
ok "gluvirt info reads the qcow2 image qemu-img made (format, virtual size)"

# gluvirt exits without waiting for glfs_fini; qemu-img info waits its ~10 s
# (timers, not work, so a busy machine does not shorten it).  On an idle
# machine gluvirt info takes well under a second; on a busy one both slow
# down alike, so gluvirt must stay under 6 s or at least 5 s quicker than
# qemu-img: a wait for glfs_fini would put it level with qemu-img.
info_ms=$(cat "$work/info.ms")
qemu_ms=$(cat "$work/qemu-info.ms")
qcow2_ms=$(cat "$work/info-qcow2-gluvirt.ms")
echo "gluvirt info took $info_ms ms (qcow2: $qcow2_ms ms), qemu-img info $qemu_ms ms"
for ms in "$info_ms" "$qcow2_ms"; do
    [ "$ms" -lt 6000 ] || [ $((ms + 5000)) -lt "$qemu_ms" ] ||
        fail "gluvirt info took $ms ms, qemu-img info $qemu_ms ms: it waited for glfs_fini"
done
ok "gluvirt info returns without waiting for glfs_fini (qemu-img info waits 10 s there)"

# The human sizes on local files, where qemu-img is quick: sizes that are
# multiples of 512 (qemu-img rounds others up).
for bytes in 0 512 1000448 1022976 1024000 1047552 123457024 1073741824 1610612736 5000000000000; do
    truncate -s "$bytes" "$work/sized.raw"
    ours=$("$GLUVIRT" info "$work/sized.raw" | grep '^virtual size:')
    theirs=$(qemu-img info -f raw "$work/sized.raw" | grep '^virtual size:')
    [ "$ours" = "$theirs" ] || fail "$bytes bytes: gluvirt '$ours', qemu-img '$theirs'"
done
ok "the human-readable sizes match qemu-img's for 10 sizes"

grep -q '^Images are identical' "$work/copy.out" || fail "qemu-img compare: $(cat "$work/copy.out")"
ok "gluvirt convert into an image on the volume: qemu-img compare finds it identical"

echo "image-qemu: $passed passed, 0 failed"
