#!/bin/bash
# Volfile server failover through the pool, on a private 2-node cluster:
# replica-2 volume "fo", node 1's glusterd stopped (its brick keeps serving),
# then pool_failover checks that [node 1, node 2] connects through node 2,
# that node 1 alone is refused at once and that node 2 alone works.
#
# The cluster lives in its own netns and base dir (GLUVIRT_FO_NETNS, default
# gluvirt-fo; GLUVIRT_FO_BASE, default /tmp/gluvirt-fo), so it does not touch
# the test volumes, and is removed on exit.  Needs root and glusterd: without
# them the test skips, or fails when GLUVIRT_REQUIRE_GLUSTER=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
builddir=${top_builddir:-$(pwd)}
prog=$builddir/tests/gluster/pool_failover
gc=$here/../cluster/gluster-cluster.sh

[ "$(id -u)" = 0 ] || skip_or_fail "pool-failover starts a gluster cluster in a network namespace: run as root"
command -v glusterd >/dev/null || skip_or_fail "glusterd is not installed"
[ -x "$prog" ] || skip_or_fail "$prog is not built (configure found no Criterion?)"

export GLUVIRT_NETNS=${GLUVIRT_FO_NETNS:-gluvirt-fo}
export GLUVIRT_CLUSTER_BASE=${GLUVIRT_FO_BASE:-/tmp/gluvirt-fo}
volume=fo
dead=127.1.1.1
live=127.1.1.2
work=$(mktemp -d)
cleanup() {
    "$gc" down >/dev/null 2>&1 || echo "pool-failover: '$gc down' failed; run it by hand" >&2
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

step() {
    local what=$1
    shift
    if ! timeout -k 5 "$@" >"$work/step.log" 2>&1; then
        cat "$work/step.log" >&2
        fail "$what"
    fi
}
start=$SECONDS
step "cannot start a 2-node cluster" 120 "$gc" up -f -n 2
step "cannot create volume $volume (replica 2)" 120 "$gc" volume "$volume" replica 2
step "cannot stop node 1's glusterd" 60 "$gc" kill-glusterd 1
echo "pool-failover: cluster ready, node 1's glusterd stopped ($((SECONDS - start)) s)"

status=0
timeout -k 5 60 ip netns exec "$GLUVIRT_NETNS" "$prog" "$volume" "$dead" "$live" \
    >"$work/out" 2>&1 || status=$?
cat "$work/out"
passed=$(grep -c '^ok:' "$work/out" || true)
failed=$(grep -c '^FAIL:' "$work/out" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "FAIL: pool_failover exited with status $status"
    failed=1
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    echo "FAIL: pool_failover ran no check"
    failed=1
fi
echo "pool-failover: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
