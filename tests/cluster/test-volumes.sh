#!/bin/bash
# test-volumes.sh - the libgluvirt test cluster: one GlusterFS node and three
# single-brick volumes gv0 gv1 gv2 (and gvsecure, which refuses clients on
# unprivileged ports), in netns GLUVIRT_NETNS (default gluvirt).
#
#   tests/cluster/test-volumes.sh up     (re)create it; prints the env lines,
#                                        e.g.  eval "$(tests/cluster/test-volumes.sh up)"
#   tests/cluster/test-volumes.sh down   tear it down (exit 0 if nothing is up)
#
# 'up' first tears down any earlier cluster with the same netns/base dir.
# Run tests inside the netns: tests/cluster/gluster-cluster.sh exec CMD...
#
# The volumes are made by scripts/virt-store-setup.sh, the script users run
# on their servers, so every test run exercises it.  Test volumes skip the
# virt option group and the qemu owner (the tests compare tuned and untuned
# volumes themselves): world-writable brick roots, server.allow-insecure on
# (off for gvsecure), network.ping-timeout 5.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
GC="$here/gluster-cluster.sh"
SETUP="$here/../../scripts/virt-store-setup.sh"
VOLUMES=(gv0 gv1 gv2 gvsecure)

# The -S sockets of this cluster's brick processes, added to BASE/sockets so
# that 'down' removes them even when the processes are gone by then (what
# gluster-cluster.sh records for the volumes it makes itself).
record_sockets() {
    local pid arg prev
    for pid in $(pgrep -f -- "$GLUVIRT_CLUSTER_BASE/" || true); do
        prev=''
        while IFS= read -r -d '' arg; do
            if [ "$prev" = -S ]; then
                case $arg in /var/run/gluster/*.socket | /run/gluster/*.socket) echo "$arg" ;; esac
            fi
            prev=$arg
        done 2>/dev/null <"/proc/$pid/cmdline" || true
    done >>"$GLUVIRT_CLUSTER_BASE/sockets"
    sort -u -o "$GLUVIRT_CLUSTER_BASE/sockets" "$GLUVIRT_CLUSTER_BASE/sockets"
}

# BASE/env with GLUVIRT_TEST_VOLUMES listing BASE/volumes.
update_env() {
    local env=$GLUVIRT_CLUSTER_BASE/env vols
    vols=$(tr '\n' ' ' <"$GLUVIRT_CLUSTER_BASE/volumes")
    vols=${vols% }
    sed "s/^export GLUVIRT_TEST_VOLUMES=.*/export GLUVIRT_TEST_VOLUMES='$vols'/" "$env" >"$env.tmp"
    mv -f "$env.tmp" "$env"
}

case ${1:-} in
    up)
        "$GC" up -f -n 1 >/dev/null
        eval "$("$GC" env)"
        brick_dir=$GLUVIRT_CLUSTER_BASE/n1/bricks
        for v in "${VOLUMES[@]}"; do
            insecure=on
            # gvsecure refuses clients on ports above 1024: the pool's EACCES
            # test (tests/gluster/test_pool.c) binds such a port on purpose.
            [ "$v" = gvsecure ] && insecure=off
            t0=$(date +%s.%N)
            ip netns exec "$GLUVIRT_NETNS" "$SETUP" --quiet --no-virt-group --owner none \
                --allow-insecure "$insecure" --set network.ping-timeout=5 \
                --brick-mode 1777 --force --wait 30 \
                --gluster-opt "--glusterd-sock=$GLUVIRT_TEST_SOCKET" \
                --gluster-opt "--log-file=$GLUVIRT_CLUSTER_BASE/n1/log/cli.log" \
                "$v" "$GLUVIRT_TEST_HOST:$brick_dir/$v-b1" >/dev/null
            echo "$v" >>"$GLUVIRT_CLUSTER_BASE/volumes"
            awk -v v="$v" -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {
                printf "test-volumes.sh: volume %s started, bricks online after %.2f s\n", v, b - a }' >&2
        done
        record_sockets
        update_env
        "$GC" env
        ;;
    down)
        "$GC" down
        ;;
    *)
        echo "usage: $0 up|down" >&2
        exit 2
        ;;
esac
