#!/bin/bash
# gluvirt snapshot against qemu-img snapshot on qemu-img-made images: a
# snapshot made by one is listed by the other (the same "Snapshot list"
# lines, the same JSON as qemu-img info's "snapshots"), applied and deleted
# by the other; each snapshot's guest view (qemu-img convert -l
# snapshot.name=...) is compared with what the image held when it was taken;
# 'qemu-img check' finds no error after every step; twin copies changed by
# qemu-img and by gluvirt read the same; refusals give qemu-img's exit codes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$work"

view() { # IMAGE SNAPSHOT OUT: the snapshot's guest view as raw
    qemu-img convert -f qcow2 -l "snapshot.name=$2" -O raw "$1" "$3"
}

same_view() { # IMAGE SNAPSHOT EXPECTED-RAW WHAT
    view "$1" "$2" view.raw
    qemu-img compare -q -f raw -F raw "$3" view.raw || fail "$4: snapshot $2 reads otherwise"
    checks=$((checks + 1))
}

same_image() { # A B WHAT: the two images read the same (and have one size)
    qemu-img compare -q -s -f qcow2 -F qcow2 "$1" "$2" >/dev/null 2>&1 ||
        qemu-img compare -q -f qcow2 -F qcow2 "$1" "$2" ||
        fail "$3: $1 and $2 read differently"
    [ "$(qemu-img info --output=json "$1" | grep '"virtual-size"')" = \
      "$(qemu-img info --output=json "$2" | grep '"virtual-size"')" ] ||
        fail "$3: $1 and $2 differ in size"
    checks=$((checks + 1))
}

# The whole round on the default layout: both tools make, list, apply and
# delete snapshots of one image.
for opts in "cluster_size=65536"; do
    rm -f a.qcow2 ref*.raw
    qemu-img create -q -f qcow2 -o "$opts" a.qcow2 4M
    qemu-io -f qcow2 -c 'write -P 0x11 0 1M' -c 'write -P 0x22 3M 64k' \
        -c 'write -P 0x23 4190000 4304' a.qcow2 >/dev/null
    qemu-img convert -f qcow2 -O raw a.qcow2 ref1.raw

    # gluvirt creates; qemu-img lists it and reads it.
    "$GLUVIRT" snapshot -f qcow2 -c first a.qcow2 || fail "$opts: create failed"
    qcow2_check_clean a.qcow2 "$opts: after gluvirt -c"
    qemu-img snapshot -l a.qcow2 | grep -Eq '^1 +first +0 B' ||
        fail "$opts: qemu-img does not list the snapshot: $(qemu-img snapshot -l a.qcow2)"
    same_view a.qcow2 first ref1.raw "$opts: after create"

    # The guest writes on; the snapshot keeps its view.
    qemu-io -f qcow2 -c 'write -P 0x33 512k 1M' -c 'write -z 3M 64k' a.qcow2 >/dev/null
    qemu-img convert -f qcow2 -O raw a.qcow2 ref2.raw
    qcow2_check_clean a.qcow2 "$opts: after writing over a gluvirt snapshot"
    same_view a.qcow2 first ref1.raw "$opts: after the guest wrote on"

    # qemu-img creates a second; both list the same lines and JSON.
    qemu-img snapshot -c second a.qcow2
    same_as_qemu "snapshot -l a.qcow2" "snapshot -f qcow2 -l a.qcow2"
    qemu-img info --output=json a.qcow2 |
        python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["snapshots"]))' >q.json
    "$GLUVIRT" snapshot -f qcow2 -l --output=json a.qcow2 |
        python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["snapshots"]))' >g.json
    cmp -s q.json g.json || fail "$opts: JSON lists differ: $(cat q.json g.json)"
    checks=$((checks + 1))
    qemu-io -f qcow2 -c 'write -P 0x44 2M 128k' a.qcow2 >/dev/null

    # Apply, each tool on a twin: the same image, and the snapshot's view.
    cp a.qcow2 b.qcow2
    qemu-img snapshot -a first b.qcow2
    "$GLUVIRT" snapshot -f qcow2 -a first a.qcow2 || fail "$opts: apply failed"
    qcow2_check_clean a.qcow2 "$opts: after gluvirt -a"
    same_image a.qcow2 b.qcow2 "$opts: apply first"
    qemu-img compare -q -f qcow2 -F raw a.qcow2 ref1.raw || fail "$opts: apply: not the view"
    # Apply a qemu-img snapshot by its id.
    "$GLUVIRT" snapshot -f qcow2 -a 2 a.qcow2 || fail "$opts: apply by id failed"
    qcow2_check_clean a.qcow2 "$opts: after gluvirt -a 2"
    qemu-img compare -q -f qcow2 -F raw a.qcow2 ref2.raw || fail "$opts: apply 2: not the view"
    # Writing after an apply leaves the snapshots as they were.
    qemu-io -f qcow2 -c 'write -P 0x55 0 64k' a.qcow2 >/dev/null
    same_view a.qcow2 first ref1.raw "$opts: after apply and a write"
    same_view a.qcow2 second ref2.raw "$opts: after apply and a write"

    # Delete both ways: gluvirt the qemu-img one, qemu-img the gluvirt one.
    "$GLUVIRT" snapshot -f qcow2 -d second a.qcow2 || fail "$opts: delete failed"
    qcow2_check_clean a.qcow2 "$opts: after gluvirt -d"
    same_view a.qcow2 first ref1.raw "$opts: after deleting the other"
    qemu-img snapshot -l a.qcow2 | grep -q second && fail "$opts: 'second' is still listed"
    qemu-img snapshot -d first a.qcow2
    qcow2_check_clean a.qcow2 "$opts: after qemu-img -d"
    same_as_qemu "snapshot -l a.qcow2" "snapshot -f qcow2 -l a.qcow2"
    # Everything freed: as few clusters as a copy that never had snapshots.
    qemu-img convert -f qcow2 -O raw a.qcow2 now.raw
    qemu-io -f raw -c 'write -P 0x55 0 64k' ref2.raw >/dev/null
    qemu-img compare -q -f raw -F raw now.raw ref2.raw || fail "$opts: data lost by deletes"
done

# Version 2 and extended L2 entries (subclusters): gluvirt alone makes,
# applies and deletes; qemu-img judges.
for opts in "cluster_size=4096,compat=0.10" "extended_l2=on"; do
    qemu-img create -q -f qcow2 -o "$opts" x.qcow2 4M
    qemu-io -f qcow2 -c 'write -P 0x11 0 1M' -c 'write -P 0x22 3M 64k' x.qcow2 >/dev/null
    qemu-img convert -f qcow2 -O raw x.qcow2 ref1.raw
    "$GLUVIRT" snapshot -f qcow2 -c first x.qcow2 || fail "$opts: create failed"
    qemu-io -f qcow2 -c 'write -P 0x33 512k 1M' x.qcow2 >/dev/null
    qcow2_check_clean x.qcow2 "$opts: written after gluvirt -c"
    same_view x.qcow2 first ref1.raw "$opts: after the guest wrote on"
    "$GLUVIRT" snapshot -f qcow2 -a first x.qcow2 || fail "$opts: apply failed"
    qemu-img compare -q -f qcow2 -F raw x.qcow2 ref1.raw || fail "$opts: apply: not the view"
    "$GLUVIRT" snapshot -f qcow2 -d first x.qcow2 || fail "$opts: delete failed"
    qcow2_check_clean x.qcow2 "$opts: after gluvirt -a and -d"
    qemu-img compare -q -f qcow2 -F raw x.qcow2 ref1.raw || fail "$opts: delete lost data"
done

# Apply across a resize: the size goes back to the snapshot's, as in QEMU.
qemu-img create -q -f qcow2 -o cluster_size=4096 r.qcow2 4M
qemu-io -f qcow2 -c 'write -P 0x66 0 256k' r.qcow2 >/dev/null
"$GLUVIRT" snapshot -f qcow2 -c small r.qcow2
"$GLUVIRT" resize -q -f qcow2 r.qcow2 16M
qemu-io -f qcow2 -c 'write -P 0x77 12M 64k' r.qcow2 >/dev/null
qcow2_check_clean r.qcow2 "grown after a snapshot"
cp r.qcow2 s.qcow2
qemu-img snapshot -a small s.qcow2
"$GLUVIRT" snapshot -f qcow2 -a small r.qcow2
qcow2_check_clean r.qcow2 "applied a smaller snapshot"
same_image r.qcow2 s.qcow2 "apply across a resize"

# A compressed cluster shared with a snapshot, then dropped.
qemu-img create -q -f raw c.raw 1M
qemu-io -f raw -c 'write -P 0x12 0 256k' c.raw >/dev/null
qemu-img convert -c -f raw -O qcow2 c.raw c.qcow2
"$GLUVIRT" snapshot -f qcow2 -c packed c.qcow2
qemu-io -f qcow2 -c 'write -P 0x13 0 128k' c.qcow2 >/dev/null
qcow2_check_clean c.qcow2 "compressed clusters shared"
same_view c.qcow2 packed c.raw "compressed clusters shared"
"$GLUVIRT" snapshot -f qcow2 -d packed c.qcow2
qcow2_check_clean c.qcow2 "compressed clusters unshared"

# Refusals and edge cases: qemu-img's exit codes and output.
qemu-img create -q -f raw plain.raw 1M
qemu-img snapshot -c one r.qcow2
cases=(
    "-a nosuch r.qcow2" "-d 1 r.qcow2" "-c x plain.raw" "-l plain.raw" "-l -c x r.qcow2"
    "-c x missing.qcow2" "r.qcow2"
)
for c in "${cases[@]}"; do
    same_as_qemu "snapshot $c" "snapshot $c"
done
same_exit_as_qemu "snapshot" "snapshot"
grep -q "Could not apply snapshot 'nosuch'" <(cd "$work" && "$GLUVIRT" snapshot -a nosuch \
    r.qcow2 2>&1) || fail "the apply refusal does not name the snapshot"
qcow2_check_clean r.qcow2 "after the refusals"
# 1-bit refcounts cannot count a second reference: refused (exit 1, as
# qemu-img), and nothing leaked.
qemu-img create -q -f qcow2 -o refcount_bits=1 one.qcow2 1M
qemu-io -f qcow2 -c 'write 0 64k' one.qcow2 >/dev/null
cp one.qcow2 one-q.qcow2
same_as_qemu "snapshot -c x one-q.qcow2" "snapshot -f qcow2 -c x one.qcow2"
grep -q "refcount overflow" "$work/gluvirt.err" || fail "the overflow is not named"
qcow2_check_clean one.qcow2 "a refused snapshot of 1-bit refcounts"
# A hostile snapshot: its L1 entry points past the end of the file.  Apply
# and delete refuse (exit 1, the damage named) and change nothing.
qemu-img create -q -f qcow2 bad.qcow2 4M
qemu-io -f qcow2 -c 'write -P 1 0 64k' bad.qcow2 >/dev/null
qemu-img snapshot -c s bad.qcow2
python3 - bad.qcow2 <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    header = f.read(72)
    (table,) = struct.unpack(">Q", header[64:72])
    f.seek(table)
    (l1,) = struct.unpack(">Q", f.read(8))
    f.seek(l1)
    f.write(struct.pack(">Q", 0x7000000))
PY
before=$(md5sum <bad.qcow2)
for action in -a -d; do
    rc=0
    "$GLUVIRT" snapshot -f qcow2 $action s bad.qcow2 2>err.txt || rc=$?
    [ "$rc" = 1 ] || fail "snapshot $action of a hostile snapshot exited $rc"
    grep -q "past the end of the file" err.txt || fail "no word of the damage: $(cat err.txt)"
    [ "$(md5sum <bad.qcow2)" = "$before" ] || fail "snapshot $action changed a hostile image"
    checks=$((checks + 1))
done
# Names may repeat (ids do not), as in QEMU.
"$GLUVIRT" snapshot -f qcow2 -c one r.qcow2
qemu-img snapshot -l r.qcow2 | grep -Eq '^3 +one ' || fail "a repeated name got no new id"
qcow2_check_clean r.qcow2 "a repeated name"
echo "snapshot: $checks checks against qemu-img agree"
