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
