# Shared by the gluster test scripts: find the test volumes or fail/skip.
# The scripts run inside the cluster's network namespace (tests/run-all.sh
# runs 'make check' under 'ip netns exec').

require_gluster() {
    if [ -z "${GLUVIRT_TEST_HOST:-}" ] && [ -f "${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}/env" ]; then
        # shellcheck disable=SC1091
        . "${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}/env"
    fi
    if [ -z "${GLUVIRT_TEST_HOST:-}" ]; then
        if [ "${GLUVIRT_REQUIRE_GLUSTER:-0}" = 1 ]; then
            echo "FAIL: no gluster test volumes (start them: tests/cluster/test-volumes.sh up)" >&2
            exit 1
        fi
        echo "SKIP: no gluster test volumes (start them: tests/cluster/test-volumes.sh up)"
        exit 77
    fi
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# What a script cannot do here (not root, a tool missing): a failure when
# GLUVIRT_REQUIRE_GLUSTER=1 (CI), else a skip.
skip_or_fail() {
    [ "${GLUVIRT_REQUIRE_GLUSTER:-0}" = 1 ] && fail "$*"
    echo "SKIP: $*"
    exit 77
}
