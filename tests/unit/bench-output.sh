#!/bin/bash
# gluvirt bench speaks qemu-img bench's language: for the same options on
# the same (local) image it prints the same first line, and a "Run completed
# in X seconds." line; a bad option is refused with exit status 1 or 2.
set -euo pipefail
: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
truncate -s 16M "$work/img.raw"
failed=0 passed=0
for opts in "-c 1000 -s 4k -d 8" "-c 500 -s 64k -d 16 -o 65536 -S 131072" "-w -c 300 -s 512 -d 1"; do
    # shellcheck disable=SC2086
    ours=$("$GLUVIRT" bench -f raw $opts "$work/img.raw")
    # shellcheck disable=SC2086
    theirs=$(qemu-img bench -f raw $opts "$work/img.raw")
    if [ "$(head -1 <<<"$ours")" = "$(head -1 <<<"$theirs")" ] &&
        grep -Eq '^Run completed in [0-9]+\.[0-9]{3} seconds\.$' <<<"$ours"; then
        passed=$((passed + 1))
    else
        echo "FAIL for '$opts':"; echo "gluvirt:  $ours"; echo "qemu-img: $theirs"
        failed=$((failed + 1))
    fi
done
if "$GLUVIRT" bench -c 0x "$work/img.raw" >/dev/null 2>&1; then
    echo "FAIL: a bad count was accepted"; failed=$((failed + 1))
else
    passed=$((passed + 1))
fi
echo "bench-output: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
