# shellcheck shell=bash disable=SC2154 # $work comes from the script that sources this
# Shared by the image creation and volume check scripts (tests/create/),
# on top of tests/gluster/lib.sh.

# fuse_run VOLUME SCRIPT: run 'sh -c SCRIPT' in the root of VOLUME, mounted
# through FUSE in a private mount namespace of its own (so the mount never
# outlives the script and no one else sees it).  qemu-img reads images there
# in milliseconds, where on gluster:// URIs each call waits 10 s in
# glfs_fini.  Needs $work (a scratch directory); fuse.log goes there.
fuse_run() {
    local volume=$1 script=$2
    mkdir -p "$work/mnt-$volume"
    # shellcheck disable=SC2016 # expanded by the inner shell
    unshare -m --propagation private sh -c '
        mount -t glusterfs -o log-file="$3/fuse-$2.log" "$1:/$2" "$3/mnt-$2" || exit 99
        cd "$3/mnt-$2" || exit 99
        sh -c "$4"
        rc=$?
        cd / && umount "$3/mnt-$2"
        exit $rc' sh "$GLUVIRT_TEST_HOST" "$volume" "$work" "$script"
}

# The gluster CLI of the test cluster's node 1 (tests run inside its netns).
gluster_cli() {
    gluster --mode=script --glusterd-sock="$GLUVIRT_TEST_SOCKET" \
        --log-file="$GLUVIRT_CLUSTER_BASE/n1/log/cli.log" "$@"
}

elapsed_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
