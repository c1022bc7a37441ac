# shellcheck shell=bash
# Shared by the convert scripts (tests/convert/): the program, a scratch
# directory, and the judgements qemu-img passes on a converted image.

# The program, qemu-img, $work, $checks and fail come from the verb scripts' lib.
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/../verbs/lib.sh"
command -v qemu-io >/dev/null || { echo "SKIP: qemu-io is not installed"; exit 77; }

# Bytes qemu-img map says hold data (allocated, not reading as zeros).
data_bytes() {
    qemu-img map --output=json "$@" |
        awk '/"data": true/ { if (match($0, /"length": [0-9]+/)) s += substr($0, RSTART + 10, RLENGTH - 10) }
             END { printf "%d\n", s }'
}

# A field of qemu-img info --output=json (the first one of that name, so
# the image's own before its backing file's): info_field FIELD IMAGE-ARGS...
info_field() {
    local field=$1
    shift
    qemu-img info --output=json "$@" |
        sed -n "s/^ *\"$field\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" | head -n 1
}

# expect_error "WHAT" "WORDS" ARGS...: gluvirt convert ARGS exits 2 or 1 and
# its stderr contains WORDS.
expect_error() {
    local what=$1 words=$2 rc=0
    shift 2
    "$GLUVIRT" convert "$@" >"$work/err.out" 2>"$work/err.txt" || rc=$?
    [ "$rc" != 0 ] || fail "$what: gluvirt convert $* succeeded"
    grep -qF -- "$words" "$work/err.txt" ||
        fail "$what: expected '$words' in the message, got: $(cat "$work/err.txt")"
    checks=$((checks + 1))
}
