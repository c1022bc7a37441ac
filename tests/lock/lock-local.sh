#!/bin/sh
# Image locking on local files, QEMU against gluvirt both ways (QEMU's own
# OFD locks on bytes 100.. and 200..):
#   - gluvirt takes exactly the bytes qemu-io takes, for a writer, a reader,
#     a force-share reader, and the backing files of each (compared on
#     /proc/locks, against qemu-io on the same kind of image);
#   - while qemu-io writes an image, gluvirt writers and qcow2 readers get
#     EBUSY with a message that says so and what to do; raw readers, -U
#     (the tools and the library) and locking off open;
#   - while gluvirt writes an image, qemu-img info says QEMU's "Failed to
#     get shared "write" lock", qemu-io refuses to write it, -U reads;
#   - two gluvirt writers in one process or two refuse each other; a killed
#     holder's locks go at once; a writable force_share open is refused.
# Needs qemu-img and qemu-io (qemu-utils); skips without them.
set -u
: "${top_builddir:?set top_builddir}"
for tool in qemu-img qemu-io; do
    command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/gluvirt-lock.XXXXXX")
. "$(dirname "$0")/lib.sh"
cleanup() {
    for n in q g r; do release $n 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

QI=$T/image.qcow2
RAW=$T/image.raw
qemu-img create -q -f qcow2 "$QI" 64M
qemu-img create -q -f raw "$RAW" 64M
qemu-img create -q -f qcow2 "$T/base.qcow2" 64M
qemu-img create -q -f qcow2 -b "$T/base.qcow2" -F qcow2 "$T/top.qcow2"
qemu-img create -q -f raw "$T/base.raw" 64M
qemu-img create -q -f qcow2 -b "$T/base.raw" -F raw "$T/top2.qcow2"

# ---- the same bytes as QEMU: hold with qemu-io, then with lock_holder.
# $1 label, $2 file whose locks are compared, $3 qemu-io options,
# $4 lock_holder options, $5 the image opened.
same_bytes() {
    hold q qemu-io $3 "$5"
    if ! wait_locked "$2"; then
        fail "$1: qemu-io took no locks on $2"; release q; return
    fi
    qemu_bytes=$(locked_bytes "$2" | tr '\n' ' ')
    release q
    [ -z "$(locked_bytes "$2")" ] || fail "$1: locks stayed after qemu-io exited"
    hold g "$HOLDER" $4 "$5"
    if ! wait_ready g; then
        fail "$1: lock_holder did not open: $(cat "$T/g.out" "$T/g.err")"; release g; return
    fi
    ours=$(locked_bytes "$2" | tr '\n' ' ')
    release g
    if [ "$ours" = "$qemu_bytes" ]; then
        pass "$1: gluvirt locks bytes { $ours} as qemu-io does"
    else
        fail "$1: qemu-io locks { $qemu_bytes}, gluvirt { $ours}"
    fi
}
same_bytes "qcow2 writer" "$QI" "-f qcow2" "-w -f qcow2" "$QI"
same_bytes "qcow2 reader" "$QI" "-r -f qcow2" "-f qcow2" "$QI"
same_bytes "qcow2 -U reader" "$QI" "-r -U -f qcow2" "-U -f qcow2" "$QI"
same_bytes "raw reader" "$RAW" "-r -f raw" "-f raw" "$RAW"
same_bytes "qcow2 backing of a writer" "$T/base.qcow2" "-f qcow2" "-w -f qcow2" "$T/top.qcow2"
same_bytes "raw backing of a writer" "$T/base.raw" "-f qcow2" "-w -f qcow2" "$T/top2.qcow2"
same_bytes "qcow2 backing of a -U reader" "$T/base.qcow2" "-r -U -f qcow2" "-U -f qcow2" \
    "$T/top.qcow2"

# ---- qemu-io writes; gluvirt comes second.
hold q qemu-io -f qcow2 "$QI"
wait_locked "$QI" || fail "qemu-io did not open $QI"
expect_open "gluvirt writer beside qemu-io" EBUSY "$HOLDER" -w "$QI"
expect_open "gluvirt qcow2 reader beside qemu-io" EBUSY "$HOLDER" "$QI"
expect_open "gluvirt -U reader beside qemu-io" ok "$HOLDER" -U "$QI"
expect_open "gluvirt writer with locking off beside qemu-io" ok "$HOLDER" -n -w "$QI"
expect_open "gluvirt writable force_share" "force_share" "$HOLDER" -w -U "$QI"
expect_open "gluvirt info beside qemu-io" "is in use by another writer" "$GLUVIRT" info "$QI"
expect_open "gluvirt info -U beside qemu-io" ok "$GLUVIRT" info -U "$QI"
expect_open "gluvirt map -U beside qemu-io" ok "$GLUVIRT" map -U -f qcow2 "$QI"
expect_open "gluvirt convert -U beside qemu-io" ok "$GLUVIRT" convert -U -f qcow2 "$QI" "$T/copy.raw"
expect_open "gluvirt convert beside qemu-io" "in use by another writer" \
    "$GLUVIRT" convert -f qcow2 "$QI" "$T/copy.raw"
expect_open "gluvirt bench -U beside qemu-io" ok "$GLUVIRT" bench -U -c 4 -f qcow2 "$QI"
start=$(date +%s.%N)
kill -9 "$q_pid"
expect_open "gluvirt writer right after qemu-io was killed" ok "$HOLDER" -w "$QI"
echo "   (opened $(awk "BEGIN { print $(date +%s.%N) - $start }") s after the kill)"
release q

hold q qemu-io -f raw "$RAW"
wait_locked "$RAW" || fail "qemu-io did not open $RAW"
expect_open "gluvirt raw writer beside qemu-io" EBUSY "$HOLDER" -w -f raw "$RAW"
expect_open "gluvirt raw reader beside qemu-io" ok "$HOLDER" -f raw "$RAW"
release q

# ---- gluvirt writes; QEMU comes second.
hold g "$HOLDER" -w -a "$QI"
wait_ready g || fail "lock_holder -w -a: $(cat "$T/g.out" "$T/g.err")"
grep -q '^open 0 ok' "$T/g.out" || fail "lock_holder -w -a did not open: $(cat "$T/g.out")"
expect_open "qemu-img info beside gluvirt" 'Failed to get shared "write" lock' qemu-img info "$QI"
expect_open "qemu-io writer beside gluvirt" 'Failed to get "write" lock' \
    qemu-io -f qcow2 -c 'read 0 512' "$QI"
expect_open "qemu-img info -U beside gluvirt" ok qemu-img info -U "$QI"
expect_open "qemu-io -r -U beside gluvirt (reads the callback write)" ok \
    qemu-io -r -U -f qcow2 -c 'read -P 0x5a 0 64k' "$QI"
expect_open "second gluvirt writer process" EBUSY "$HOLDER" -w "$QI"
kill -9 "$g_pid"
expect_open "qemu-io writer right after gluvirt was killed" ok \
    qemu-io -f qcow2 -c 'read -P 0x5a 0 64k' "$QI"
release g
out=$(qemu-img check "$QI" 2>&1) || fail "qemu-img check after the kill: $out"

# Two writers in one process (two opens, one pool) refuse each other too.
expect_open "two gluvirt writers in one process" EBUSY "$HOLDER" -w "$QI" "$QI"
expect_open "two gluvirt raw readers in one process" ok "$HOLDER" -f raw "$RAW" "$RAW"

# A gluvirt writer of the overlay leaves the backing file readable, not writable.
hold g "$HOLDER" -w "$T/top.qcow2"
wait_ready g || fail "lock_holder on the overlay did not open"
expect_open "qemu-img info on the backing file of a gluvirt writer" ok qemu-img info "$T/base.qcow2"
expect_open "qemu-io writer on the backing file of a gluvirt writer" 'Failed to get "write" lock' \
    qemu-io -f qcow2 -c 'read 0 512' "$T/base.qcow2"
release g

# QEMU writing the backing file: gluvirt cannot open the overlay (not even
# read-only) without -U, as qemu-img info cannot.
hold q qemu-io -f qcow2 "$T/base.qcow2"
wait_locked "$T/base.qcow2" || fail "qemu-io did not open the backing file"
expect_open "qemu-io reader of the overlay" 'Failed to get shared "write" lock' \
    qemu-io -r -f qcow2 -c 'read 0 512' "$T/top.qcow2"
expect_open "gluvirt reader of an overlay whose backing file qemu-io writes" EBUSY \
    "$HOLDER" "$T/top.qcow2"
expect_open "the same with -U" ok "$HOLDER" -U "$T/top.qcow2"
# An overlay of a disk in use is made as qemu-img makes one (its backing
# file read with force-share, for its size).
expect_open "qemu-img create of an overlay of the written image" ok \
    qemu-img create -q -f qcow2 -b "$T/base.qcow2" -F qcow2 "$T/overlay-q.qcow2"
expect_open "gluvirt create of an overlay of the written image" ok \
    "$GLUVIRT" create -q -f qcow2 -b "$T/base.qcow2" -F qcow2 "$T/overlay-g.qcow2"
expect_open "qemu-img info --backing-chain" 'Failed to get shared "write" lock' \
    qemu-img info --backing-chain "$T/top.qcow2"
expect_open "gluvirt info --backing-chain" 'in use by another writer' \
    "$GLUVIRT" info --backing-chain "$T/top.qcow2"
# qemu-img info without --backing-chain opens no backing file; gluvirt info
# describes the image without it, with a warning.
expect_open "qemu-img info of the overlay" ok qemu-img info "$T/top.qcow2"
out=$("$GLUVIRT" info "$T/top.qcow2" 2>&1) && echo "$out" | grep -q "warning: .*in use by another writer" &&
    pass "gluvirt info of the overlay: described, with a warning" ||
    fail "gluvirt info of the overlay: $out"
release q

[ $failures -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "all passed"
