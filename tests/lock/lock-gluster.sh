#!/bin/sh
# Image locking on a gluster volume (gv0): gfapi byte-range locks on QEMU's
# bytes, seen from another process and from another pool of the same
# process; readers beside a writer; a killed holder's locks go at once;
# data the holder wrote through callbacks read back by qemu-io, and the
# image clean by qemu-img check.  (QEMU's gluster driver takes no locks,
# so QEMU is the reference for the data here, not for the locks: the local
# test, lock-local.sh, sets the two against each other.)
# Fails without the test volumes when GLUVIRT_REQUIRE_GLUSTER=1, else skips.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../gluster/lib.sh"
require_gluster
T=$(mktemp -d "${TMPDIR:-/tmp}/gluvirt-lock.XXXXXX")
. "$here/lib.sh"
cleanup() {
    for n in a b; do release $n 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

host=$GLUVIRT_TEST_HOST
QI=gluster://$host/gv0/lock-$$.qcow2
RAW=gluster://$host/gv0/lock-$$.raw
"$GLUVIRT" create -q -f qcow2 --overwrite "$QI" 64M || { echo "FAIL: create $QI" >&2; exit 1; }
"$GLUVIRT" create -q -f raw --overwrite "$RAW" 64M || { echo "FAIL: create $RAW" >&2; exit 1; }

# ---- a writer in process A, which writes through callbacks; B comes second.
hold a "$HOLDER" -w -a "$QI"
wait_ready a && grep -q '^open 0 ok' "$T/a.out" || fail "holder A: $(cat "$T/a.out" "$T/a.err")"
expect_open "second writer process" "EBUSY process $a_pid" "$HOLDER" -w "$QI"
expect_open "qcow2 reader beside the writer" "EBUSY process $a_pid" "$HOLDER" "$QI"
expect_open "-U reader beside the writer" ok "$HOLDER" -U "$QI"
expect_open "writer with locking off beside the writer" ok "$HOLDER" -n -w "$QI"
expect_open "gluvirt info beside the writer" "in use by another writer" "$GLUVIRT" info "$QI"
expect_open "gluvirt info -U beside the writer" ok "$GLUVIRT" info -U "$QI"
out=$(qemu-io -r -f qcow2 -c 'read -P 0x5a 0 64k' "$QI" 2>&1) &&
    echo "$out" | grep -q "read 65536/65536" &&
    pass "qemu-io reads what the holder wrote through callbacks" ||
    fail "qemu-io does not read the holder's callback write: $out"
release a
expect_open "a writer after the holder closed" ok "$HOLDER" -w "$QI"

# ---- one process: two pools, and two opens through one pool.
expect_open "two pools in one process, both writable" EBUSY "$HOLDER" -P -w "$QI" "$QI"
expect_open "two opens through one pool, both writable" EBUSY "$HOLDER" -w "$QI" "$QI"
expect_open "two pools in one process, both -U readers" ok "$HOLDER" -P -U "$QI" "$QI"

# ---- raw: readers beside a writer.
hold b "$HOLDER" -w -f raw "$RAW"
wait_ready b && grep -q '^open 0 ok' "$T/b.out" || fail "raw holder: $(cat "$T/b.out" "$T/b.err")"
expect_open "raw reader beside a raw writer" ok "$HOLDER" -f raw "$RAW"
expect_open "two raw readers in two pools beside a raw writer" ok "$HOLDER" -P -f raw "$RAW" "$RAW"
expect_open "second raw writer" "EBUSY process $b_pid" "$HOLDER" -w -f raw "$RAW"

# ---- a killed holder: its connection drops, the bricks release its locks.
kill -9 "$b_pid"
wait "$b_pid" 2>/dev/null
start=$(date +%s.%N)
expect_open "a writer right after the holder was killed" ok "$HOLDER" -w -f raw "$RAW"
took=$(awk "BEGIN { print $(date +%s.%N) - $start }")
echo "   (the new writer opened $took s after the kill)"
awk "BEGIN { exit !($took < 5) }" || fail "the new writer took $took s"
release b

out=$(qemu-img check "$QI" 2>&1) || fail "qemu-img check: $out"

[ $failures -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "all passed"
