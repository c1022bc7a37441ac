#!/bin/bash
# An image whose volume is stopped under it: reads fail with an error in
# bounded time (sync and callback), close returns; after the volume starts
# again, a new open reads the data.  Uses its own volume, gvgone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
require_gluster
: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"
cluster=$here/../cluster/gluster-cluster.sh
checker=${top_builddir:-.}/tests/gluster/volume_gone
host=$GLUVIRT_TEST_HOST
target="gluster://$host/gvgone/gone.raw"
work=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; rm -rf "$work"; "$cluster" gluster volume start gvgone force >/dev/null 2>&1 || true' EXIT

if ! "$cluster" gluster volume info gvgone >/dev/null 2>&1; then
    "$cluster" volume gvgone >/dev/null
fi
qemu-img create -q -f raw "$target" 1M 2>/dev/null || fail "qemu-img create $target"
qemu-io -f raw -c 'write -P 0x77 0 128k' "$target" >/dev/null 2>&1 || fail "qemu-io write"

mkfifo "$work/go"
"$checker" open "$target" < "$work/go" > "$work/out" 2>&1 &
pid=$!
exec 3> "$work/go"
for _ in $(seq 100); do grep -q '^OK' "$work/out" && break; sleep 0.1; done
grep -q '^OK' "$work/out" || fail "the checker could not read the image: $(cat "$work/out")"

"$cluster" gluster volume stop gvgone force >/dev/null
echo go >&3
exec 3>&-
status=0
timeout 120 tail --pid="$pid" -f /dev/null || fail "the checker hung"
wait "$pid" || status=$?
cat "$work/out"
[ "$status" -eq 0 ] || fail "the checker failed"

"$cluster" gluster volume start gvgone force >/dev/null
"$GLUVIRT" convert -f raw -O raw "$target" "$work/back.raw" || fail "convert after restart"
out=$(head -c 131072 "$work/back.raw" | od -v -A n -t x1 | tr ' ' '\n' | sort -u | tr -d '\n')
[ "$out" = 77 ] || fail "after restart the image reads '$out', not 0x77"
echo "ok: after the volume started again the data reads back"
