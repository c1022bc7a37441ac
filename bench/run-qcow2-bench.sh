#!/bin/bash
# run-qcow2-bench.sh - read throughput of libgluvirt's qcow2 driver on the
# test cluster: 'gluvirt bench -f qcow2' against 'qemu-img bench -f qcow2' on
# the same image, and against 'gluvirt bench -f raw' on a raw image of the
# same data, with the ratios in one table.
#
#   bench/run-qcow2-bench.sh [--volume V] [--size MIB] [--reps N] [--qemu-raw]
#                                                                  (as root)
#
# The tree must be configured (scripts/build.sh does it); tools/gluvirt is
# built first.  When no test cluster answers, this starts one with
# tests/cluster/test-volumes.sh up; a running cluster is used as it is.  The
# images (qcow2-bench.qcow2 and qcow2-bench.raw on gv1) are made anew on every
# run: SIZE MiB (default 1024) of random bytes, written onto the volume by
# 'qemu-img convert -O qcow2' (every cluster allocated) and '-O raw'; gluvirt
# then checks that both read back the same.  Each measurement runs --reps
# times (default 3), one program at a time, each after a short untimed
# warm-up and in a rotating order; the tables show medians and the best
# runs.  --qemu-raw also times qemu-img bench on the raw image, for QEMU's
# own qcow2/raw ratio.  GLUVIRT_BUILDDIR names another build directory;
# GLUVIRT_NETNS and GLUVIRT_CLUSTER_BASE as for the cluster scripts.  See
# bench/README.md.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

volume=gv1
size_mib=1024
reps=3
qemu_raw=0

usage() {
    echo "usage: bench/run-qcow2-bench.sh [--volume V] [--size MIB] [--reps N] [--qemu-raw]" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --volume) [ $# -ge 2 ] || usage; volume=$2; shift 2 ;;
    --volume=*) volume=${1#--volume=}; shift ;;
    --size) [ $# -ge 2 ] || usage; size_mib=$2; shift 2 ;;
    --size=*) size_mib=${1#--size=}; shift ;;
    --reps) [ $# -ge 2 ] || usage; reps=$2; shift 2 ;;
    --reps=*) reps=${1#--reps=}; shift ;;
    --qemu-raw) qemu_raw=1; shift ;;
    -h | --help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) usage ;;
    esac
done
check_reps "$reps"
case $size_mib in '' | *[!0-9]* | 0) die "--size wants MiB, a whole number above 0, not '$size_mib'" ;; esac

check_root_and_tree
command -v qemu-img >/dev/null || die "qemu-img is missing (apt-get install -y qemu-utils)"

build tools/gluvirt
cluster_up "$volume"
cluster_env
qcow2_uri=gluster://$host/$volume/qcow2-bench.qcow2
raw_uri=gluster://$host/$volume/qcow2-bench.raw

logs=$(mktemp -d /tmp/qcow2-bench.XXXXXX)

# ---------------------------------------------------------------- the images
make_random_images "$logs" "$size_mib" "$qcow2_uri" "$raw_uri"

# ---------------------------------------------------------------- the runs
# The cases: name, request size (bytes), depth, requests per run (sequential
# reads; an offset past the end wraps round to the start).
cases=(
    "64k-QD1 65536 1 8000"
    "64k-QD16 65536 16 48000"
    "4k-QD32 4096 32 160000"
)
programs=(gluvirt_qcow2 qemu_qcow2 gluvirt_raw)
[ "$qemu_raw" = 0 ] || programs+=(qemu_raw)
warm_up_count=6000

# measure PROGRAM: one timed run of the current case by PROGRAM.
measure() {
    local program=$1 log=$logs/$name.$1.$rep.log uri=$qcow2_uri format=qcow2 tool

    case $program in *_raw) uri=$raw_uri format=raw ;; esac
    case $program in gluvirt_*) tool=("$gluvirt" bench) ;; *) tool=(qemu-img bench) ;; esac
    # A short untimed run first: the ~10 s qemu-img spends in glfs_fini
    # leave the machine idle, and the first second of I/O after an idle
    # spell runs slower, whichever program does it (bench/README.md).
    run "$logs/warm-up.log" "$gluvirt" bench -f "$format" -s 64k -d 16 -c "$warm_up_count" "$uri"
    run "$log" "${tool[@]}" -f "$format" -s "$bs" -d "$depth" -c "$count" "$uri"
    from_seconds "$name/$program" "$log" "$count" "$bs"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "$reps"); do
    for c in "${cases[@]}"; do
        read -r name bs depth count <<<"$c"
        mapfile -t order < <(rotate "$rep" "${programs[@]}")
        echo "run-qcow2-bench.sh: round $rep/$reps: $name: ${order[*]}" >&2
        for program in "${order[@]}"; do
            measure "$program"
        done
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- the tables
# show_table STAT: one line per case, STAT (median or best) of each program.
show_table() {
    local stat=$1 name program
    local -A iops mibs
    printf '%-9s %19s %19s %19s %13s %10s' case "gluvirt qcow2" "qemu-img qcow2" \
        "gluvirt raw" gluvirt/qemu qcow2/raw
    [ "$qemu_raw" = 0 ] || printf ' %19s %15s' "qemu-img raw" "qemu qcow2/raw"
    echo
    printf '%-9s %19s %19s %19s\n' "" "IOPS   MiB/s" "IOPS   MiB/s" "IOPS   MiB/s"
    for c in "${cases[@]}"; do
        read -r name _ <<<"$c"
        for program in "${programs[@]}"; do
            iops[$program]=$("$stat" 1 "${results[$name/$program]}")
            mibs[$program]=$("$stat" 2 "${results[$name/$program]}")
        done
        printf '%-9s %10s %8s %10s %8s %10s %8s %13s %10s' "$name" \
            "${iops[gluvirt_qcow2]}" "${mibs[gluvirt_qcow2]}" \
            "${iops[qemu_qcow2]}" "${mibs[qemu_qcow2]}" \
            "${iops[gluvirt_raw]}" "${mibs[gluvirt_raw]}" \
            "$(ratio "${iops[gluvirt_qcow2]}" "${iops[qemu_qcow2]}")" \
            "$(ratio "${iops[gluvirt_qcow2]}" "${iops[gluvirt_raw]}")"
        [ "$qemu_raw" = 0 ] || printf ' %10s %8s %15s' "${iops[qemu_raw]}" "${mibs[qemu_raw]}" \
            "$(ratio "${iops[qemu_qcow2]}" "${iops[qemu_raw]}")"
        echo
    done
}

echo
echo "Sequential reads, $size_mib MiB images on $volume.  gluvirt/qemu: gluvirt bench against"
echo "qemu-img bench on the qcow2 image (above 1: gluvirt is faster); qcow2/raw: the qcow2"
echo "image against the raw one (1: reading through qcow2 costs nothing)."
echo
echo "Medians of $reps runs:"
show_table median
echo
echo "Best of $reps runs (on a busy machine, the run the other load disturbed least):"
show_table best
echo
echo "Logs of every run: $logs.  The images stay on the volume."
