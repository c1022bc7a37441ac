#!/bin/bash
# gluvirt judges gluster URIs as the installed qemu-img does:
#  1. the QEMU columns of the vector table are still what this machine's
#     qemu-img says (the table is measured, not written by hand);
#  2. gluvirt agrees with the table, deliberate refusals named;
#  3. gluvirt agrees with qemu-img on random URIs nobody wrote down
#     (two fixed seeds; run qemu-differential.py --seed N for more).
# Needs root (qemu-img runs in a private, empty network namespace).
# GLUVIRT_QEMU_AGREEMENT=table runs step 2 alone: tests/sanitizers.sh sets
# it, since steps 1 and 3 spend their time in qemu-img, which a sanitizer
# build of gluvirt does not change (its parser meets random URIs in the
# uri fuzzer instead).  GLUVIRT_URIPROBE_JOBS (default 16) qemu-img probes
# run at once: most of a probe's second is gfapi waiting, not CPU.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
table=$here/qemu-7.2-vectors.tsv
: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"
command -v qemu-img >/dev/null || { echo "FAIL: qemu-img not found (apt-get install qemu-utils qemu-block-extra)"; exit 1; }
py=/usr/bin/python3
ns=gluvirt-uri$$
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
jobs=${GLUVIRT_URIPROBE_JOBS:-16}
steps=${GLUVIRT_QEMU_AGREEMENT:-all}
case $steps in
    all | table) ;;
    *) echo "FAIL: GLUVIRT_QEMU_AGREEMENT=$steps: use 'all' or 'table'"; exit 1 ;;
esac

# 1. qemu-img still judges the table's vectors as recorded.
qemu_matches_table() {
    echo "== 1. the table's QEMU columns against $(qemu-img --version | head -1)"
    grep -v '^#' "$table" | tail -n +2 | cut -f1-8 > "$work/recorded"
    cut -f1 "$work/recorded" | (cd "$work" && bash "$here/probe-qemu.sh" -n "$ns" -j "$jobs") |
        cut -f1-8 > "$work/measured"
    if diff "$work/recorded" "$work/measured" > "$work/diff"; then
        echo "qemu-agreement: $(wc -l < "$work/recorded") vectors, qemu-img agrees with the table"
    else
        echo "FAIL: qemu-img judges these vectors differently from the table:"
        head -n 40 "$work/diff"
        return 1
    fi
}

if [ "$steps" = all ]; then
    qemu_matches_table || status=1
fi

echo "== 2. gluvirt against the table"
"$py" "$here/qemu-differential.py" --table "$table" || status=1

if [ "$steps" = all ]; then
    for seed in 1 2; do
        echo "== 3. gluvirt against qemu-img on 200 random URIs (seed $seed)"
        "$py" "$here/qemu-differential.py" --seed "$seed" --count 200 --netns "$ns" \
            --jobs "$jobs" || status=1
    done
fi
exit $status
