#!/bin/bash
# Crash safety of qcow2 writes: a kill -9 at any moment leaves an image that
# 'qemu-img check' finds free of corruption (leaks allowed: exit 0 or 3) and
# in which every write completed before the last completed flush reads back.
#
# Each round copies an image qemu-img made, starts kill9_writer on the copy
# (a seeded random trace of writes, write_zeroes, discards and flushes
# through the public API; it prints "begin N" before step N and "flushed N"
# once steps 0..N-1 are durable), kills it with SIGKILL after a random
# delay, then:
#   - qemu-img check must exit 0 or 3;
#   - qemu-img convert -O raw of the image must equal the trace's steps
#     0..N-1 applied to the image's initial contents, at every byte the
#     steps begun after them did not touch (kill9_writer judge).
# Layouts: v3 with 64 KiB clusters, v2, 512-byte clusters, refcount_bits=1,
# an internal snapshot, compressed clusters.  KILL9_ROUNDS (default 5) rounds
# per layout; KILL9_SEED picks the first seed (default: the time).
set -euo pipefail
: "${top_builddir:?run me from make check (top_builddir)}"
for tool in qemu-img qemu-io; do
    command -v "$tool" >/dev/null || {
        echo "FAIL: $tool is missing (apt-get install qemu-utils)" >&2
        exit 1
    }
done
writer="$top_builddir/tests/qcow2/.libs/kill9_writer"
[ -x "$writer" ] || writer="$top_builddir/tests/qcow2/kill9_writer"
[ -x "$writer" ] || { echo "FAIL: $writer not built (make check builds it)" >&2; exit 1; }
rounds=${KILL9_ROUNDS:-5}
seed=${KILL9_SEED:-$(date +%s)}
steps=3000
echo "kill9-writes: first seed $seed (KILL9_SEED=$seed repeats the run)"

work=$(mktemp -d /tmp/qcow2-kill9.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

# make_image NAME: NAME.qcow2 with some data already in it, and its cluster size.
make_image() {
    local name=$1 size=4M
    case $name in
    v3-64k) qemu-img create -q -f qcow2 -o compat=1.1 "$name.qcow2" $size ;;
    v2) qemu-img create -q -f qcow2 -o compat=0.10 "$name.qcow2" $size ;;
    c512) qemu-img create -q -f qcow2 -o cluster_size=512 "$name.qcow2" $size ;;
    rc1) qemu-img create -q -f qcow2 -o refcount_bits=1 "$name.qcow2" $size ;;
    snapshot)
        qemu-img create -q -f qcow2 "$name.qcow2" $size
        qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' -c 'write -P 0x33 2M 512k' "$name.qcow2" >/dev/null
        qemu-img snapshot -c s1 "$name.qcow2"
        ;;
    compressed)
        qemu-img create -q -f raw "$name.raw" $size
        qemu-io -f raw -c 'write -P 0x61 0 1536k' -c 'write -P 0x7e 3M 256k' "$name.raw" >/dev/null
        qemu-img convert -q -c -f raw -O qcow2 "$name.raw" "$name.qcow2"
        ;;
    esac
    case $name in
    snapshot | compressed) ;;
    *) qemu-io -f qcow2 -c 'write -P 0x11 64k 192k' "$name.qcow2" >/dev/null ;;
    esac
    qemu-img convert -q -f qcow2 -O raw "$name.qcow2" "$name.initial.raw"
}

cluster_of() {
    qemu-img info --output=json "$1" | sed -n 's/.*"cluster-size": \([0-9]*\).*/\1/p'
}

failures=0
total=0
killed=0
for layout in v3-64k v2 c512 rc1 snapshot compressed; do
    make_image $layout
    cluster=$(cluster_of $layout.qcow2)
    for ((r = 0; r < rounds; r++)); do
        s=$((seed + r))
        total=$((total + 1))
        cp $layout.qcow2 img.qcow2
        "$writer" write img.qcow2 "$cluster" $s $steps > flushed.txt 2> writer.err &
        pid=$!
        # A delay of 20 to 400 ms: from inside the open to late in the trace.
        sleep "0.$(printf '%03d' $((20 + (s * 7919 + r * 104729) % 380)))"
        if kill -9 $pid 2>/dev/null; then killed=$((killed + 1)); fi
        rc=0
        { wait $pid 2>/dev/null; } 2>/dev/null || rc=$?
        if [ $rc -ne 0 ] && [ $rc -ne 137 ]; then
            echo "FAIL: $layout seed $s: the writer failed (exit $rc) before the kill:" >&2
            cat writer.err >&2
            failures=$((failures + 1))
            continue
        fi
        durable=$(sed -n 's/^flushed //p' flushed.txt | tail -n 1)
        durable=${durable:-0}
        begun=$(sed -n 's/^begin //p' flushed.txt | tail -n 1)
        begun=$((${begun:--1} + 1))
        [ "$durable" -le "$begun" ] || begun=$durable
        crc=0
        qemu-img check -q -f qcow2 img.qcow2 > check.txt 2>&1 || crc=$?
        if [ $crc -ne 0 ] && [ $crc -ne 3 ]; then
            echo "FAIL: $layout seed $s: qemu-img check exit $crc after kill -9 (durable steps: $durable):" >&2
            cat check.txt >&2
            cp img.qcow2 "/tmp/kill9-$layout-$s.qcow2" && echo "  image kept: /tmp/kill9-$layout-$s.qcow2" >&2
            failures=$((failures + 1))
            continue
        fi
        if ! qemu-img convert -q -f qcow2 -O raw img.qcow2 read.raw ||
            ! "$writer" judge $layout.initial.raw read.raw "$cluster" $s "$durable" "$begun" > judge.txt; then
            echo "FAIL: $layout seed $s: flushed data lost after kill -9 (durable steps: $durable, begun: $begun)" >&2
            cp img.qcow2 "/tmp/kill9-$layout-$s.qcow2" && echo "  image kept: /tmp/kill9-$layout-$s.qcow2" >&2
            failures=$((failures + 1))
            continue
        fi
        [ -z "${KILL9_VERBOSE:-}" ] || echo "ok: $layout seed $s killed=$rc durable=$durable begun=$begun check=$crc $(cat judge.txt)"
    done
done
echo "kill9-writes: $total rounds, $killed killed mid-trace, $failures failed"
[ $failures -eq 0 ] && [ $killed -gt 0 ]
