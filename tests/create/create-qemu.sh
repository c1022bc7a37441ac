#!/bin/bash
# gluvirt create judged by qemu-img: raw and qcow2 images (version 2 and 3,
# several cluster sizes, every preallocation mode, overlays of qcow2 and raw
# backing files, a size taken from the backing file), made on the test volume
# gv2 through gfapi and in local files.  For each one:
#   - qemu-img check finds no errors and no leaks (before and after qemu-io
#     writes into it);
#   - qemu-img info --output=json says what was asked: format, virtual size,
#     cluster size, compat, backing file and its format; preallocated images
#     occupy their size;
#   - gluvirt info --json reads the same from the volume;
# and gluvirt create refuses to replace an existing image (the image stays
# as it was) unless --overwrite is given, and gives the file to --owner.
# qemu-img reads the images on gv2 through a FUSE mount of the volume.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../gluster/lib.sh"
. "$here/lib.sh"
require_gluster
: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"
host=$GLUVIRT_TEST_HOST
volume=gv2
tag=gluvirt-cq-$$
work=$(mktemp -d)
cleanup() {
    fuse_run "$volume" "rm -f $tag-*" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
start=$(date +%s.%N)

# name | gluvirt create options | size | format vsize cluster compat backing backing-format
cases=(
    "raw.raw|-f raw|64M|raw 67108864 - - - -"
    "odd.raw|-f raw|1000|raw 1024 - - - -"
    "full.raw|-f raw -o preallocation=full|8M|raw 8388608 - - - -"
    "falloc.raw|-f raw -o preallocation=falloc|8M|raw 8388608 - - - -"
    "v3.qcow2|-f qcow2|64M|qcow2 67108864 65536 1.1 - -"
    "v2-512.qcow2|-f qcow2 -o compat=0.10,cluster_size=512|10M|qcow2 10485760 512 0.10 - -"
    "big-2m.qcow2|-f qcow2 -o cluster_size=2M|100G|qcow2 107374182400 2097152 1.1 - -"
    "meta.qcow2|-f qcow2 -o preallocation=metadata,cluster_size=4k|4M|qcow2 4194304 4096 1.1 - -"
    "falloc.qcow2|-f qcow2 -o preallocation=falloc|8M|qcow2 8388608 65536 1.1 - -"
    "full-v2.qcow2|-f qcow2 -o preallocation=full,compat=0.10|8M|qcow2 8388608 65536 0.10 - -"
    "empty.qcow2|-f qcow2|0|qcow2 0 65536 1.1 - -"
)
# Overlays, made once their backing files exist.
overlays=(
    "over.qcow2|-f qcow2 -b @v3.qcow2 -F qcow2||qcow2 67108864 65536 1.1 @v3.qcow2 qcow2"
    "over-raw.qcow2|-f qcow2 -o compat=0.10 -b @raw.raw -F raw|128M|qcow2 134217728 65536 0.10 @raw.raw raw"
)

# create WHERE LINE...: run gluvirt create for each case at once, WHERE being
# a gluster URI prefix or a local directory prefix.
create_all() {
    local prefix=$1 line name opts size pids=() failed=0
    shift
    for line in "$@"; do
        IFS='|' read -r name opts size _ <<<"$line"
        opts=${opts//@/$tag-}
        # shellcheck disable=SC2086 # the options are words
        "$GLUVIRT" create -q $opts "$prefix$tag-$name" $size >"$work/create-$name.log" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    if [ "$failed" = 1 ]; then
        cat "$work"/create-*.log >&2
        fail "gluvirt create failed under $prefix"
    fi
}
mkdir -p "$work/local"
# Both places at once: the commands on the volume spend most of their time
# waiting for replication round trips at exit.
create_all "gluster://$host/$volume/" "${cases[@]}" & gluster_wave=$!
create_all "$work/local/" "${cases[@]}"
wait "$gluster_wave" || exit 1
create_all "gluster://$host/$volume/" "${overlays[@]}" & gluster_wave=$!
create_all "$work/local/" "${overlays[@]}"
wait "$gluster_wave" || exit 1
echo "created $((2 * (${#cases[@]} + ${#overlays[@]}))) images in $(elapsed_since "$start") s"

# qemu-img check and info of every image in directory $1 into $work/$2-*;
# then writes by qemu-io into some of them, and a second check.
# shellcheck disable=SC2016 # expanded by the inner shell
inspect='
for f in '"$tag"'-*; do
    n=${f#'"$tag"'-}
    fmt=raw; case $n in *.qcow2) fmt=qcow2 ;; esac
    if [ $fmt = qcow2 ]; then
        qemu-img check -f qcow2 "$f" >"'"$work"'/$1-check-$n" 2>&1; echo $? >"'"$work"'/$1-check-rc-$n"
    else
        echo 0 >"'"$work"'/$1-check-rc-$n" # raw has nothing to check
    fi
    qemu-img info -f $fmt --output=json "$f" >"'"$work"'/$1-info-$n" 2>&1
    stat -c "%u:%g %b %B" "$f" >"'"$work"'/$1-stat-$n"
done
for n in meta.qcow2 v2-512.qcow2 over.qcow2 full-v2.qcow2; do
    qemu-io -f qcow2 -c "write -P 0x5a 4096 1M" -c "write -P 0xa5 0 512" '"$tag"'-$n >/dev/null 2>&1 &&
        qemu-img check -f qcow2 '"$tag"'-$n >"'"$work"'/$1-recheck-$n" 2>&1
    echo $? >"'"$work"'/$1-recheck-rc-$n"
done'
fuse_run "$volume" "set -- g; $inspect" || fail "qemu-img through the FUSE mount of $volume failed"
(cd "$work/local" && sh -c "set -- l; $inspect")

# gluvirt info of every image on the volume, in parallel.
for line in "${cases[@]}" "${overlays[@]}"; do
    IFS='|' read -r name _ _ expect <<<"$line"
    "$GLUVIRT" info --json -f "${expect%% *}" "gluster://$host/$volume/$tag-$name" \
        >"$work/g-ginfo-$name" 2>&1 &
done
wait

printf '%s\n' "${cases[@]}" "${overlays[@]}" | sed "s/@/$tag-/g" >"$work/cases"
python3 - "$work" <<'EOF' || fail "qemu-img disagrees with what gluvirt create was asked for"
import json, os, sys
work = sys.argv[1]
problems = 0
def bad(msg):
    global problems
    problems += 1
    print("FAIL:", msg)
for line in open(os.path.join(work, "cases")):
    name, opts, size, expect = line.rstrip("\n").split("|")
    fmt, vsize, cluster, compat, backing, bfmt = expect.split()
    for where in ("g", "l"):
        label = "%s (%s)" % (name, "gv2" if where == "g" else "local")
        rc = open(os.path.join(work, "%s-check-rc-%s" % (where, name))).read().strip()
        if rc != "0":
            bad("%s: qemu-img check exit %s: %s" % (label, rc,
                open(os.path.join(work, "%s-check-%s" % (where, name))).read()))
        info = json.load(open(os.path.join(work, "%s-info-%s" % (where, name))))
        want = {"format": fmt, "virtual-size": int(vsize)}
        if cluster != "-":
            want["cluster-size"] = int(cluster)
        if backing != "-":
            want["backing-filename"] = backing
            want["backing-filename-format"] = bfmt
        for key, value in want.items():
            if info.get(key) != value:
                bad("%s: qemu-img info says %s=%r, expected %r" % (label, key, info.get(key), value))
        if backing == "-" and "backing-filename" in info:
            bad("%s: unexpected backing file %r" % (label, info["backing-filename"]))
        if compat != "-" and info["format-specific"]["data"].get("compat") != compat:
            bad("%s: compat %r, expected %s" % (label, info["format-specific"]["data"].get("compat"), compat))
        if "preallocation=full" in opts or "preallocation=falloc" in opts:
            _, blocks, unit = open(os.path.join(work, "%s-stat-%s" % (where, name))).read().split()
            if int(blocks) * int(unit) < int(vsize):
                bad("%s: %s bytes allocated, fewer than the %s preallocated" % (label, int(blocks) * int(unit), vsize))
        recheck = os.path.join(work, "%s-recheck-rc-%s" % (where, name))
        if os.path.exists(recheck) and open(recheck).read().strip() != "0":
            bad("%s: after qemu-io writes, qemu-img check or qemu-io failed: %s" % (label,
                open(os.path.join(work, "%s-recheck-%s" % (where, name))).read()))
        if where == "g":
            ours = json.load(open(os.path.join(work, "g-ginfo-%s" % name)))
            for key in ("virtual-size", "cluster-size", "backing-filename", "format"):
                if key in info and ours.get(key) != info.get(key):
                    bad("%s: gluvirt info says %s=%r, qemu-img %r" % (label, key, ours.get(key), info.get(key)))
print("ok: %d images pass qemu-img check and match qemu-img info" % (2 * sum(1 for _ in open(os.path.join(work, "cases")))))
sys.exit(1 if problems else 0)
EOF

# An existing image is not replaced unless asked.
target="gluster://$host/$volume/$tag-raw.raw"
if "$GLUVIRT" create -q -f qcow2 "$target" 1M 2>"$work/exists.err"; then
    fail "gluvirt create replaced an existing image"
fi
grep -q "already exists" "$work/exists.err" || fail "no 'already exists' message: $(cat "$work/exists.err")"
"$GLUVIRT" info --json -f raw "$target" | grep -q '"virtual-size": 67108864' ||
    fail "the refused create changed $target"
"$GLUVIRT" create -q -f qcow2 --overwrite --owner 107:107 "$target" 1M ||
    fail "gluvirt create --overwrite failed"
fuse_run "$volume" "qemu-img info -f qcow2 $tag-raw.raw | grep -q '^virtual size: 1 MiB' && stat -c %u:%g $tag-raw.raw" \
    >"$work/overwritten" || fail "the overwritten image is not a 1 MiB qcow2 image"
[ "$(cat "$work/overwritten")" = 107:107 ] || fail "--owner 107:107 gave $(cat "$work/overwritten")"
echo "ok: an existing image is refused (EEXIST), replaced with --overwrite, owned per --owner"
echo "create-qemu: done in $(elapsed_since "$start") s"
