#!/bin/bash
# run-pool-bench.sh - build bench/pool_bench, make sure the test volumes are
# up, and run the benchmark inside their network namespace.
#
#   bench/run-pool-bench.sh [pool_bench options...]     (as root)
#
# Options go to pool_bench unchanged (--host, --port, --volume, --images,
# --cycles, --cold-cycles, --bare-cycles; see bench/README.md).  The tree must
# be configured (scripts/build.sh does it).  When no test cluster answers,
# this starts one with tests/cluster/test-volumes.sh up; a running cluster is
# used as it is, never restarted.  GLUVIRT_BUILDDIR names another build
# directory; GLUVIRT_NETNS and GLUVIRT_CLUSTER_BASE as for the cluster scripts.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${GLUVIRT_BUILDDIR:-$top}
cluster=$top/tests/cluster/gluster-cluster.sh

die() {
    echo "run-pool-bench.sh: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || die "run me as root: the test volumes live in a network namespace"
[ -f "$builddir/Makefile" ] ||
    die "$builddir is not configured: run scripts/build.sh (or ./configure) first"

# The volume the benchmark will use, to check that it is started.
volume=gv0
prev=
for arg in "$@"; do
    case $prev in --volume) volume=$arg ;; esac
    case $arg in --volume=*) volume=${arg#--volume=} ;; esac
    prev=$arg
done

echo "run-pool-bench.sh: building bench/pool_bench" >&2
make -C "$builddir" -s bench/pool_bench

if ! "$cluster" gluster volume list >/dev/null 2>&1; then
    echo "run-pool-bench.sh: no test cluster answers; starting one" >&2
    "$top/tests/cluster/test-volumes.sh" up >/dev/null
fi
"$cluster" gluster volume info "$volume" 2>/dev/null | grep -q '^Status: Started' ||
    die "volume '$volume' is not started on the test cluster; make it with
  $cluster volume $volume
or restart the test volumes with tests/cluster/test-volumes.sh up"

# 'exec' enters the namespace with the cluster's env lines exported
# (GLUVIRT_TEST_HOST gives pool_bench its default host).
exec "$cluster" exec "$builddir/bench/pool_bench" "$@"
