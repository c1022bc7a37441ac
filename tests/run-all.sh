#!/bin/bash
# The whole test suite, from a fresh Debian 12 machine (run as root):
#   install packages, build, start the test gluster volumes, run 'make check'
#   inside the cluster's network namespace, check that nothing in it skipped
#   unless .ci/allowed-skips says why, the suite under the sanitizers, the
#   fuzzers, the ABI check and 'make distcheck', then stop the cluster.
# Each stage prints its result and time as it ends; the summary repeats them,
# names the test programs that failed and the skips nobody listed, and gives
# the total time (CI has a budget of GLUVIRT_CI_BUDGET seconds, default 1800).
# GLUVIRT_FUZZ_SECONDS (default 60) sets each fuzzer's run time.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
started=$SECONDS
budget=${GLUVIRT_CI_BUDGET:-1800}
asan_build=${GLUVIRT_ASAN_BUILD:-/tmp/gluvirt-asan}

step() { printf '\n=== %s ===\n' "$*"; }

# One line per stage for the summary: verdict, seconds, name.
results=()
failed=0
record() { # NAME STATUS SECONDS
    local verdict=PASS
    if [ "$2" -ne 0 ]; then
        verdict=FAIL
        failed=$((failed + 1))
    fi
    results+=("$(printf '%s %5d s  %s' "$verdict" "$3" "$1")")
    printf '=== %s: %s in %d s%s\n' "$1" "$verdict" "$3" \
        "$([ "$2" -eq 0 ] || echo " (exit status $2)")"
}

# run NAME COMMAND...: one stage; records it and returns its exit status.
run() {
    local name=$1 t0=$SECONDS status=0
    shift
    "$@" || status=$?
    record "$name" "$status" $((SECONDS - t0))
    return "$status"
}

# run_logged NAME LOG COMMAND...: a stage whose output goes to LOG; when it
# fails, the end of LOG is shown.
run_logged() {
    local name=$1 log=$2 status=0
    shift 2
    echo "(output in $top/$log)"
    run "$name" "$@" >"$log" 2>&1 || status=$?
    # run printed its verdict into the log: show it, after the end of the
    # log when the stage failed.
    if [ "$status" -ne 0 ]; then
        echo "--- last 60 lines of $log:"
        tail -n 61 "$log"
    else
        tail -n 1 "$log"
    fi
    return "$status"
}

# The test programs a 'make check' failed, from its test-suite.log: each
# one's section starts with "FAIL: NAME" (or ERROR, XPASS) underlined by '='.
failing_programs() { # TEST-SUITE-LOG
    awk 'prev ~ /^(FAIL|ERROR|XPASS): / && /^=+$/ && length($0) == length(prev) {
             print "    " prev
         }
         { prev = $0 }' "$1"
}

# "# TOTAL: 60  # PASS: 58 ..." of a test-suite.log, on one line.
suite_counts() { # TEST-SUITE-LOG
    awk '/^# [A-Z]+: +[0-9]+$/ { printf "%s%s %s", sep, $2, $3; sep = ", " }
         END { if (sep) print "" }' "$1" | tr -d ':'
}

summary() {
    local elapsed=$((SECONDS - started)) passed=$((${#results[@]} - failed)) log
    step "summary"
    printf '%s\n' "${results[@]}"
    for log in "$top/test-suite.log" "$asan_build/test-suite.log"; do
        [ -f "$log" ] || continue
        # Only logs of this run (the ASan tree may be an older one).
        [ "$(stat -c %Y "$log")" -ge "$run_start" ] || continue
        echo "make check in $(dirname "$log"): $(suite_counts "$log")"
        if grep -qE '^(FAIL|ERROR|XPASS): ' "$log"; then
            echo "  failing test programs (their logs are in $log):"
            failing_programs "$log"
        fi
    done
    if [ -s "$top/check-skips.log" ] && grep -q 'NOT LISTED' "$top/check-skips.log"; then
        echo "skips that .ci/allowed-skips does not list:"
        grep 'NOT LISTED' "$top/check-skips.log" | sed 's/^check-skips: /    /'
    fi
    echo "$passed passed, $failed failed"
    printf 'total time: %d min %02d s (budget %d min)\n' $((elapsed / 60)) $((elapsed % 60)) \
        $((budget / 60))
    if [ "$elapsed" -gt "$budget" ]; then
        echo "WARNING: CI took longer than its budget of $((budget / 60)) minutes"
    fi
}

# A stage that the rest cannot do without failed: summarise and stop.
give_up() {
    echo "run-all: $* failed; the later stages cannot run" >&2
    summary
    exit 1
}

run_start=$(date +%s)
rm -f check-skips.log

step "packages"
run "packages" scripts/install-deps.sh || give_up "installing packages"

step "build"
run "build" scripts/build.sh || give_up "the build"

step "gluster test volumes"
trap 'tests/cluster/test-volumes.sh down >/dev/null 2>&1 || true' EXIT
tests/cluster/test-volumes.sh down >/dev/null 2>&1 || true
run "gluster test volumes" tests/cluster/test-volumes.sh up || give_up "starting the test volumes"
# shellcheck disable=SC1091
. "${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}/env"
export GLUVIRT_NETNS GLUVIRT_TEST_HOST GLUVIRT_TEST_HOSTS GLUVIRT_TEST_SOCKET \
    GLUVIRT_CLUSTER_BASE GLUVIRT_TEST_VOLUMES
export GLUVIRT_REQUIRE_GLUSTER=1
# Criterion names a skipped test ("[SKIP] suite::test: reason") only when
# verbose; tests/check-skips.py reads those lines.  Exported, so the
# sanitizer pass's make check has them too.
export CRITERION_VERBOSITY_LEVEL=1

# Beside the plain make check, at the lowest priority: the instrumented
# build of the sanitizer pass and the fuzzers.  make check's tests spend
# much of their time waiting (gluster, glfs_fini, qemu-img), so these
# mostly fill idle time instead of adding theirs; their stages below
# collect the results.
step "beside make check: the ASan+UBSan build and the fuzzers (nice 19)"
nice -n 19 env GLUVIRT_ASAN_BUILD="$asan_build" GLUVIRT_SAN_PARTS=asan-build \
    tests/sanitizers.sh >sanitizers-build.log 2>&1 &
asan_build_pid=$!
fuzz_started=$SECONDS
nice -n 19 tests/fuzz/run-fuzzers.sh "${GLUVIRT_FUZZ_SECONDS:-60}" >fuzzers.log 2>&1 &
fuzz_pid=$!
echo "started: ASan+UBSan build (sanitizers-build.log), fuzzers (fuzzers.log)"

step "make check (in network namespace $GLUVIRT_NETNS)"
# The reliability test's load phase: 30 s here (60 by default; the heap is
# judged flat after its warm-up of about 13 s).
run "make check" ip netns exec "$GLUVIRT_NETNS" \
    env GLUVIRT_LOAD_SECONDS="${GLUVIRT_LOAD_SECONDS:-30}" make -j2 check || true
if [ -f test-suite.log ]; then
    suite_counts test-suite.log
    failing_programs test-suite.log
else
    echo "no test-suite.log: make check stopped before running the tests"
fi
echo "slowest tests (wall-clock seconds, two at a time):"
tests/slowest-tests.sh . 12

step "skips in make check (tests/check-skips.py, .ci/allowed-skips)"
# /usr/bin/python3, as the tests use: a python3 found on PATH may be a slow
# wrapper (pyenv's shims).  pipefail: the checker's status, not tee's.
check_skips() { /usr/bin/python3 tests/check-skips.py --label "make check" . | tee check-skips.log; }
run "no unlisted skips in make check" check_skips || true

step "fuzzers (ASan+UBSan; ran beside make check)"
# wait_for PID: its exit status, never stopping this script (set -e).
wait_for() { wait "$1"; }
fuzz_status=0
wait_for "$fuzz_pid" || fuzz_status=$?
cat fuzzers.log
record "fuzzers (beside make check, from its start)" "$fuzz_status" $((SECONDS - fuzz_started))

step "the suite under ASan+UBSan, valgrind on the pool and qcow2 suites"
asan_build_status=0
wait_for "$asan_build_pid" || asan_build_status=$?
grep -E '^sanitizers: built|FAIL' sanitizers-build.log || true
[ "$asan_build_status" -eq 0 ] || echo "(the ASan+UBSan build beside make check failed, see sanitizers-build.log: building again)"
run "sanitizers" env GLUVIRT_ASAN_BUILD="$asan_build" GLUVIRT_SAN_PREBUILT=1 tests/sanitizers.sh || true

step "ABI check"
run "check-abi" make check-abi || true

step "layers of lib/ (make check-layers)"
run "check-layers" make check-layers || true

# distcheck proves the tarball builds, installs and tests out of tree; make
# check above already ran every test, so the tarball runs a cross-section
# that touches each kind of file it must carry (C suites, shell and Python
# tests, qemu-made images, examples), to keep CI short.
step "distcheck"
distcheck_tests="tests/headers/header_c99 tests/headers/header_cxx tests/unit/test_errors \
tests/unit/test_dlopen tests/unit/test_image_local tests/unit/test_image_local_errors \
tests/qcow2/probe-and-policy.sh tests/python/run-pytest.sh examples/run-examples.sh"
run_logged "distcheck" distcheck.log \
    ip netns exec "$GLUVIRT_NETNS" make -j2 distcheck TESTS="$distcheck_tests" || true

summary
[ "$failed" -eq 0 ]
