#!/bin/bash
# gluvirt convert -O qcow2 against qemu-img convert -O qcow2 on the same
# sources (made by qemu-img and qemu-io: raw with holes, data and blocks of
# written zeros; a qcow2 overlay on a backing file; a compressed qcow2; a
# qcow2 with internal snapshots) and the same -o options: both targets are
# equal to each other and to the source (qemu-img compare), ours is clean
# (qemu-img check), has the layout asked for (qemu-img info), and holds no
# more data (qemu-img map) nor disk space than qemu-img's beyond a couple of
# clusters.  Then -n, -S and the errors: bad and unsupported -o values, a
# missing source, a failure half-way that removes the target.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
cd "$work"

# ---- sources
qemu-img create -q -f raw holes.raw 40M
qemu-io -f raw \
    -c 'write -P 0x11 0 1M' \
    -c 'write -P 0x22 5M 4k' \
    -c 'write -P 0 8M 2M' \
    -c 'write -P 0x33 12M 100k' \
    -c 'write -P 0x44 39M 1M' holes.raw >/dev/null
# A cluster half data, half zeros, and a lone 512-byte sector of data.
qemu-io -f raw -c 'write -P 0x55 20M 1k' -c 'write -P 0x66 21M 512' holes.raw >/dev/null

qemu-img create -q -f qcow2 base.qcow2 32M
qemu-io -f qcow2 -c 'write -P 0x71 0 4M' -c 'write -P 0x72 16M 1M' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2
qemu-io -f qcow2 -c 'write -P 0x73 1M 64k' -c 'write -z 2M 1M' -c 'write -P 0x74 30M 8k' \
    overlay.qcow2 >/dev/null

qemu-img convert -c -f raw -O qcow2 holes.raw compressed.qcow2

qemu-img create -q -f qcow2 snaps.qcow2 24M
qemu-io -f qcow2 -c 'write -P 0x81 0 2M' snaps.qcow2 >/dev/null
qemu-img snapshot -c first snaps.qcow2
qemu-io -f qcow2 -c 'write -P 0x82 1M 2M' -c 'discard 0 512k' snaps.qcow2 >/dev/null
qemu-img snapshot -c second snaps.qcow2
qemu-io -f qcow2 -c 'write -P 0x83 20M 64k' snaps.qcow2 >/dev/null

# judge SRC-ARGS QEMU-TARGET OUR-TARGET CLUSTER: the two targets agree.
judge() {
    local src=$1 q=$2 g=$3 cluster=$4 qdata gdata qdisk gdisk
    # shellcheck disable=SC2086 # SRC-ARGS are words
    qemu-img compare -q -f qcow2 -F qcow2 "$q" "$g" || fail "$g differs from qemu-img's $q"
    # shellcheck disable=SC2086
    qemu-img compare -q $src "$g" || fail "$g differs from its source ($src)"
    qemu-img check -q -f qcow2 "$g" || fail "qemu-img check finds $g unclean"
    for field in cluster-size compat lazy-refcounts refcount-bits extended-l2 virtual-size; do
        [ "$(info_field "$field" -f qcow2 "$q")" = "$(info_field "$field" -f qcow2 "$g")" ] ||
            fail "$g: $field $(info_field "$field" -f qcow2 "$g"), qemu-img's $(info_field "$field" -f qcow2 "$q")"
    done
    qdata=$(data_bytes -f qcow2 "$q")
    gdata=$(data_bytes -f qcow2 "$g")
    [ "$gdata" -le $((qdata + 2 * cluster)) ] ||
        fail "$g maps $gdata bytes of data, qemu-img's $q $qdata"
    qdisk=$(info_field actual-size -f qcow2 "$q")
    gdisk=$(info_field actual-size -f qcow2 "$g")
    [ "$gdisk" -le $((qdisk + 2 * cluster + 65536)) ] ||
        fail "$g takes $gdisk bytes of disk, qemu-img's $q $qdisk"
    checks=$((checks + 7))
}

# ---- each source with each set of options, by both tools
option_sets=(
    ""
    "cluster_size=4k,compat=0.10"
    "cluster_size=2M,preallocation=metadata"
    "cluster_size=512,refcount_bits=16,lazy_refcounts=off,extended_l2=off"
    "compat=1.1,preallocation=off"
)
sources=("raw holes.raw" "qcow2 overlay.qcow2" "qcow2 compressed.qcow2" "qcow2 snaps.qcow2")
n=0
for s in "${sources[@]}"; do
    fmt=${s% *}
    file=${s#* }
    for o in "${option_sets[@]}"; do
        n=$((n + 1))
        cluster=65536
        case $o in
        *cluster_size=4k*) cluster=4096 ;;
        *cluster_size=2M*) cluster=2097152 ;;
        *cluster_size=512*) cluster=512 ;;
        esac
        oarg=()
        [ -n "$o" ] && oarg=(-o "$o")
        qemu-img convert -f "$fmt" -O qcow2 "${oarg[@]}" "$file" "q$n.qcow2"
        "$GLUVIRT" convert -f "$fmt" -O qcow2 "${oarg[@]}" "$file" "g$n.qcow2" ||
            fail "gluvirt convert -O qcow2 ${oarg[*]} $file failed"
        judge "-f $fmt $file" "q$n.qcow2" "g$n.qcow2" "$cluster"
    done
done

# ---- an internal snapshot as source (qemu-img's -l)
qemu-img convert -f qcow2 -O qcow2 -l snapshot.name=first snaps.qcow2 qsnap.qcow2
"$GLUVIRT" convert -f qcow2 -O qcow2 -l snapshot.name=first snaps.qcow2 gsnap.qcow2
judge "-f qcow2 qsnap.qcow2" qsnap.qcow2 gsnap.qcow2 65536
qemu-img compare -q -f qcow2 -F qcow2 snaps.qcow2 gsnap.qcow2 &&
    fail "the snapshot's copy equals the current state: -l was ignored"

# ---- an existing target written as it is, replaced or kept
# Replaced without -n: an older, larger file of junk disappears.
qemu-img create -q -f qcow2 old.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0xee 0 64M' old.qcow2 >/dev/null
"$GLUVIRT" convert -f raw -O qcow2 holes.raw old.qcow2
qemu-img compare -q -f raw -F qcow2 holes.raw old.qcow2 || fail "the replaced target differs"
[ "$(info_field virtual-size -f qcow2 old.qcow2)" = 41943040 ] || fail "the replaced target keeps its old size"
checks=$((checks + 2))

# -n: written into as it is, its junk where the source reads zeros zeroed.
for tool in q g; do
    qemu-img create -q -f qcow2 "n$tool.qcow2" 40M
    qemu-io -f qcow2 -c 'write -P 0xee 0 40M' "n$tool.qcow2" >/dev/null
done
qemu-img convert -n -f raw -O qcow2 holes.raw nq.qcow2
"$GLUVIRT" convert -n -f raw -O qcow2 holes.raw ng.qcow2
qemu-img compare -q -f raw -F qcow2 holes.raw ng.qcow2 || fail "-n left junk in the target"
qemu-img compare -q -f qcow2 -F qcow2 nq.qcow2 ng.qcow2 || fail "-n: qemu-img's target differs"
qemu-img check -q -f qcow2 ng.qcow2 || fail "-n: qemu-img check finds the target unclean"
checks=$((checks + 3))
qemu-img create -q -f qcow2 small.qcow2 1M
expect_error "-n into a smaller image" "less than the source" -n -f raw -O qcow2 holes.raw small.qcow2
[ "$(info_field virtual-size -f qcow2 small.qcow2)" = 1048576 ] || fail "-n changed a target it refused"

# -S: 0 writes the zeros too (as qemu-img -S 0 does); a large -S keeps
# short runs of zeros as data.
for sparse in 0 1M; do
    qemu-img convert -S "$sparse" -f raw -O qcow2 holes.raw "qS$sparse.qcow2"
    "$GLUVIRT" convert -S "$sparse" -f raw -O qcow2 holes.raw "gS$sparse.qcow2"
    judge "-f raw holes.raw" "qS$sparse.qcow2" "gS$sparse.qcow2" 65536
    [ "$(data_bytes -f qcow2 "gS$sparse.qcow2")" -ge "$(data_bytes -f qcow2 q1.qcow2)" ] ||
        fail "-S $sparse wrote less than the default"
done
[ "$(data_bytes -f qcow2 gS0.qcow2)" = 41943040 ] || fail "-S 0 left holes"
checks=$((checks + 2))

# ---- errors: clear messages, exit codes, nothing created
expect_error "bad cluster size" "cluster_size" -O qcow2 -o cluster_size=lots holes.raw e1.qcow2
expect_error "cluster size not a power of two" "cluster" -O qcow2 -o cluster_size=3000 holes.raw e2.qcow2
expect_error "bad compat" "compat" -O qcow2 -o compat=0.9 holes.raw e3.qcow2
expect_error "refcount_bits=64" "refcount_bits=64: not supported yet" -O qcow2 -o refcount_bits=64 holes.raw e4.qcow2
expect_error "lazy_refcounts=on" "lazy_refcounts=on: not supported yet" -O qcow2 -o lazy_refcounts=on holes.raw e5.qcow2
expect_error "extended_l2=on" "extended_l2=on: not supported yet" -O qcow2 -o extended_l2=on holes.raw e6.qcow2
expect_error "preallocation=full" "preallocation=full: not supported yet" -O qcow2 -o preallocation=full holes.raw e7.qcow2
expect_error "unknown option" "unknown option" -O qcow2 -o colour=blue holes.raw e8.qcow2
expect_error "no value" "expected OPTION=VALUE" -O qcow2 -o cluster_size holes.raw e9.qcow2
expect_error "-o for raw" "add -O qcow2" -O raw -o cluster_size=4k holes.raw e10.raw
expect_error "unknown -O" "-O vmdk" -O vmdk holes.raw e11.vmdk
expect_error "qcow2 on stdout" "standard output takes raw only" -O qcow2 holes.raw -
expect_error "bad -S" "-S" -S much holes.raw e12.qcow2
expect_error "missing source" "missing.raw" -f raw -O qcow2 missing.raw e13.qcow2
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13; do
    ls e$i.* >/dev/null 2>&1 && fail "a refused convert left e$i behind"
done

# A source that fails half-way (an L2 entry pointing past the end of its
# file): the target convert created is removed again.
cp overlay.qcow2 broken.qcow2
be64() { od -An -tx1 -j "$2" -N 8 "$1" | tr -d ' \n'; }
l1=$((16#$(be64 broken.qcow2 40)))
l2=$((16#$(be64 broken.qcow2 "$l1") & 16#00fffffffffffe00))
# Entry 16 (guest offset 1M, data) -> a copied cluster at 1 TiB.
printf '\x80\x00\x01\x00\x00\x00\x00\x00' |
    dd of=broken.qcow2 bs=1 seek=$((l2 + 16 * 8)) conv=notrunc status=none
expect_error "a source that fails half-way" "broken.qcow2" -f qcow2 -O qcow2 --backing none broken.qcow2 half.qcow2
[ ! -e half.qcow2 ] || fail "a failed convert left its new target half.qcow2 behind"
checks=$((checks + 1))

echo "PASS: $checks checks ($n conversions by each tool and the special cases)"
