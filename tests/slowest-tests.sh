#!/bin/sh
# Prints the N tests of a 'make check' tree that took longest, from the
# NAME.time files tests/timed-test-driver.sh leaves beside each .trs.
# Usage: slowest-tests.sh BUILD-DIR [N]
top=${1:?usage: slowest-tests.sh BUILD-DIR [N]}
count=${2:-12}
find "$top" -name '*.time' -newer "$top/config.status" 2>/dev/null |
    while read -r file; do
        printf '%5s s  %s\n' "$(cat "$file")" "${file#"$top"/}"
    done | sort -rn | head -n "$count" | sed 's/\.time$//'
