#!/bin/bash
# The whole test suite, from a fresh Debian 12 machine (run as root):
#   install packages, build, start the test gluster volumes, run 'make check'
#   inside the cluster's network namespace, the fuzzers, the ABI check and
#   'make distcheck', then stop the cluster.
# GLUVIRT_FUZZ_SECONDS (default 60) sets each fuzzer's run time.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

step() { printf '\n=== %s ===\n' "$*"; }

step "packages"
scripts/install-deps.sh

step "build"
scripts/build.sh

step "gluster test volumes"
trap 'tests/cluster/test-volumes.sh down >/dev/null 2>&1 || true' EXIT
tests/cluster/test-volumes.sh down >/dev/null 2>&1 || true
tests/cluster/test-volumes.sh up
# shellcheck disable=SC1091
. "${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}/env"
export GLUVIRT_NETNS GLUVIRT_TEST_HOST GLUVIRT_TEST_HOSTS GLUVIRT_TEST_SOCKET \
    GLUVIRT_CLUSTER_BASE GLUVIRT_TEST_VOLUMES
export GLUVIRT_REQUIRE_GLUSTER=1

results=()
run() {
    local name=$1
    shift
    if "$@"; then results+=("PASS $name"); else results+=("FAIL $name"); fi
}

step "make check (in network namespace $GLUVIRT_NETNS)"
run "make check" ip netns exec "$GLUVIRT_NETNS" make -j2 check
[ -f test-suite.log ] && grep -E '^(# |FAIL|ERROR)' test-suite.log || true

step "fuzzers (ASan+UBSan)"
run "fuzzers" tests/fuzz/run-fuzzers.sh "${GLUVIRT_FUZZ_SECONDS:-60}"

step "ABI check"
run "check-abi" make check-abi

step "distcheck"
run "distcheck" ip netns exec "$GLUVIRT_NETNS" make distcheck >distcheck.log 2>&1 \
    || { tail -n 40 distcheck.log; false; }

step "summary"
passed=0 failed=0
for r in "${results[@]}"; do
    echo "$r"
    case $r in PASS*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
done
echo "(make check: $(sed -n 's/^# PASS: *//p' test-suite.log 2>/dev/null || echo '?') test programs passed)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
