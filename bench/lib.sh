# bench/lib.sh - what the bench/run-*-bench.sh scripts share: where things
# are, the checks before a run, the test cluster, and running and timing
# commands inside its network namespace.  Sourced by a script that set
# 'set -euo pipefail'; bench_name is the script's name in its messages.
# shellcheck shell=bash

bench_name=${0##*/}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
builddir=${GLUVIRT_BUILDDIR:-$top}
cluster=$top/tests/cluster/gluster-cluster.sh
# shellcheck disable=SC2034 # for the scripts that source this
gluvirt=$builddir/tools/gluvirt

die() {
    echo "$bench_name: $*" >&2
    exit 1
}

# check_reps N: --reps takes a whole number above 0.
check_reps() {
    case $1 in '' | *[!0-9]* | 0) die "--reps wants a whole number above 0, not '$1'" ;; esac
}

# check_root_and_tree: the test volumes live in a network namespace that only
# root enters, and make needs a configured build directory.
check_root_and_tree() {
    [ "$(id -u)" = 0 ] || die "run me as root: the test volumes live in a network namespace"
    [ -f "$builddir/Makefile" ] ||
        die "$builddir is not configured: run scripts/build.sh (or ./configure) first"
}

# build TARGET: make TARGET of the build directory, quietly.
build() {
    echo "$bench_name: building $1" >&2
    make -C "$builddir" -s "$1"
}

# cluster_up VOLUME: start the test cluster when none answers (a running one
# is used as it is, never restarted); stop unless VOLUME is started on it.
cluster_up() {
    if ! "$cluster" gluster volume list >/dev/null 2>&1; then
        echo "$bench_name: no test cluster answers; starting one" >&2
        "$top/tests/cluster/test-volumes.sh" up >/dev/null
    fi
    "$cluster" gluster volume info "$1" 2>/dev/null | grep -q '^Status: Started' ||
        die "volume '$1' is not started on the test cluster; make it with
  $cluster volume $1
or restart the test volumes with tests/cluster/test-volumes.sh up"
}

# cluster_env: the cluster's variables (GLUVIRT_TEST_HOST, ...) here, and
# host, the address of its first server.
cluster_env() {
    eval "$("$cluster" env)"
    # shellcheck disable=SC2034 # for the scripts that source this
    host=${GLUVIRT_TEST_HOST:-127.1.1.1}
}

in_netns() { "$cluster" exec "$@"; }

# run LOG CMD...: run CMD inside the namespace, its standard output in LOG
# and its standard error (gluster's log lines, fio's notes) in LOG.err; on
# failure show the end of both and stop.
run() {
    local log=$1
    shift
    if ! in_netns "$@" >"$log" 2>"$log.err"; then
        echo "$bench_name: failed: $*" >&2
        tail -n 20 "$log" "$log.err" >&2
        die "the whole output is in $log and $log.err"
    fi
}

# seconds LOG: the time of a qemu-img bench style run.
seconds() {
    sed -n 's/^Run completed in \([0-9.]*\) seconds\.$/\1/p' "$1" | tail -n 1 | grep . ||
        die "no 'Run completed' line in $1"
}

# Each measurement adds "IOPS MiB/s;" to results[CASE/PROGRAM].
declare -A results
record() { results[$1]="${results[$1]:-}$2;"; }

# from_seconds KEY LOG COUNT BYTES: record the figures of a qemu-img bench
# style run of COUNT requests of BYTES each.
from_seconds() {
    local s
    s=$(seconds "$2")
    record "$1" "$(awk -v n="$3" -v b="$4" -v s="$s" \
        'BEGIN { if (s <= 0) s = 0.0005; printf "%.1f %.1f", n / s, n * b / s / 1048576 }')"
}

# median FIELD ENTRIES: the median of field 1 (IOPS) or 2 (MiB/s).
median() {
    tr ';' '\n' <<<"$2" | awk -v f="$1" 'NF { print $f }' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", v[int((NR + 1) / 2)] }'
}

# best FIELD ENTRIES: the highest figure.
best() {
    tr ';' '\n' <<<"$2" | awk -v f="$1" 'NF { print $f }' | sort -g | tail -n 1
}

# ratio A B: A / B as "1.23x" (0.00x when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }

# rotate REP ITEMS...: ITEMS, one a line, starting with another one in each
# round REP (1, 2, ...), so that no program is always first or last.
rotate() {
    local rep=$1
    shift
    local items=("$@")
    local by=$(((rep - 1) % ${#items[@]}))
    printf '%s\n' "${items[@]:by}" "${items[@]:0:by}"
}

# from_fio KEY LOG [read|write]: IOPS and bandwidth of fio's JSON report, of
# its reads (the default) or its writes.
from_fio() {
    local figures
    figures=$(/usr/bin/python3 -c '
import json, sys
side = json.load(open(sys.argv[1]))["jobs"][0][sys.argv[2]]
print("%.1f %.1f" % (side["iops"], side["bw_bytes"] / 1048576))' "$2" "${3:-read}") ||
        die "cannot read fio's JSON report in $2"
    record "$1" "$figures"
}

# check_fio: fio with the gfapi_async engine, and python3 to read its report.
check_fio() {
    command -v fio >/dev/null && [ -x /usr/bin/python3 ] ||
        die "fio or python3 is missing (apt-get install -y fio python3)"
    fio --enghelp=gfapi_async >/dev/null 2>&1 ||
        die "this fio has no gfapi_async engine (Debian's fio package has it)"
}

# make_random_images LOGS MIB QCOW2_URI RAW_URI: MIB MiB of random bytes,
# written by qemu-img convert as a qcow2 image (64 KiB clusters, every one
# allocated) and as a raw one; then checked with gluvirt: no unallocated
# range in the qcow2 image, and the same bytes in both.
make_random_images() {
    local logs=$1 mib=$2 qcow2_uri=$3 raw_uri=$4 qcow2_pid raw_pid
    echo "$bench_name: making $qcow2_uri and $raw_uri ($mib MiB of random bytes;" \
        "qemu-img waits ~10 s for glfs_fini); logs in $logs" >&2
    head -c $((mib << 20)) /dev/urandom >"$logs/source.raw"
    # The two conversions run side by side: each spends most of its time waiting.
    in_netns qemu-img convert -f raw -O qcow2 "$logs/source.raw" "$qcow2_uri" \
        >"$logs/make-qcow2.log" 2>&1 &
    qcow2_pid=$!
    in_netns qemu-img convert -f raw -O raw "$logs/source.raw" "$raw_uri" \
        >"$logs/make-raw.log" 2>&1 &
    raw_pid=$!
    wait "$qcow2_pid" || die "qemu-img convert -O qcow2 failed: $(cat "$logs/make-qcow2.log")"
    wait "$raw_pid" || die "qemu-img convert -O raw failed: $(cat "$logs/make-raw.log")"
    rm -f "$logs/source.raw"
    run "$logs/map.log" "$gluvirt" map -f qcow2 --output=json "$qcow2_uri"
    if ! grep -q '"data": true' "$logs/map.log" || grep -q '"data": false' "$logs/map.log"; then
        die "the qcow2 image is not fully allocated: $(head -n 5 "$logs/map.log")"
    fi
    # shellcheck disable=SC2016 # expanded by the inner shell
    in_netns bash -c '"$1" convert -f qcow2 -O raw "$2" - | cmp - <("$1" convert -f raw -O raw "$3" -)' \
        sh "$gluvirt" "$qcow2_uri" "$raw_uri" >"$logs/cmp.log" 2>&1 ||
        die "the qcow2 and raw images do not read the same: $(cat "$logs/cmp.log")"
    echo "$bench_name: both images read back the same $mib MiB" >&2
}

# load_average: the first three fields of /proc/loadavg.
load_average() { cut -d' ' -f1-3 /proc/loadavg; }

# parse_size_options USAGE HELP_LAST_LINE ARGS...: the options of the scripts
# that take --volume V, --size MIB and --reps N (and -h, which prints the
# script's header comment up to line HELP_LAST_LINE).  Sets volume,
# size_mib, reps (from the defaults already set) and scale
# (GLUVIRT_BENCH_SCALE, default 1), each checked.
parse_size_options() {
    local usage=$1 help_end=$2
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
        --volume) [ $# -ge 2 ] || die "$usage"; volume=$2; shift 2 ;;
        --volume=*) volume=${1#--volume=}; shift ;;
        --size) [ $# -ge 2 ] || die "$usage"; size_mib=$2; shift 2 ;;
        --size=*) size_mib=${1#--size=}; shift ;;
        --reps) [ $# -ge 2 ] || die "$usage"; reps=$2; shift 2 ;;
        --reps=*) reps=${1#--reps=}; shift ;;
        -h | --help) sed -n "2,${help_end}s/^# \{0,1\}//p" "$0"; exit 0 ;;
        *) echo "$usage" >&2; exit 2 ;;
        esac
    done
    check_reps "$reps"
    case $size_mib in '' | *[!0-9]* | 0) die "--size wants MiB, a whole number above 0, not '$size_mib'" ;; esac
    scale=${GLUVIRT_BENCH_SCALE:-1}
    case $scale in '' | *[!0-9]* | 0) die "GLUVIRT_BENCH_SCALE wants a whole number above 0, not '$scale'" ;; esac
}

# start_bench VOLUME: root, a configured tree and qemu-img checked,
# tools/gluvirt built, the test cluster up with VOLUME started, and its
# variables set (cluster_env).
start_bench() {
    check_root_and_tree
    command -v qemu-img >/dev/null || die "qemu-img is missing (apt-get install -y qemu-utils)"
    build tools/gluvirt
    cluster_up "$1"
    cluster_env
}
