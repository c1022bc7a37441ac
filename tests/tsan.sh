#!/bin/bash
# ThreadSanitizer over the library's concurrent surface.  Builds every
# library source (lib/*/*.c) once with -fsanitize=thread and links two stress
# programs with it (tests/tsan/):
#
#   aio_stress   callback I/O in both completion modes (dispatcher thread,
#                pollable fd), merged sequential reads, the read-ahead, raw
#                writes, flushes and write-zeroes from many threads and from
#                callbacks, open/close with requests in flight; on local
#                files and on the test volume gv2, raw and qcow2, every byte
#                checked (aio_stress.c, its phases, with aio_stress_*.c);
#   pool_stress  the connection pool: connect/release from many threads, the
#                reaper, pool_free racing the last release (gluster only).
#
# Only reports inside gluster's own, uninstrumented libraries are suppressed
# (tests/tsan/tsan.supp); any report that involves libgluvirt's code fails
# the test.  The one ordering gfapi guarantees and ThreadSanitizer cannot
# see, an async transfer's start before its callback, is told to it by
# tests/tsan/gfapi_order.c, linked into both programs.
#
# Run from a configured build tree (it needs config.h and gluvirt/version.h),
# inside the test volumes' network namespace, like the other gluster tests.
# Without the volumes the local half runs and the test then skips (fails
# when GLUVIRT_REQUIRE_GLUSTER=1).  GLUVIRT_TSAN_TIMEOUT (seconds, default
# 900) bounds each program's run: aio_stress takes 30-100 s on an idle
# 2-core machine and went past 300 s beside other tests under a load
# average of 28 (ThreadSanitizer slows every memory access).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/.." && pwd)
builddir=${top_builddir:-$(pwd)}
timeout_s=${GLUVIRT_TSAN_TIMEOUT:-900}
# shellcheck source=tests/gluster/lib.sh
. "$here/gluster/lib.sh"
started=$SECONDS

if [ -z "${GLUVIRT_TEST_HOST:-}" ] && [ -f "${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}/env" ]; then
    # shellcheck disable=SC1091
    . "${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}/env"
fi
if [ -z "${GLUVIRT_TEST_HOST:-}" ] && [ "${GLUVIRT_REQUIRE_GLUSTER:-0}" = 1 ]; then
    fail "no gluster test volumes (start them: tests/cluster/test-volumes.sh up)"
fi

command -v clang >/dev/null || skip_or_fail "clang not found: apt-get install clang"
command -v qemu-img >/dev/null || skip_or_fail "qemu-img not found: apt-get install qemu-utils"
[ -f "$builddir/config.h" ] || fail "no config.h in $builddir: run me from a configured build tree"
gfapi_cflags=$(pkg-config --cflags glusterfs-api) || fail "pkg-config does not know glusterfs-api"
gfapi_libs="$(pkg-config --libs glusterfs-api) $(pkg-config --libs zlib libzstd)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/obj" "$work/images"

tsan_cc() {
    # shellcheck disable=SC2086 # pkg-config output is a word list
    clang -g -O1 -fsanitize=thread -fno-omit-frame-pointer \
        -D_GNU_SOURCE -DHAVE_CONFIG_H -DGLUVIRT_BUILDING_LIBRARY \
        -I"$builddir" -I"$builddir/include" -I"$srcdir/include" -I"$srcdir/lib" \
        $gfapi_cflags "$@"
}
export -f tsan_cc
export builddir srcdir gfapi_cflags

echo "tsan: building the library and the stress programs with ThreadSanitizer"
# The library once, two compilers at a time; then the programs against it.
# shellcheck disable=SC2016 # the inner shell expands $1 and $2
if ! printf '%s\n' "$srcdir"/lib/*/*.c |
        xargs -P 2 -I{} bash -c 'tsan_cc -c -o "$1/obj/$(basename "$2" .c).o" "$2"' _ "$work" {} \
        >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    fail "the ThreadSanitizer build of the library failed"
fi
for program in aio_stress pool_stress; do
    sources=("$here/tsan/$program.c")
    if [ "$program" = aio_stress ]; then
        sources+=("$here/tsan/aio_stress_support.c" "$here/tsan/aio_stress_targets.c"
            "$here/tsan/aio_stress_readers.c")
    fi
    # shellcheck disable=SC2086 # pkg-config output is a word list
    if ! tsan_cc -o "$work/$program" "${sources[@]}" "$here/tsan/gfapi_order.c" \
            "$work"/obj/*.o $gfapi_libs -ldl -lpthread >"$work/build.log" 2>&1; then
        cat "$work/build.log" >&2
        fail "the ThreadSanitizer build of $program failed"
    fi
done
echo "tsan: built in $((SECONDS - started)) s"

# Runs one program; fails the test on any report, a failed check or a hang.
run_tsan() {
    local program=$1 status=0 begin=$SECONDS
    shift
    echo "tsan: running $program"
    TSAN_OPTIONS="suppressions=$here/tsan/tsan.supp:halt_on_error=1:exitcode=66:second_deadlock_stack=1:print_suppressions=0" \
        timeout -k 5 "$timeout_s" "$work/$program" "$@" >"$work/run.log" 2>&1 || status=$?
    cat "$work/run.log"
    if grep -qE '(WARNING|ERROR): ThreadSanitizer' "$work/run.log"; then
        fail "ThreadSanitizer reported a problem in $program (exit status $status); the report is above"
    fi
    case $status in
    0) echo "tsan: $program: no ThreadSanitizer report, every check passed ($((SECONDS - begin)) s)" ;;
    66) fail "ThreadSanitizer stopped $program (exit 66) without a readable report" ;;
    124 | 137) fail "$program did not finish within $timeout_s s" ;;
    *) fail "$program failed (exit status $status)" ;;
    esac
}

if [ -n "${GLUVIRT_TEST_HOST:-}" ]; then
    run_tsan aio_stress "$work/images"
    run_tsan pool_stress
    echo "tsan: done in $((SECONDS - started)) s"
else
    GLUVIRT_TEST_HOST='' run_tsan aio_stress "$work/images"
    echo "tsan: local files done in $((SECONDS - started)) s"
    skip_or_fail "no gluster test volumes: the gluster half did not run (start them: tests/cluster/test-volumes.sh up)"
fi
