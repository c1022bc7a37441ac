#!/bin/bash
# A one-shot client does not pay for glfs_fini: 'gluvirt connect' reaches a
# real volume and exits without waiting for the ~10 s that glfs_fini takes
# here (qemu-img waits for it).  The bound checked is generous (6 s, room
# for a busy machine): it fails only if the library waits for glfs_fini on
# the caller's thread.
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
require_gluster
: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"

start=$(date +%s%N)
out=$("$GLUVIRT" connect -v "gluster://$GLUVIRT_TEST_HOST/gv0/any" 2>&1) || fail "gluvirt connect: $out"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$out"
echo "gluvirt connect took $ms ms"
[ "$ms" -lt 6000 ] || fail "gluvirt connect took $ms ms: it waited for glfs_fini"
grep -q 'inits=1 failures=0' <<<"$out" || fail "unexpected pool counters: $out"

# Failures come back as messages naming the problem, with exit status 1.
if out=$("$GLUVIRT" connect "gluster://$GLUVIRT_TEST_HOST/no-such-volume/x" 2>&1); then
    fail "connect to a missing volume succeeded"
fi
grep -q "volume 'no-such-volume' does not exist on $GLUVIRT_TEST_HOST:24007" <<<"$out" || fail "message: $out"
if out=$("$GLUVIRT" connect "gluster://127.1.1.250/gv0/x" 2>&1); then
    fail "connect to a dead server succeeded"
fi
grep -q "cannot reach glusterd at 127.1.1.250:24007" <<<"$out" || fail "message: $out"
echo "connect-exit: 3 passed, 0 failed"
