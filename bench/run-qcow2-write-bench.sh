#!/bin/bash
# run-qcow2-write-bench.sh - write throughput of libgluvirt's qcow2 driver on
# the test cluster, side by side with its peers in one table:
#   alloc   64 KiB writes at depth 16 into an empty qcow2 image (every write
#           allocates a cluster): 'gluvirt bench -w' against
#           'qemu-img bench -w -t none', a fresh image for every run;
#   rewrite 64 KiB sequential writes at depth 16 over allocated clusters:
#           gluvirt on a qcow2 image against gluvirt on a raw one;
#   rand4k  4 KiB random writes at depth 32, the same two images.
#
#   bench/run-qcow2-write-bench.sh [--volume V] [--size MIB] [--reps N]  (as root)
#
# The tree must be configured; tools/gluvirt is built first.  When no test
# cluster answers, this starts one (tests/cluster/test-volumes.sh up); a
# running one is used as it is.  The allocated images (write-bench.qcow2 and
# write-bench.raw) are made anew: SIZE MiB (default 1024) of random bytes,
# written by qemu-img convert.  Every pair of runs goes in ABBA order; --reps
# (default 1) repeats the ABBA pair.  Both the alloc images of the last round
# are checked with 'qemu-img check' and compared with 'qemu-img compare'.
# GLUVIRT_BENCH_SCALE (default 1) multiplies every request count.
# GLUVIRT_BUILDDIR names another build directory; GLUVIRT_NETNS and
# GLUVIRT_CLUSTER_BASE as for the cluster scripts.  See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

volume=gv1
size_mib=1024
reps=1
parse_size_options "usage: bench/run-qcow2-write-bench.sh [--volume V] [--size MIB] [--reps N]" 24 "$@"

start_bench "$volume"
base=gluster://$host/$volume
qcow2_uri=$base/write-bench.qcow2
raw_uri=$base/write-bench.raw

logs=$(mktemp -d /tmp/qcow2-write-bench.XXXXXX)
make_random_images "$logs" "$size_mib" "$qcow2_uri" "$raw_uri"

# The cases: name, request size, depth, requests, access, the two programs.
# alloc writes at most the image's size (each request a new cluster).
alloc_count=$((4000 * scale))
[ $((alloc_count * 64)) -le $((size_mib * 1024)) ] || alloc_count=$((size_mib * 16))
cases=(
    "alloc 65536 16 $alloc_count seq gluvirt_alloc qemu_alloc"
    "rewrite 65536 16 $((8000 * scale)) seq gluvirt_qcow2 gluvirt_raw"
    "rand4k 4096 32 $((20000 * scale)) rand gluvirt_qcow2 gluvirt_raw"
)
warm_up_count=3000

# measure PROGRAM: one timed run of the current case by PROGRAM.
measure() {
    local program=$1 log=$logs/$name.$1.$rep.$turn.log uri
    local args=(-w -s "$bs" -d "$depth" -c "$count")

    [ "$access" = rand ] && args+=(--pattern rand)
    # An untimed read first: after qemu-img's ~10 s in glfs_fini the machine
    # is idle, and the first second of I/O after that runs slower.
    run "$logs/warm-up.log" "$gluvirt" bench -f raw -s 64k -d 16 -c "$warm_up_count" "$raw_uri"
    case $program in
    gluvirt_alloc | qemu_alloc)
        # A fresh empty image for every run, the same for both programs.
        uri=$base/write-bench-${program%_alloc}.qcow2
        run "$logs/create.log" "$gluvirt" create --overwrite -f qcow2 "$uri" "${size_mib}M"
        if [ "$program" = qemu_alloc ]; then
            run "$log" qemu-img bench -f qcow2 -t none -w --pattern=90 -s "$bs" -d "$depth" \
                -c "$count" "$uri"
        else
            run "$log" "$gluvirt" bench -f qcow2 --pattern 90 "${args[@]}" "$uri"
        fi
        ;;
    gluvirt_qcow2) run "$log" "$gluvirt" bench -f qcow2 "${args[@]}" "$qcow2_uri" ;;
    gluvirt_raw) run "$log" "$gluvirt" bench -f raw "${args[@]}" "$raw_uri" ;;
    esac
    from_seconds "$name/$program" "$log" "$count" "$bs"
}

echo "load average before: $(load_average)"
for rep in $(seq 1 "$reps"); do
    for c in "${cases[@]}"; do
        read -r name bs depth count access a b <<<"$c"
        echo "$bench_name: round $rep/$reps: $name: $a $b $b $a" >&2
        turn=0
        for program in "$a" "$b" "$b" "$a"; do
            turn=$((turn + 1))
            measure "$program"
        done
    done
done
echo "load average after: $(load_average)"

# What the last alloc runs left must be sound qcow2 holding the same bytes.
echo "$bench_name: qemu-img check and compare on the alloc images (~30 s of glfs_fini)" >&2
run "$logs/check.log" qemu-img check -f qcow2 "$base/write-bench-gluvirt.qcow2"
run "$logs/compare.log" qemu-img compare -f qcow2 -F qcow2 \
    "$base/write-bench-gluvirt.qcow2" "$base/write-bench-qemu.qcow2"

echo
echo "qcow2 writes, $size_mib MiB images on $volume; medians of $((2 * reps)) runs each (ABBA)."
echo "ratio = first / second program (above 1: the first moved more data per second)."
echo "best: the ratio of the two programs' best runs (the runs the machine's load disturbed least)."
printf '%-8s %-30s %10s %8s %10s %8s %7s %7s %6s\n' case "first vs second" IOPS MiB/s IOPS MiB/s \
    ratio best goal
declare -A labels=([gluvirt_alloc]="gluvirt" [qemu_alloc]="qemu-img" [gluvirt_qcow2]="qcow2"
    [gluvirt_raw]="raw")
declare -A goals=([alloc]=">=1.00" [rewrite]=">=0.90" [rand4k]=">=0.95")
for c in "${cases[@]}"; do
    read -r name bs depth count access a b <<<"$c"
    ai=$(median 1 "${results[$name/$a]}")
    am=$(median 2 "${results[$name/$a]}")
    bi=$(median 1 "${results[$name/$b]}")
    bm=$(median 2 "${results[$name/$b]}")
    printf '%-8s %-30s %10s %8s %10s %8s %7s %7s %6s\n' "$name" \
        "${labels[$a]} vs ${labels[$b]}, $((bs / 1024))k QD$depth" "$ai" "$am" "$bi" "$bm" \
        "$(ratio "$ai" "$bi")" \
        "$(ratio "$(best 1 "${results[$name/$a]}")" "$(best 1 "${results[$name/$b]}")")" \
        "${goals[$name]}"
done
echo
echo "qemu-img check of gluvirt's alloc image: $(grep -m1 -i 'no errors\|error\|leak' "$logs/check.log" || echo see "$logs/check.log")"
echo "qemu-img compare of the two alloc images: $(head -n 1 "$logs/compare.log")"
echo "Logs of every run: $logs.  The images stay on the volume."
