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
set -euo pipefail

GC="$(dirname "$0")/gluster-cluster.sh"

case ${1:-} in
    up)
        "$GC" up -f -n 1 >/dev/null
        for v in gv0 gv1 gv2 gvsecure; do
            "$GC" volume "$v"
        done
        # gvsecure refuses clients on ports above 1024: the pool's EACCES test
        # (tests/gluster/test_pool.c) binds such a port on purpose.
        "$GC" gluster volume set gvsecure server.allow-insecure off >/dev/null
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
