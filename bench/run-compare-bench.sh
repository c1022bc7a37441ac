#!/bin/bash
# run-compare-bench.sh - gluvirt compare against qemu-img compare on the same
# two images, timed in one run, with the ratio (qemu-img's time / gluvirt's:
# above 1.0 means gluvirt is faster).
#
#   bench/run-compare-bench.sh [--size 4G] [--reps 3] [--dir /tmp]
#                              [--gluster gluster://HOST/VOLUME]
#
# The images are raw, SIZE bytes, "half data": 64 MiB of data, 64 MiB of
# hole, and so on, the same in both (the worst case: every data byte is
# read and compared).  They are made in DIR, or with --gluster on that
# volume (the script then runs where the volume is reachable, e.g. inside
# the test cluster's netns); both tools read them from there.  Each rep
# times qemu-img, then gluvirt, both with warm caches after a first
# untimed pass; the best of the reps is reported.  Set GLUVIRT to the
# gluvirt program (default: tools/gluvirt of the build directory in
# GLUVIRT_BUILDDIR or the source tree).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
GLUVIRT=${GLUVIRT:-${GLUVIRT_BUILDDIR:-$top}/tools/gluvirt}
size=4G reps=3 dir=/tmp gluster=
while [ $# -gt 0 ]; do
    case $1 in
        --size) size=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --gluster) gluster=$2; shift 2 ;;
        *) echo "usage: $0 [--size N] [--reps N] [--dir DIR] [--gluster gluster://HOST/VOL]" >&2
           exit 2 ;;
    esac
done
[ -x "$GLUVIRT" ] || { echo "$0: no gluvirt program at $GLUVIRT (build first)" >&2; exit 1; }
command -v qemu-img >/dev/null || { echo "$0: qemu-img is not installed" >&2; exit 1; }

work=$(mktemp -d "$dir/gluvirt-compare-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
bytes=$(qemu-img measure -O raw --size "$size" | sed -n 's/^required size: //p')
stripe=$((64 << 20))
echo "making two raw images of $bytes bytes, half data ($((stripe >> 20)) MiB stripes)" >&2
truncate -s "$bytes" "$work/a.raw"
for ((off = 0; off < bytes; off += 2 * stripe)); do
    head -c "$stripe" /dev/urandom |
        dd of="$work/a.raw" bs=1M seek=$((off >> 20)) conv=notrunc,sparse status=none
done
cp --sparse=always "$work/a.raw" "$work/b.raw"
a=$work/a.raw b=$work/b.raw
if [ -n "$gluster" ]; then
    tag=compare-bench-$$
    for f in a b; do
        "$GLUVIRT" convert -f raw "$work/$f.raw" "$gluster/$tag-$f.raw" >/dev/null
    done
    rm -f "$work/a.raw" "$work/b.raw"
    a=$gluster/$tag-a.raw b=$gluster/$tag-b.raw
    trap '"$GLUVIRT" create -q --overwrite -f raw "$a" 512; "$GLUVIRT" create -q --overwrite -f raw "$b" 512; rm -rf "$work"' EXIT
fi

seconds() { # seconds COMMAND...: wall time of one run (the command must say identical)
    local start end out
    start=$(date +%s.%N)
    out=$("$@" 2>/dev/null)
    end=$(date +%s.%N)
    [ "$out" = "Images are identical." ] || { echo "$0: $1 said: $out" >&2; exit 1; }
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
best() { sort -n | head -1; }

seconds qemu-img compare -f raw -F raw "$a" "$b" >/dev/null # warm the caches
q_times=() g_times=()
for ((i = 1; i <= reps; i++)); do
    q_times+=("$(seconds qemu-img compare -f raw -F raw "$a" "$b")")
    g_times+=("$(seconds "$GLUVIRT" compare -f raw -F raw "$a" "$b")")
    echo "rep $i: qemu-img ${q_times[-1]} s, gluvirt ${g_times[-1]} s" >&2
done
q=$(printf '%s\n' "${q_times[@]}" | best)
g=$(printf '%s\n' "${g_times[@]}" | best)
where=${gluster:-local files in $dir}
printf 'compare of two %s raw images (half data) on %s, best of %d:\n' "$size" "$where" "$reps"
printf '  qemu-img compare  %8.3f s\n  gluvirt compare   %8.3f s\n' "$q" "$g"
awk -v q="$q" -v g="$g" 'BEGIN { printf "  ratio (qemu-img / gluvirt): %.2fx\n", q / g }'
