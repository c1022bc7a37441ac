#!/bin/bash
# run-random-bench.sh - 4 KiB random reads and writes through libgluvirt's
# callback I/O on the test cluster, side by side with fio's gfapi_async
# engine, at depths 1, 8, 32 and 128; then qcow2 against raw (both gluvirt)
# for random reads and writes on an allocated image.  One table each.
#
#   bench/run-random-bench.sh [--volume V] [--size MIB] [--reps N]   (as root)
#
# The tree must be configured; tools/gluvirt is built first.  When no test
# cluster answers, this starts one (tests/cluster/test-volumes.sh up); a
# running one is used as it is.  The images (random-bench.raw and
# random-bench.qcow2) are made anew on every run: SIZE MiB (default 1024) of
# random bytes, written by qemu-img convert.  gluvirt bench and fio run on
# the same raw file.  Every pair of runs goes in ABBA order; --reps (default
# 1) repeats the ABBA pair, and the tables show medians.  Runs are short (a
# few seconds for gluvirt); GLUVIRT_BENCH_SCALE (default 1) multiplies
# every request count for longer ones.  GLUVIRT_BUILDDIR names another build
# directory; GLUVIRT_NETNS and GLUVIRT_CLUSTER_BASE as for the cluster
# scripts.  See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

volume=gv1
size_mib=1024
reps=1
parse_size_options "usage: bench/run-random-bench.sh [--volume V] [--size MIB] [--reps N]" 20 "$@"

check_fio
start_bench "$volume"
raw_name=random-bench.raw
raw_uri=gluster://$host/$volume/$raw_name
qcow2_uri=gluster://$host/$volume/random-bench.qcow2

logs=$(mktemp -d /tmp/random-bench.XXXXXX)
make_random_images "$logs" "$size_mib" "$qcow2_uri" "$raw_uri"

# Requests per run at each depth: a few seconds of gluvirt's I/O each.
declare -A counts=([1]=3000 [8]=12000 [32]=24000 [128]=24000)
depths=(1 8 32 128)
warm_up_count=3000

# measure PROGRAM RW DEPTH KEY: one timed 4 KiB random run.
measure() {
    local program=$1 rw=$2 depth=$3 key=$4 count log args=()
    count=$((counts[$depth] * scale))
    log=$logs/$key.$program.$rep.$turn.log
    [ "$rw" = write ] && args=(-w)
    run "$logs/warm-up.log" "$gluvirt" bench -f raw -s 64k -d 16 -c "$warm_up_count" "$raw_uri"
    case $program in
    gluvirt | gluvirt_raw)
        run "$log" "$gluvirt" bench -f raw -s 4k -d "$depth" -c "$count" --pattern rand \
            "${args[@]}" "$raw_uri"
        from_seconds "$key/$program" "$log" "$count" 4096
        ;;
    gluvirt_qcow2)
        run "$log" "$gluvirt" bench -f qcow2 -s 4k -d "$depth" -c "$count" --pattern rand \
            "${args[@]}" "$qcow2_uri"
        from_seconds "$key/$program" "$log" "$count" 4096
        ;;
    fio)
        run "$log" fio --name="$key" --ioengine=gfapi_async --volume="$volume" \
            --brick="$host" --filename="$raw_name" --rw="rand$rw" --bs=4k \
            --iodepth="$depth" --direct=0 --size="${size_mib}M" \
            --io_size=$((count * 4096)) --numjobs=1 --randrepeat=1 --norandommap \
            --output-format=json
        from_fio "$key/$program" "$log" "$rw"
        ;;
    esac
}

# abba A B RW DEPTH KEY: the two programs in A B B A order, --reps times.
abba() {
    local a=$1 b=$2 program
    for rep in $(seq 1 "$reps"); do
        turn=0
        for program in "$a" "$b" "$b" "$a"; do
            turn=$((turn + 1))
            measure "$program" "$3" "$4" "$5"
        done
    done
}

echo "$bench_name: $((16 * reps)) fio runs of ~10 s each (fio waits for glfs_fini)" >&2
echo "load average before: $(load_average)"
for rw in read write; do
    for depth in "${depths[@]}"; do
        echo "$bench_name: $rw QD$depth: gluvirt against fio" >&2
        abba gluvirt fio "$rw" "$depth" "$rw-QD$depth"
    done
done
for rw in read write; do
    echo "$bench_name: $rw QD32: qcow2 against raw" >&2
    abba gluvirt_qcow2 gluvirt_raw "$rw" 32 "fmt-$rw-QD32"
done
echo "load average after: $(load_average)"

# show_row KEY A B: the medians of A and B, A / B, and the ratio of their best runs.
show_row() {
    local ai am bi bm
    ai=$(median 1 "${results[$1/$2]}")
    am=$(median 2 "${results[$1/$2]}")
    bi=$(median 1 "${results[$1/$3]}")
    bm=$(median 2 "${results[$1/$3]}")
    printf '%-16s %10s %8s %10s %8s %7s %7s\n' "$1" "$ai" "$am" "$bi" "$bm" "$(ratio "$ai" "$bi")" \
        "$(ratio "$(best 1 "${results[$1/$2]}")" "$(best 1 "${results[$1/$3]}")")"
}

echo
echo "4 KiB random I/O on a $size_mib MiB raw file on $volume; medians of $((2 * reps)) runs (ABBA)."
echo "ratio = gluvirt bench / fio gfapi_async (above 1: gluvirt is faster); best: the same of"
echo "the best runs (the runs the machine's load disturbed least)."
printf '%-16s %10s %8s %10s %8s %7s %7s\n' case "gluvirt" MiB/s "fio" MiB/s ratio best
printf '%-16s %10s %8s %10s %8s %7s %7s\n' "" IOPS "" IOPS "" "" ""
for rw in read write; do
    for depth in "${depths[@]}"; do
        show_row "$rw-QD$depth" gluvirt fio
    done
done
echo
echo "gluvirt bench on the allocated qcow2 image against the raw one (ratio = qcow2 / raw)."
printf '%-16s %10s %8s %10s %8s %7s %7s\n' case "qcow2" MiB/s "raw" MiB/s ratio best
printf '%-16s %10s %8s %10s %8s %7s %7s\n' "" IOPS "" IOPS "" "" ""
for rw in read write; do
    show_row "fmt-$rw-QD32" gluvirt_qcow2 gluvirt_raw
done
echo
echo "Logs of every run: $logs (fio's gfapi engine also writes /tmp/fio_gfapi.log)."
echo "The images stay on the volume."
