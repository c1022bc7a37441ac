#!/bin/sh
# Check (or refresh) the committed ABI baseline of libgluvirt.
#   check-abi.sh check  LIBRARY.so BASELINE.abi PUBLIC-HEADER-DIR
#   check-abi.sh update LIBRARY.so BASELINE.abi PUBLIC-HEADER-DIR
# Only types reachable from the public headers count (--headers-dir), so
# internal structures can change freely.  Any difference fails the check:
# an incompatible one must not ship, and a compatible addition must be
# recorded by 'make update-abi' in the same commit as the new symbols.
set -eu
mode=$1 lib=$2 baseline=$3 headers=$4

for tool in abidw abidiff; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "check-abi: $tool not found: apt-get install abigail-tools" >&2
        exit 1
    }
done

current=$(mktemp)
trap 'rm -f "$current"' EXIT
abidw --no-corpus-path --headers-dir "$headers" --out-file "$current" "$lib"

case $mode in
update)
    cp "$current" "$baseline"
    echo "check-abi: baseline $baseline updated"
    ;;
check)
    set +e
    abidiff --headers-dir2 "$headers" "$baseline" "$current"
    status=$?
    set -e
    if [ $status -eq 0 ]; then
        echo "check-abi: the ABI matches $baseline"
        exit 0
    fi
    if [ $((status & 8)) -ne 0 ]; then
        echo "check-abi: INCOMPATIBLE ABI change against $baseline (see above)." >&2
        echo "check-abi: restore the old interface, or bump the soname on purpose." >&2
    elif [ $((status & 4)) -ne 0 ]; then
        echo "check-abi: the ABI changed (see above).  If the change only adds functions," >&2
        echo "check-abi: list them in a new version node of lib/libgluvirt.sym and run" >&2
        echo "check-abi: 'make update-abi'; if it changes an existing type or signature," >&2
        echo "check-abi: restore it: released programs depend on it." >&2
    else
        echo "check-abi: abidiff failed with status $status" >&2
    fi
    exit 1
    ;;
*)
    echo "usage: check-abi.sh check|update LIBRARY BASELINE HEADER-DIR" >&2
    exit 2
    ;;
esac
