# shellcheck shell=bash
# Shared by the verb scripts (tests/verbs/) and, through tests/convert/lib.sh,
# the convert scripts: the program, a scratch directory, the opening of the
# scripts that run on a test volume, and the check that runs gluvirt and
# qemu-img side by side.

# fail and require_gluster.
# shellcheck source=tests/gluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../gluster/lib.sh"

: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"
command -v qemu-img >/dev/null || { echo "SKIP: qemu-img is not installed"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
checks=0

# on_test_volume VOLUME: where a script that runs on the test volumes
# starts.  Without them it skips (fails when GLUVIRT_REQUIRE_GLUSTER=1);
# else host is their server and volume is VOLUME.
# shellcheck disable=SC2034 # host and volume are the caller's
on_test_volume() {
    require_gluster
    host=$GLUVIRT_TEST_HOST
    volume=$1
}

# same_as_qemu "QEMU-ARGS" "GLUVIRT-ARGS": both commands' stdout and exit
# code must agree (stderr is each tool's own wording).
same_as_qemu() {
    local qargs=$1 gargs=$2 qout gout qrc=0 grc=0
    # shellcheck disable=SC2086 # the arguments are words
    qout=$(cd "$work" && qemu-img $qargs 2>"$work/qemu.err") || qrc=$?
    # shellcheck disable=SC2086
    gout=$(cd "$work" && "$GLUVIRT" $gargs 2>"$work/gluvirt.err") || grc=$?
    if [ "$qout" != "$gout" ] || [ "$qrc" != "$grc" ]; then
        echo "qemu-img $qargs -> exit $qrc:" >&2
        printf '%s\n' "$qout" >&2
        cat "$work/qemu.err" >&2
        echo "gluvirt $gargs -> exit $grc:" >&2
        printf '%s\n' "$gout" >&2
        cat "$work/gluvirt.err" >&2
        fail "gluvirt and qemu-img disagree"
    fi
    checks=$((checks + 1))
}

# same_exit_as_qemu "QEMU-ARGS" "GLUVIRT-ARGS": the same exit code (for
# command lines where qemu-img prints its whole help text).
same_exit_as_qemu() {
    local qrc=0 grc=0
    # shellcheck disable=SC2086
    (cd "$work" && qemu-img $1) >/dev/null 2>&1 || qrc=$?
    # shellcheck disable=SC2086
    (cd "$work" && "$GLUVIRT" $2) >/dev/null 2>&1 || grc=$?
    [ "$qrc" = "$grc" ] || fail "qemu-img $1 exits $qrc, gluvirt $2 exits $grc"
    checks=$((checks + 1))
}

# write_at FILE OFFSET TEXT: put TEXT at OFFSET without truncating.
write_at() {
    printf '%s' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# qcow2_check_clean IMAGE WHAT: qemu-img check finds no error and no leak.
qcow2_check_clean() {
    local out
    out=$(qemu-img check -f qcow2 "$1" 2>&1) || fail "$2: qemu-img check: $out"
    grep -q "No errors were found" <<<"$out" || fail "$2: qemu-img check: $out"
    grep -q "leaked" <<<"$out" && fail "$2: qemu-img check found leaks: $out"
    checks=$((checks + 1))
}
