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

step "the suite under ASan+UBSan, valgrind on the pool and qcow2 suites"
run "sanitizers" tests/sanitizers.sh

step "fuzzers (ASan+UBSan)"
run "fuzzers" tests/fuzz/run-fuzzers.sh "${GLUVIRT_FUZZ_SECONDS:-60}"

step "ABI check"
run "check-abi" make check-abi

# distcheck proves the tarball builds, installs and tests out of tree; make
# check above already ran every test, so the tarball runs a cross-section
# that touches each kind of file it must carry (C suites, shell and Python
# tests, qemu-made images, examples), to keep CI short.
step "distcheck"
distcheck_tests="tests/headers/header_c99 tests/headers/header_cxx tests/unit/test_errors \
tests/unit/test_dlopen tests/unit/test_image_local tests/qcow2/matrix-local.sh \
tests/qcow2/test_qcow2_hostile tests/python/run-pytest.sh examples/run-examples.sh"
run "distcheck" ip netns exec "$GLUVIRT_NETNS" make distcheck TESTS="$distcheck_tests" \
    >distcheck.log 2>&1 || { tail -n 40 distcheck.log; false; }

step "summary"
passed=0 failed=0
for r in "${results[@]}"; do
    echo "$r"
    case $r in PASS*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
done
echo "(make check: $(sed -n 's/^# PASS: *//p' test-suite.log 2>/dev/null || echo '?') test programs passed)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
