#!/bin/bash
# ThreadSanitizer over the connection pool: builds tests/gluster/pool_stress.c
# together with every library source (lib/*.c) with -fsanitize=thread and
# runs it against the test volumes.  Only reports inside gluster's own,
# uninstrumented libraries are suppressed (tests/gluster/tsan.supp); any
# report that involves libgluvirt's code fails the test.
#
# Run from a configured build tree (it needs config.h and gluvirt/version.h),
# inside the test volumes' network namespace, like the other gluster tests.
# GLUVIRT_TSAN_TIMEOUT (seconds, default 300) bounds the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
builddir=${top_builddir:-$(pwd)}
. "$here/lib.sh"
require_gluster

command -v clang >/dev/null || skip_or_fail "clang not found: apt-get install clang"
[ -f "$builddir/config.h" ] || fail "no config.h in $builddir: run me from a configured build tree"
gfapi_cflags=$(pkg-config --cflags glusterfs-api) || fail "pkg-config does not know glusterfs-api"
gfapi_libs="$(pkg-config --libs glusterfs-api) $(pkg-config --libs zlib libzstd)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "pool-tsan: building pool_stress with ThreadSanitizer"
# shellcheck disable=SC2086 # pkg-config output is a word list
if ! clang -g -O1 -fsanitize=thread -fno-omit-frame-pointer \
        -D_GNU_SOURCE -DHAVE_CONFIG_H -DGLUVIRT_BUILDING_LIBRARY \
        -I"$builddir" -I"$builddir/include" -I"$srcdir/include" -I"$srcdir/lib" \
        $gfapi_cflags -o "$work/pool_stress" \
        "$srcdir/tests/gluster/pool_stress.c" "$srcdir"/lib/*.c \
        $gfapi_libs -lpthread >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    fail "the ThreadSanitizer build failed"
fi

echo "pool-tsan: running pool_stress against $GLUVIRT_TEST_HOST"
status=0
TSAN_OPTIONS="suppressions=$here/tsan.supp:halt_on_error=1:exitcode=66:second_deadlock_stack=1:print_suppressions=0" \
    timeout -k 5 "${GLUVIRT_TSAN_TIMEOUT:-300}" "$work/pool_stress" >"$work/run.log" 2>&1 ||
    status=$?
cat "$work/run.log"
if grep -qE '(WARNING|ERROR): ThreadSanitizer' "$work/run.log"; then
    fail "ThreadSanitizer reported a problem (exit status $status); the report is above"
fi
case $status in
0) echo "pool-tsan: no ThreadSanitizer report; pool_stress passed" ;;
66) fail "ThreadSanitizer stopped the program (exit 66) without a readable report" ;;
124 | 137) fail "pool_stress did not finish within ${GLUVIRT_TSAN_TIMEOUT:-300} s" ;;
*) fail "pool_stress failed (exit status $status)" ;;
esac
