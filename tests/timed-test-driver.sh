#!/bin/sh
# LOG_DRIVER for every test: runs automake's test-driver unchanged and
# writes the test's wall-clock seconds beside its .trs file (NAME.time), so
# CI can name the tests that cost it most (tests/slowest-tests.sh).
# Usage is test-driver's own: ... --trs-file FILE ... -- PROGRAM ARGS
driver=$(dirname "$0")/../build-aux/test-driver
trs=
prev=
for arg in "$@"; do
    [ "$prev" = --trs-file ] && trs=$arg
    [ "$arg" = -- ] && break
    prev=$arg
done
start=$(date +%s)
status=0
"${SHELL:-/bin/sh}" "$driver" "$@" || status=$?
if [ -n "$trs" ]; then
    echo $(($(date +%s) - start)) >"${trs%.trs}.time"
fi
exit "$status"
