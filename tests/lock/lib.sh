# Shared by the lock tests: processes that hold an image open until told to
# let go, and QEMU's view of who holds what.
#
# hold NAME CMD...   run CMD with its stdin on a fifo that stays open, its
#                    output in $T/NAME.out and $T/NAME.err; NAME_pid is its
#                    process id.  release NAME closes the fifo (lock_holder
#                    and qemu-io then close the image and exit) and waits.

: "${top_builddir:?set top_builddir}" "${GLUVIRT:?set GLUVIRT}"

HOLDER=$top_builddir/tests/lock/lock_holder
[ -x "$top_builddir/tests/lock/.libs/lock_holder" ] && HOLDER=$top_builddir/tests/lock/.libs/lock_holder

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
pass() {
    echo "ok: $*"
}

hold() {
    name=$1
    shift
    # The old output goes first: the shell truncates NAME.out only once the
    # fifo has a writer, and a "ready" left from the last holder of that
    # name would be taken for this one's.
    rm -f "$T/$name.in" "$T/$name.out" "$T/$name.err"
    mkfifo "$T/$name.in"
    "$@" <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
    eval "${name}_pid=$!"
    sleep 100000 >"$T/$name.in" &
    eval "${name}_keeper=$!"
}

release() {
    # A name never held has nothing to release (and, under set -u, no
    # variables to expand: the cleanup trap stopped there before).
    eval "[ -n \"\${${1}_keeper:-}\" ] || return 0
          kill \$${1}_keeper 2>/dev/null; wait \$${1}_pid 2>/dev/null"
}

# Wait (up to 60 s) until lock_holder NAME has said "ready"; 1 if it died.
wait_ready() {
    i=0
    while ! grep -q '^ready$' "$T/$1.out" 2>/dev/null; do
        eval "kill -0 \$${1}_pid 2>/dev/null" || return 1
        i=$((i + 1))
        [ $i -gt 600 ] && return 1
        sleep 0.1
    done
    return 0
}

# The bytes of FILE that some process holds a lock on, by /proc/locks: one
# number a line, sorted (ranges expanded).
locked_bytes() {
    ino=$(stat -c %i "$1")
    awk -v ino="$ino" '{ n = split($6, id, ":"); if (id[n] == ino) for (b = $7; b <= $8; b++) print b }' \
        /proc/locks | sort -n | uniq
}

# Wait (up to 30 s) until FILE has byte locks held on it.
wait_locked() {
    i=0
    while [ -z "$(locked_bytes "$1")" ]; do
        i=$((i + 1))
        [ $i -gt 300 ] && return 1
        sleep 0.1
    done
    return 0
}

# expect_open LABEL WANT CMD...: run CMD (stdin empty) and judge its outcome.
# WANT: ok (exit 0); EBUSY (lock_holder's exit 3 and an "errno=16: ... in
# use by another" line), "EBUSY TEXT" (the line also holds TEXT); else a
# text the failing command's output must hold.
expect_open() {
    label=$1 want=$2
    shift 2
    out=$("$@" </dev/null 2>&1)
    rc=$?
    case $want in
    ok) [ $rc -eq 0 ] && pass "$label" || fail "$label: refused ($rc): $out" ;;
    EBUSY*) who=${want#EBUSY}
           if [ $rc -eq 3 ] && echo "$out" | grep -q "errno=16: .*in use by another.*$who"; then
               pass "$label: $(echo "$out" | grep errno= | head -1 | cut -c1-170)..."
           else
               fail "$label: wanted EBUSY${who:+ naming$who}, got ($rc): $out"
           fi ;;
    *) echo "$out" | grep -q -- "$want" && [ $rc -ne 0 ] && pass "$label: refused: $want" ||
           fail "$label: wanted a refusal with '$want', got ($rc): $out" ;;
    esac
}
