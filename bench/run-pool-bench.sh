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
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

check_root_and_tree

# The volume the benchmark will use, to check that it is started.
volume=gv0
prev=
for arg in "$@"; do
    case $prev in --volume) volume=$arg ;; esac
    case $arg in --volume=*) volume=${arg#--volume=} ;; esac
    prev=$arg
done

build bench/pool_bench
cluster_up "$volume"

# 'exec' enters the namespace with the cluster's env lines exported
# (GLUVIRT_TEST_HOST gives pool_bench its default host).
exec "$cluster" exec "$builddir/bench/pool_bench" "$@"
