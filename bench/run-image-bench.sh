#!/bin/bash
# run-image-bench.sh - read throughput of 'gluvirt bench' (libgluvirt's
# callback I/O) against 'qemu-img bench' and fio's gfapi engines, on one raw
# image on the test cluster, with the ratios in one table.
#
#   bench/run-image-bench.sh [--volume V] [--reps N] [--modes]      (as root)
#
# The tree must be configured (scripts/build.sh does it); tools/gluvirt is
# built first.  When no test cluster answers, this starts one with
# tests/cluster/test-volumes.sh up; a running cluster is used as it is, never
# restarted.  The image (IMAGE on the volume, default image-bench.raw on gv1)
# is made anew on every run: qemu-img create, then one pass of
# 'qemu-img bench -w' to fill it with data.  Each measurement runs --reps
# times (default 3), one program at a time, each after a short untimed
# warm-up run and in a rotating order, and the table shows the median.
# --modes also runs gluvirt bench in both completion modes and compares them.
# GLUVIRT_BUILDDIR names another build directory; GLUVIRT_NETNS and
# GLUVIRT_CLUSTER_BASE as for the cluster scripts.  See bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

volume=gv1
image="image-bench.raw"
image_size=$((1 << 30))
reps=3
modes=0

usage() {
    echo "usage: bench/run-image-bench.sh [--volume V] [--image NAME] [--reps N] [--modes]" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --volume) [ $# -ge 2 ] || usage; volume=$2; shift 2 ;;
    --volume=*) volume=${1#--volume=}; shift ;;
    --image) [ $# -ge 2 ] || usage; image=$2; shift 2 ;;
    --image=*) image=${1#--image=}; shift ;;
    --reps) [ $# -ge 2 ] || usage; reps=$2; shift 2 ;;
    --reps=*) reps=${1#--reps=}; shift ;;
    --modes) modes=1; shift ;;
    -h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) usage ;;
    esac
done
check_reps "$reps"

check_root_and_tree
command -v qemu-img >/dev/null || die "qemu-img is missing (apt-get install -y qemu-utils)"
check_fio

build tools/gluvirt
cluster_up "$volume"
cluster_env
uri=gluster://$host/$volume/$image

logs=$(mktemp -d /tmp/image-bench.XXXXXX)

# The cases: name, request size (bytes), depth, requests per run, access, peers.
# fio's gfapi engine (synchronous) has no queue: it is compared at depth 1 only.
cases=(
    "64k-QD16-seq 65536 16 24000 seq qemu fio_async"
    "64k-QD16-rand 65536 16 24000 rand fio_async"
    "4k-QD32-seq 4096 32 40000 seq qemu fio_async"
    "4k-QD32-rand 4096 32 40000 rand fio_async"
    "1M-QD1-seq 1048576 1 2048 seq qemu fio_async fio_sync"
    "1M-QD4-seq 1048576 4 2048 seq qemu fio_async"
)

runs=0
for c in "${cases[@]}"; do
    read -r -a fields <<<"$c"
    runs=$((runs + ${#fields[@]} - 5))
done
echo "run-image-bench.sh: $((runs * reps)) peer runs of ~10 s each (qemu-img and fio wait" \
    "for glfs_fini); logs in $logs" >&2
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "run-image-bench.sh: making $uri (1 GiB) and filling it" >&2
run "$logs/create.log" qemu-img create -f raw "$uri" "$image_size"
run "$logs/fill.log" qemu-img bench -f raw -w --pattern=90 -s 1M -c 1024 -d 4 "$uri"

# measure PROGRAM: one timed run of the current case (name, bs, depth,
# count, access) by PROGRAM, added to results[CASE/PROGRAM].
measure() {
    local program=$1 log=$logs/$name.$1.$rep.log engine=gfapi_async fio_rw="read"
    local completion=()

    [ "$access" = rand ] && fio_rw="randread"
    # A short untimed run first: after the ~10 s that qemu-img and fio spend
    # in glfs_fini the machine is idle, and the first second of I/O after an
    # idle spell runs up to 1.5x slower, whichever program does it.
    run "$logs/warm-up.log" "$gluvirt" bench -f raw -s 64k -d 16 -c "$warm_up_count" "$uri"
    case $program in
    gluvirt | gluvirt_poll | gluvirt_thread)
        [ "$program" = gluvirt ] || completion=(--completion "${program#gluvirt_}")
        run "$log" "$gluvirt" bench -f raw -s "$bs" -d "$depth" -c "$count" \
            --pattern "$access" "${completion[@]}" "$uri"
        from_seconds "$name/$program" "$log" "$count" "$bs"
        ;;
    qemu)
        run "$log" qemu-img bench -f raw -s "$bs" -d "$depth" -c "$count" "$uri"
        from_seconds "$name/$program" "$log" "$count" "$bs"
        ;;
    fio_async | fio_sync)
        [ "$program" = fio_sync ] && engine=gfapi
        run "$log" fio --name="$name" --ioengine="$engine" --volume="$volume" \
            --brick="$host" --filename="$image" --rw="$fio_rw" --bs="$bs" \
            --iodepth="$depth" --direct=0 --size="$image_size" \
            --io_size=$((count * bs)) --numjobs=1 --group_reporting \
            --output-format=json
        from_fio "$name/$program" "$log"
        ;;
    esac
}

warm_up_count=6000
for rep in $(seq 1 "$reps"); do
    for c in "${cases[@]}"; do
        read -r name bs depth count access _ <<<"$c"
        read -r -a fields <<<"$c"
        programs=(gluvirt)
        [ "$modes" = 1 ] && programs+=(gluvirt_poll gluvirt_thread)
        programs+=("${fields[@]:5}")
        mapfile -t programs < <(rotate "$rep" "${programs[@]}")
        echo "run-image-bench.sh: round $rep/$reps: $name: ${programs[*]}" >&2
        for program in "${programs[@]}"; do
            measure "$program"
        done
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A peer_names=([qemu]="qemu-img bench" [fio_async]="fio gfapi_async"
    [fio_sync]="fio gfapi (sync)" [gluvirt_thread]="gluvirt thread")

echo
echo "Medians of $reps runs; ratio = gluvirt / peer (above 1: gluvirt is faster)."
echo "Same request size on both sides, so the IOPS and MiB/s ratios are the same."
printf '%-14s %-17s %10s %9s %10s %9s %7s\n' case peer "gluvirt" "MiB/s" "peer" "MiB/s" ratio
printf '%-14s %-17s %10s %9s %10s %9s %7s\n' "" "" IOPS "" IOPS "" ""
show_row() { # CASE GLUVIRT_KEY PEER_KEY LABEL
    local gi gm pi pm
    gi=$(median 1 "${results[$1/$2]}")
    gm=$(median 2 "${results[$1/$2]}")
    pi=$(median 1 "${results[$1/$3]}")
    pm=$(median 2 "${results[$1/$3]}")
    printf '%-14s %-17s %10s %9s %10s %9s %7s\n' "$1" "$4" "$gi" "$gm" "$pi" "$pm" \
        "$(ratio "$gi" "$pi")"
}
for c in "${cases[@]}"; do
    read -r -a fields <<<"$c"
    for peer in "${fields[@]:5}"; do
        show_row "${fields[0]}" gluvirt "$peer" "${peer_names[$peer]}"
    done
done
if [ "$modes" = 1 ]; then
    echo
    echo "Completion modes: gluvirt bench --completion poll against thread (ratio = poll / thread)."
    for c in "${cases[@]}"; do
        show_row "${c%% *}" gluvirt_poll gluvirt_thread "${peer_names[gluvirt_thread]}"
    done
fi
echo
echo "Logs of every run: $logs (fio's gfapi engine also writes /tmp/fio_gfapi.log)."
