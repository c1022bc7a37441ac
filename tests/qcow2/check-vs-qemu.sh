#!/bin/bash
# gluvirt check against qemu-img check 7.2, on local files:
#   - clean images qemu-img makes (clusters of 512 B to 2 MiB, refcount
#     widths of 1 to 64 bits, version 2, internal snapshots, compressed
#     clusters, a backing file, extended L2 entries, an external data file,
#     persistent bitmaps, preallocated metadata): the same exit code, the
#     same JSON (every key but "filename"), the same human text;
#   - the same images damaged in known ways (check-damage.py: a leaked
#     cluster, a refcount raised or lowered or zeroed, COPIED flags cleared,
#     an L2 entry past the end of the file, the dirty bit): the same exit
#     code, JSON, text and problem lines;
#   - then 'gluvirt check -r leaks' and '-r all' on one copy and qemu-img's
#     own repair on another: the same exit code and JSON, 'qemu-img check'
#     on gluvirt's result agrees with its verdict on its own, and 'qemu-img
#     compare' finds the two repaired images equal;
#   - a refcount of 0 on a cluster in use: -r all rebuilds the refcount
#     structure, -r leaks refuses and leaves the file as it was;
#   - raw images give exit code 63; hostile images end in time.
# GLUVIRT names the gluvirt program.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# note_pass, note_fail (MATRIX_VERBOSE=1 shows each check) and summary;
# the tools checked.
# shellcheck source=tests/qcow2/matrix-lib.sh
. "$here/matrix-lib.sh"
damage="$here/check-damage.py"

work=$(mktemp -d /tmp/qcow2-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"


# make_image NAME: build the clean image NAME.qcow2 (and the files it names).
make_image() {
    local n=$1 f=$1.qcow2
    case $n in
    c512) qemu-img create -q -f qcow2 -o cluster_size=512 "$f" 2M
        qio "$f" qcow2 'write -P 1 0 300k' 'write -P 2 1M 4k' ;;
    c4k) qemu-img create -q -f qcow2 -o cluster_size=4k "$f" 4M
        qio "$f" qcow2 'write -P 1 0 64k' 'write -P 2 2M 12k' 'write -P 3 8k 4k' ;;
    c64k) qemu-img create -q -f qcow2 "$f" 8M
        qio "$f" qcow2 'write -P 1 0 1M' 'write -P 2 5M 64k' 'discard 128k 128k' ;;
    c2m) qemu-img create -q -f qcow2 -o cluster_size=2M "$f" 16M
        qio "$f" qcow2 'write -P 1 0 3M' 'write -P 2 9M 4k' ;;
    rc1 | rc2 | rc4 | rc8 | rc32 | rc64)
        qemu-img create -q -f qcow2 -o cluster_size=4k,refcount_bits="${n#rc}" "$f" 4M
        qio "$f" qcow2 'write -P 1 0 64k' 'write -P 2 1M 8k' ;;
    v2) qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4k "$f" 4M
        qio "$f" qcow2 'write -P 1 0 40k' 'write -P 2 3M 4k' ;;
    snaps) qemu-img create -q -f qcow2 -o cluster_size=4k "$f" 4M
        qio "$f" qcow2 'write -P 1 0 32k'
        qemu-img snapshot -c one "$f"
        qio "$f" qcow2 'write -P 2 8k 8k' 'write -P 3 1M 4k'
        qemu-img snapshot -c two "$f"
        qio "$f" qcow2 'write -P 4 0 4k' ;;
    snaps_rc1) qemu-img create -q -f qcow2 -o cluster_size=4k,refcount_bits=2 "$f" 4M
        qio "$f" qcow2 'write -P 1 0 32k'
        qemu-img snapshot -c one "$f"
        qio "$f" qcow2 'write -P 2 8k 8k' ;;
    zlib) qemu-img create -q -f qcow2 -o cluster_size=4k "$f" 4M
        qio "$f" qcow2 'write -c -P 1 0 64k' 'write -P 2 64k 8k' 'write -c -P 3 1M 4k' ;;
    zstd) qemu-img create -q -f qcow2 -o cluster_size=64k,compression_type=zstd "$f" 4M
        qio "$f" qcow2 'write -c -P 1 0 256k' 'write -P 2 1M 64k' ;;
    backing) qemu-img create -q -f raw base.raw 4M
        qemu-io -f raw -c 'write -P 9 0 4M' base.raw >/dev/null
        qemu-img create -q -f qcow2 -F raw -b base.raw -o cluster_size=4k "$f" 4M
        qio "$f" qcow2 'write -P 1 64k 16k' ;;
    extl2) qemu-img create -q -f qcow2 -o cluster_size=64k,extended_l2=on "$f" 4M
        qio "$f" qcow2 'write -P 1 0 4k' 'write -P 2 200k 70k' ;;
    datafile) qemu-img create -q -f qcow2 -o data_file="$n.data",cluster_size=4k "$f" 4M
        qio "$f" qcow2 'write -P 1 0 16k' ;;
    bitmaps) qemu-img create -q -f qcow2 -o cluster_size=4k "$f" 4M
        qemu-img bitmap --add "$f" b0
        qemu-img bitmap --add -g 8k "$f" b1
        qio "$f" qcow2 'write -P 1 0 64k'
        qemu-img bitmap --enable "$f" b0 ;;
    prealloc) qemu-img create -q -f qcow2 -o cluster_size=4k,preallocation=metadata "$f" 1M ;;
    *) echo "no image $n" >&2; return 1 ;;
    esac
}

# same_json OURS REF [KEY...]: every key but "filename" (and the KEYs)
# equal; prints the difference.
same_json() {
    /usr/bin/python3 - "$@" <<'EOF'
import json, sys
ours, ref = (json.load(open(p)) for p in sys.argv[1:3])
for d in (ours, ref):
    for k in ["filename"] + sys.argv[3:]:
        d.pop(k, None)
if ours != ref:
    print("ours %s, qemu-img %s" % (json.dumps(ours, sort_keys=True), json.dumps(ref, sort_keys=True)))
    sys.exit(1)
EOF
}

# compare_check WHAT IMAGE [-r MODE]: gluvirt check and qemu-img check on
# copies of IMAGE: exit codes, JSON, text, problem lines.  With -r, the
# repaired copies are then judged by qemu-img check and compare.
compare_check() {
    local what=$1 image=$2 rc_ref=0 rc_ours=0 diff
    shift 2
    cp "$image" ref.qcow2
    cp "$image" ours.qcow2
    [ ! -e "${image%.qcow2}.data" ] || { cp "${image%.qcow2}.data" ref.data; cp "${image%.qcow2}.data" ours.data; }
    qemu-img check "$@" --output=json ref.qcow2 >ref.json 2>ref.err || rc_ref=$?
    "$GLUVIRT" check "$@" --output=json ours.qcow2 >ours.json 2>ours.err || rc_ours=$?
    if [ "$rc_ref" != "$rc_ours" ]; then
        note_fail "$what: exit code $rc_ours, qemu-img check: $rc_ref ($(head -c 600 ours.err))"
        return
    fi
    note_pass "$what: exit code $rc_ours"
    if [ "$rc_ref" = 1 ]; then
        return
    fi
    if diff=$(same_json ours.json ref.json); then
        note_pass "$what: JSON"
    else
        note_fail "$what: JSON differs: $diff"
    fi
    # The problem lines: qemu-img's, minus its own prefix and the lines
    # about other things than the image (warnings about bitmaps and such).
    # After a rebuild QEMU repairs its old refcount structure as leaks,
    # which gluvirt's rebuild leaves free: the lines are compared up to it.
    grep -E '^(Leaked|ERROR|Repairing|Can.t get|Rebuilding)' ref.err | sed '/^Rebuilding/q' \
        >ref.lines || true
    grep -E '^(Leaked|ERROR|Repairing|Can.t get|Rebuilding)' ours.err | sed '/^Rebuilding/q' \
        >ours.lines || true
    if cmp -s ref.lines ours.lines; then
        note_pass "$what: problem lines ($(wc -l <ref.lines))"
    else
        note_fail "$what: problem lines differ: $(diff ref.lines ours.lines | head -20 | tr '\n' '|')"
    fi
    if [ $# -gt 0 ]; then
        judge_repair "$what"
    fi
}

# After a repair: gluvirt's copy is what qemu-img's is.  (QEMU writes
# persistent bitmaps anew when it closes an image it opened writable, so
# after its repair they may lie elsewhere: the end offset then differs.)
judge_repair() {
    local what=$1 rc_ref=0 rc_ours=0 ignore=()
    case $what in bitmaps* | rebuild*) ignore=(image-end-offset) ;; esac
    qemu-img check --output=json ref.qcow2 >ref2.json 2>/dev/null || rc_ref=$?
    qemu-img check --output=json ours.qcow2 >ours2.json 2>ours2.err || rc_ours=$?
    if [ "$rc_ref" = "$rc_ours" ] && same_json ours2.json ref2.json "${ignore[@]}" >/dev/null; then
        note_pass "$what: qemu-img check after gluvirt's repair: exit $rc_ours, as after its own"
    else
        note_fail "$what: qemu-img check after gluvirt's repair: exit $rc_ours" \
            "$(tr -d '\n ' <ours2.json), after its own: exit $rc_ref $(tr -d '\n ' <ref2.json)"
    fi
    if qemu-img compare -q ref.qcow2 ours.qcow2 2>/dev/null; then
        note_pass "$what: qemu-img compare: the repaired images hold the same data"
    else
        note_fail "$what: qemu-img compare: the two repaired images differ"
    fi
}

# The human text, byte for byte (the file name does not appear in it).
compare_human() {
    local what=$1 image=$2 rc_ref=0 rc_ours=0
    shift 2
    cp "$image" ref.qcow2
    cp "$image" ours.qcow2
    qemu-img check "$@" ref.qcow2 >ref.txt 2>/dev/null || rc_ref=$?
    "$GLUVIRT" check "$@" ours.qcow2 >ours.txt 2>/dev/null || rc_ours=$?
    if [ "$rc_ref" = "$rc_ours" ] && cmp -s ref.txt ours.txt; then
        note_pass "$what: human text"
    else
        note_fail "$what: human text (exit $rc_ours, qemu-img $rc_ref): $(diff ref.txt ours.txt | tr '\n' '|')"
    fi
}

clean_images="c512 c4k c64k c2m rc1 rc2 rc4 rc8 rc32 rc64 v2 snaps snaps_rc1 zlib zstd backing
extl2 datafile bitmaps prealloc"
for n in $clean_images; do
    if ! make_image "$n" 2>"$n.build.err"; then
        note_fail "$n: qemu-img could not build the image: $(cat "$n.build.err")"
        continue
    fi
    compare_check "$n clean" "$n.qcow2"
    compare_human "$n clean" "$n.qcow2"
done

# damage_case IMAGE HOW: damage a copy of IMAGE, then check, and repair
# with -r leaks and -r all, beside qemu-img.
damage_case() {
    local n=$1 how=$2 d="$1-$2.qcow2"
    cp "$n.qcow2" "$d"
    [ ! -e "$n.data" ] || cp "$n.data" "$1-$2.data"
    if ! /usr/bin/python3 "$damage" "$d" "$how" 2>"$d.err"; then
        note_fail "$n $how: check-damage.py: $(cat "$d.err")"
        return
    fi
    compare_check "$n $how" "$d"
    compare_human "$n $how" "$d"
    compare_check "$n $how -r leaks" "$d" -r leaks
    compare_human "$n $how -r leaks" "$d" -r leaks
    compare_check "$n $how -r all" "$d" -r all
}

# (With 1-bit refcounts a raised count wraps to 0: the rebuild case below.)
for n in c512 c4k c64k rc1 rc64 v2 zlib backing extl2 bitmaps datafile; do
    damage_case "$n" leak
    [ "$n" = rc1 ] || damage_case "$n" raise
    damage_case "$n" copied-l2
    # (Data clusters in an external data file have no refcounts: QEMU's
    # check does not look at where they lie.)
    [ "$n" = datafile ] || damage_case "$n" past-eof
done
for n in c4k v2 rc8; do
    damage_case "$n" copied-l1
done
for n in snaps snaps_rc1; do
    damage_case "$n" lower
    damage_case "$n" leak
done
for n in c4k rc64; do
    damage_case "$n" dirty
done
cp c4k.qcow2 dirty-leak.qcow2
/usr/bin/python3 "$damage" dirty-leak.qcow2 dirty
/usr/bin/python3 "$damage" dirty-leak.qcow2 leak
compare_check "dirty bit and a leak -r leaks" dirty-leak.qcow2 -r leaks
if [ "$(qemu-img info --output=json ours.qcow2 | /usr/bin/python3 -c \
    'import json,sys; print(json.load(sys.stdin)["format-specific"]["data"].get("dirty-bit", False))')" = False ]; then
    note_pass "the repair cleared the dirty bit"
else
    note_fail "the repair left the dirty bit set"
fi

# A cluster in use with refcount 0 needs the refcount structure rebuilt:
# -r all does it (the new structure may lie elsewhere than QEMU puts it:
# the end offset is not compared after the repair); -r leaks refuses, as
# qemu-img does, and changes nothing.
for n in c4k c512 rc1 rc64 snaps zlib; do
    cp "$n.qcow2" "rebuild-$n.qcow2"
    /usr/bin/python3 "$damage" "rebuild-$n.qcow2" zero
    compare_check "rebuild $n: refcount 0 on a data cluster" "rebuild-$n.qcow2"
    compare_check "rebuild $n: refcount 0 on a data cluster -r all" "rebuild-$n.qcow2" -r all
    cp "rebuild-$n.qcow2" before.qcow2
    rc=0
    "$GLUVIRT" check -r leaks "rebuild-$n.qcow2" >out.txt 2>err.txt || rc=$?
    if [ "$rc" = 1 ] && grep -q "rebuild" err.txt && cmp -s "rebuild-$n.qcow2" before.qcow2; then
        note_pass "rebuild $n: -r leaks refuses to rebuild (exit 1) and changes nothing"
    else
        note_fail "rebuild $n: -r leaks: exit $rc, $(cat err.txt), file changed: $(cmp "rebuild-$n.qcow2" before.qcow2 || true)"
    fi
done

# Raw images: qemu-img's exit code 63 and its words.
qemu-img create -q -f raw plain.raw 1M
rc=0
"$GLUVIRT" check -f raw plain.raw >out.txt 2>err.txt || rc=$?
rc_ref=0
qemu-img check -f raw plain.raw >/dev/null 2>&1 || rc_ref=$?
if [ "$rc" = "$rc_ref" ] && grep -q "This image format does not support checks" err.txt; then
    note_pass "raw: exit $rc and qemu-img's message"
else
    note_fail "raw: exit $rc (qemu-img: $rc_ref): $(cat err.txt)"
fi
# A repair of an image opened read-only by -U is a usage error, as in qemu-img.
rc=0
"$GLUVIRT" check -U -r all c4k.qcow2 >/dev/null 2>&1 || rc=$?
if [ "$rc" = 2 ]; then note_pass "-U with -r is refused"; else note_fail "-U -r: exit $rc"; fi
rc=0
"$GLUVIRT" check -r some c4k.qcow2 >/dev/null 2>err.txt || rc=$?
if [ "$rc" = 2 ] && grep -q "leaks' or 'all'" err.txt; then
    note_pass "-r some is refused with qemu-img's words"
else
    note_fail "-r some: exit $rc: $(cat err.txt)"
fi

# Hostile images: seeded random bytes written over the metadata of small
# images (header, L1, refcount table and blocks, L2 tables, snapshot
# table).  The check ends in time with one of its exit codes (never a
# crash), and a repair that calls its result clean is one qemu-img check
# calls clean too.  How often the exit codes agree with qemu-img's is
# printed (an image the reader refuses to open is exit 1 here, while QEMU
# may still check it).
# CHECK_HOSTILE_RUNS images (default 150) from seed CHECK_HOSTILE_FIRST
# (default 0); the sanitizer pass runs other seeds than the plain one.
hostile_runs=${CHECK_HOSTILE_RUNS:-150}
hostile_first=${CHECK_HOSTILE_FIRST:-0}
agree=0
for ((i = hostile_first; i < hostile_first + hostile_runs; i++)); do
    case $((i % 3)) in 0) base=c4k ;; 1) base=snaps ;; *) base=c512 ;; esac
    cp "$base.qcow2" hostile.qcow2
    /usr/bin/python3 - hostile.qcow2 "$i" <<'EOF'
import os, random, sys
path, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
size = os.path.getsize(path)
with open(path, "r+b") as f:
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(0, min(size, 48 << 10))
        f.seek(at)
        f.write(bytes(rng.randrange(256) for _ in range(rng.choice((1, 2, 8)))))
EOF
    rc=0
    timeout 60 "$GLUVIRT" check -f qcow2 --output=json hostile.qcow2 >h.json 2>h.err || rc=$?
    rc_ref=0
    timeout 60 qemu-img check -f qcow2 --output=json hostile.qcow2 >/dev/null 2>&1 || rc_ref=$?
    case $rc in
    0 | 1 | 2 | 3) note_pass "hostile $i: check exit $rc" ;;
    *) note_fail "hostile $i ($base, seed $i): check exit $rc: $(head -c 300 h.err)" ;;
    esac
    [ "$rc" != "$rc_ref" ] || agree=$((agree + 1))
    rc=0
    timeout 60 "$GLUVIRT" check -f qcow2 -r all hostile.qcow2 >h.txt 2>h.err || rc=$?
    case $rc in
    0) rc_ref=0
        qemu-img check -f qcow2 hostile.qcow2 >/dev/null 2>&1 || rc_ref=$?
        if [ "$rc_ref" = 0 ]; then
            note_pass "hostile $i: repaired, and qemu-img check agrees it is clean"
        else
            note_fail "hostile $i ($base, seed $i): gluvirt's repair says clean, qemu-img check exits $rc_ref"
        fi ;;
    1 | 2 | 3) note_pass "hostile $i: repair exit $rc" ;;
    *) note_fail "hostile $i ($base, seed $i): repair exit $rc: $(head -c 300 h.err)" ;;
    esac
done
echo "check-vs-qemu: hostile images: $agree of $hostile_runs exit codes equal to qemu-img check's"

summary check-vs-qemu
