#!/bin/bash
# The example programs against the test volume gv2:
#   create_image  makes a raw and a qcow2 image on the volume (and refuses to
#                 make one that exists);
#   read_image    reads two images of one volume through one pool: one
#                 connect, one reuse; the bytes are the source's;
#   poll_loop     copies a raw image and a qcow2 image with reads in flight
#                 driven by poll(): the bytes are what qemu-img reads;
#   threads       copies with 8 threads sharing a pool: one connect.
# The source data goes onto the volume with gluvirt convert (raw) and as the
# bytes of a qcow2 file that qemu-img made locally.
set -euo pipefail
: "${top_srcdir:?set top_srcdir}" "${top_builddir:?set top_builddir}"
# shellcheck source=tests/gluster/lib.sh
. "$top_srcdir/tests/gluster/lib.sh"
require_gluster
: "${GLUVIRT:=$top_builddir/tools/gluvirt}"

ex=$top_builddir/examples
work=$(mktemp -d)
base="gluster://$GLUVIRT_TEST_HOST/gv2/examples-$$"
raw=$base.raw
qcow2=$base.qcow2
qcow2_bytes=$base-bytes.qcow2
cleanup() {
    # gluvirt cannot delete files on a volume: give their space back
    # (each write ends with the pool's 1.5 s exit wait: in parallel)
    : >"$work/empty"
    for image in "$raw" "$qcow2" "$qcow2_bytes"; do
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

# ---------------------------------------------------------------- create_image
# A creation waits up to 1.5 s for the replication of what it wrote, as every
# program that wrote does before it exits: the three run in parallel.
"$ex/create_image" "$raw" 0 >"$work/create1.out" 2>&1 &
p1=$!
"$ex/create_image" -f qcow2 "$qcow2" 64M >"$work/create2.out" 2>&1 &
p2=$!
"$ex/create_image" "$qcow2_bytes" 0 >"$work/create3.out" 2>&1 &
p3=$!
wait $p1 || fail "create_image $raw: $(cat "$work/create1.out")"
wait $p2 || fail "create_image -f qcow2 $qcow2: $(cat "$work/create2.out")"
wait $p3 || fail "create_image $qcow2_bytes: $(cat "$work/create3.out")"
cat "$work"/create[123].out >"$work/create.out"
grep -qx "$raw: raw, 0 bytes" "$work/create.out" ||
    fail "create_image said: $(cat "$work/create.out")"
grep -qx "$qcow2: qcow2, 67108864 bytes" "$work/create.out" ||
    fail "create_image -f qcow2 said: $(cat "$work/create.out")"
"$GLUVIRT" info --json -f qcow2 "$qcow2" >"$work/info.json" || fail "gluvirt info $qcow2"
grep -q '"virtual-size": 67108864' "$work/info.json" ||
    fail "info of $qcow2: $(cat "$work/info.json")"
if "$ex/create_image" "$raw" 1M >/dev/null 2>"$work/exists.err"; then
    fail "create_image replaced an existing image without -o"
fi
grep -qi "exist" "$work/exists.err" ||
    fail "create_image over an image said: $(cat "$work/exists.err")"
ok "create_image makes raw and qcow2 images on the volume and keeps existing ones"

# ---------------------------------------------------------------- source data
# 3 MiB + 5000 bytes: not a multiple of any chunk size, with a hole in it
head -c $((2 * 1024 * 1024)) /dev/urandom >"$work/data"
head -c $((512 * 1024)) /dev/zero >>"$work/data"
head -c $((512 * 1024 + 5000)) /dev/urandom >>"$work/data"
qemu-img create -q -f qcow2 "$work/local.qcow2" 8M
qemu-io -f qcow2 -c 'write -P 0x3c 1M 1M' -c 'write -z 3M 64k' -c 'write -c -P 0x7e 5M 512k' \
    "$work/local.qcow2" >/dev/null
qemu-img convert -f qcow2 -O raw "$work/local.qcow2" "$work/local.qcow2.raw"
"$GLUVIRT" convert -f raw "$work/data" "$raw" 2>"$work/convert1.err" &
p1=$!
"$GLUVIRT" convert -f raw "$work/local.qcow2" "$qcow2_bytes" 2>"$work/convert2.err" &
p2=$!
wait $p1 || fail "gluvirt convert into $raw: $(cat "$work/convert1.err")"
wait $p2 || fail "gluvirt convert into $qcow2_bytes: $(cat "$work/convert2.err")"

# ---------------------------------------------------------------- read_image
"$ex/read_image" "$raw" "$raw" >"$work/read.out" 2>"$work/read.err" ||
    fail "read_image: $(cat "$work/read.err")"
cat "$work/data" "$work/data" | cmp -s - "$work/read.out" || fail "read_image read other bytes"
grep -q "pool: 1 connect(s) made, 1 reused" "$work/read.err" ||
    fail "read_image did not share the connection: $(cat "$work/read.err")"
ok "read_image reads two images through one pool connection"

# ---------------------------------------------------------------- poll_loop
"$ex/poll_loop" -d 8 "$raw" "$work/poll.out" 2>"$work/poll.err" ||
    fail "poll_loop: $(cat "$work/poll.err")"
cmp -s "$work/data" "$work/poll.out" || fail "poll_loop copied other bytes"
"$ex/poll_loop" -f qcow2 -d 4 "$qcow2_bytes" "$work/poll-qcow2.out" 2>"$work/poll.err" ||
    fail "poll_loop -f qcow2: $(cat "$work/poll.err")"
cmp -s "$work/local.qcow2.raw" "$work/poll-qcow2.out" ||
    fail "poll_loop read the qcow2 image otherwise than qemu-img"
ok "poll_loop copies raw and qcow2 images with reads in flight"

# ---------------------------------------------------------------- threads
"$ex/threads" "$raw" 8 "$work/threads.out" 2>"$work/threads.err" ||
    fail "threads: $(cat "$work/threads.err")"
cmp -s "$work/data" "$work/threads.out" || fail "threads copied other bytes"
grep -q "pool: 1 connect(s) made, 7 reused" "$work/threads.err" ||
    fail "threads did not share one connection: $(cat "$work/threads.err")"
ok "threads: 8 threads, one pool, one connection"

echo "run-examples: $passed passed, 0 failed"
