#!/bin/bash
# Reliability on a real three-node trusted storage pool, started here and
# removed at the end (tests/cluster/three-node.sh; netns GLUVIRT3_NETNS,
# default gluvirt3, state under GLUVIRT3_BASE, default /tmp/gluvirt3):
#
#   faults brick-kill rep3, vmstore        a brick killed while writing, each
#                                          brick in turn while reading (sync
#                                          and callback workers); no error,
#                                          data and bricks match the model;
#                                          a raw image on rep3, a qcow2 one
#                                          on vmstore (qemu-img check clean
#                                          afterwards)
#   faults all-bricks-down rep3 kill       every brick killed: errors at once,
#                                          I/O again once they are back
#   faults all-bricks-down vmstore stop    every brick hung (SIGSTOP): errors
#                                          within three ping timeouts (a read
#                                          tries each replica), no hang
#   faults glusterd-down rep3              open through the next volfile server
#   faults glusterd-restart vmstore        each glusterd restarted under an
#                                          idle pooled connection
#   load                                   8 threads x 4 images x depth 32 for
#                                          GLUVIRT_LOAD_SECONDS (default 60);
#                                          the heap in use (the allocator's
#                                          own count) flat after the warm-up
#
# Every fault scenario starts once heal info from a fresh client shows all
# bricks connected with nothing to heal ('three-node.sh settle'), and so
# does each brick kill after the first.  Each phase prints its latency
# (p50, p99, max, the slowest requests with their kind, size, image and
# time); no request may exceed 3 ping timeouts plus 10 times the phase's
# median (support.h says why).
#
# That the memory check catches a leak is shown by hand (a run costs 30-50
# s, too much to repeat in every CI pass): with the pool up,
#   GLUVIRT_TEST_LEAK_PER_REQUEST=1024 ip netns exec NETNS tests/reliability/load 20
# must print "FAIL: load: heap in use flat after the warm-up".
#
# Ends with the figures: faults survived, bytes verified, latency, heap and
# RSS, durations.
# Needs root and glusterd: without them it skips, or fails when
# GLUVIRT_REQUIRE_GLUSTER=1.  GLUVIRT_TEST_SEED replays a run.
# GLUVIRT_RELIABILITY_LEAVE_OUT names faults (as above: "brick-kill vmstore")
# to leave out, separated by commas; the summary lists them.
# tests/sanitizers.sh leaves some faults out under ASan (it says which and
# why); the plain pass runs them all.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
builddir=${top_builddir:-$(pwd)}
tool=$srcdir/tests/cluster/three-node.sh
faults=$builddir/tests/reliability/faults
load=$builddir/tests/reliability/load

# shellcheck source=tests/gluster/lib.sh
. "$srcdir/tests/gluster/lib.sh"
[ "$(id -u)" = 0 ] || skip_or_fail "the reliability tests start a gluster pool in a network namespace: run as root"
command -v glusterd >/dev/null || skip_or_fail "glusterd is not installed"
if [ ! -x "$faults" ] || [ ! -x "$load" ]; then
    skip_or_fail "$faults and $load are not built"
fi

export GLUVIRT3_NETNS=${GLUVIRT3_NETNS:-gluvirt3}
export GLUVIRT3_BASE=${GLUVIRT3_BASE:-/tmp/gluvirt3}
export GLUVIRT3_TOOL=$tool
load_seconds=${GLUVIRT_LOAD_SECONDS:-60}
work=$(mktemp -d)
cleanup() {
    "$tool" down >/dev/null 2>&1 || echo "reliability: '$tool down' failed; run it by hand" >&2
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

started=$SECONDS
if ! timeout -k 5 180 "$tool" up >"$work/up.log" 2>&1; then
    cat "$work/up.log" >&2
    fail "cannot start the three-node pool"
fi
eval "$("$tool" env)"
echo "reliability: three-node pool up in $((SECONDS - started)) s (netns $GLUVIRT3_NETNS, ping-timeout $GLUVIRT3_PING_TIMEOUT s)"

steps=()
failed=0
leave_out=",${GLUVIRT_RELIABILITY_LEAVE_OUT:-},"
# step NAME SECONDS PROGRAM ARGS...: run a checker inside the namespace.
step() {
    local name=$1 limit=$2 t0=$SECONDS status=0
    shift 2
    if [ "$1" = "$faults" ] && [[ $leave_out == *",${*:2},"* ]]; then
        steps+=("LEFT OUT $name (GLUVIRT_RELIABILITY_LEAVE_OUT)")
        return
    fi
    echo
    echo "=== $name"
    timeout -k 10 "$limit" ip netns exec "$GLUVIRT3_NETNS" "$@" >"$work/step.log" 2>&1 ||
        status=$?
    cat "$work/step.log"
    cat "$work/step.log" >>"$work/all.log"
    case $status in
        0) steps+=("PASS $name ($((SECONDS - t0)) s)") ;;
        124 | 137)
            steps+=("FAIL $name: did not finish within $limit s")
            failed=$((failed + 1))
            ;;
        141)
            steps+=("FAIL $name: killed by SIGPIPE (a write to the socket of a brick that died)")
            failed=$((failed + 1))
            ;;
        *)
            steps+=("FAIL $name (exit $status, $((SECONDS - t0)) s)")
            failed=$((failed + 1))
            ;;
    esac
    # Whatever the step left behind, the next one starts from a whole pool.
    if [ "$status" -ne 0 ] && ! timeout -k 5 120 "$tool" repair >"$work/repair.log" 2>&1; then
        cat "$work/repair.log"
        steps+=("FAIL repair after $name")
        failed=$((failed + 1))
    fi
}

step "brick killed while writing and reading (rep3)" 120 "$faults" brick-kill rep3
step "brick killed while writing and reading (vmstore, sharded)" 120 "$faults" brick-kill vmstore
step "every brick killed (rep3)" 90 "$faults" all-bricks-down rep3 kill
step "every brick hung (vmstore)" 90 "$faults" all-bricks-down vmstore stop
step "glusterd down: next volfile server (rep3)" 90 "$faults" glusterd-down rep3
step "glusterd restarts under an idle pooled connection (vmstore)" 120 "$faults" glusterd-restart vmstore
step "load for $load_seconds s" $((load_seconds + 120)) "$load" "$load_seconds"

# figure NAME: the first number of every "figure: NAME = N ..." line, summed.
figure_sum() {
    sed -n "s/^figure: $1 = \\([0-9]*\\).*/\\1/p" "$work/all.log" | awk '{ s += $1 } END { printf "%.0f\n", s }'
}
echo
echo "=== summary"
printf '%s\n' "${steps[@]}"
echo "faults survived: $(figure_sum faults_survived)"
echo "bytes verified against the model: $(figure_sum bytes_verified)"
grep -E '^figure: (load_|latency|all_bricks_down|failover_open|pool_hits)' "$work/all.log" | sed 's/^figure: /  /' || true
echo "reliability: $((SECONDS - started)) s in all, $failed failed step(s)"
[ "$failed" -eq 0 ]
