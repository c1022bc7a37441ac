# shellcheck shell=bash disable=SC2154 # work and here come from the caller (below)
# Shared by matrix-local.sh, matrix-gluster.sh, probe-and-policy.sh and
# check-vs-qemu.sh: a matrix of qcow2 images made by qemu-img and qemu-io
# 7.2, and the checks that compare what gluvirt reads from them with what
# qemu-img reads.
#
# build_matrix DIR makes one directory per case under DIR, each with its image
# img.qcow2 (and the files it names: backing files, data files), and writes
# the case names to DIR/cases.  A case may list internal snapshots to convert
# in DIR/CASE/snapshots, one "GLUVIRT_ARG QEMU_L_ARG" a line.
#
# check_case CASE LOCAL_DIR TARGET_DIR compares, for one case:
#   convert  gluvirt convert -f qcow2 -O raw TARGET_DIR/img.qcow2 with
#            qemu-img convert of LOCAL_DIR/img.qcow2, byte for byte (cmp), and
#            gluvirt's output is no less sparse; the same for each snapshot
#            (gluvirt --snapshot against qemu-img -l);
#   map      gluvirt map --output=json with qemu-img map --output=json, byte
#            for byte;
#   info     gluvirt info --json with qemu-img info --output=json, key by key
#            (compare-info.py), and --backing-chain where the image has one.
# TARGET_DIR is LOCAL_DIR itself, or the same files on a volume
# (gluster://HOST/VOLUME/DIR).  Failures are collected in the array
# 'failures' (one line each) and the checks go on; 'passes' counts the rest.
#
# Callers set GLUVIRT (the gluvirt program), work (a scratch directory),
# here (this directory), and MATRIX_HUMAN=1 to compare the human-readable
# outputs of info and map too (paths must then be the same on both sides).
# MATRIX_CASES="NAME..." limits a run to some cases (by hand, when looking
# into one).  Sourcing this file fails the test at once when GLUVIRT is not
# set or a tool every caller runs is missing.

: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"
for tool in qemu-img qemu-io /usr/bin/python3; do
    command -v "$tool" >/dev/null || {
        echo "FAIL: $tool is missing (apt-get install qemu-utils python3)" >&2
        exit 1
    }
done

failures=()
passes=0

note_pass() {
    passes=$((passes + 1))
    [ "${MATRIX_VERBOSE:-0}" = 0 ] || echo "ok: $*"
}

note_fail() {
    failures+=("$*")
    echo "FAIL: $*" >&2
}

# qio IMAGE FMT COMMAND...: qemu-io writes, failing loudly.
qio() {
    local image=$1 fmt=$2 out
    shift 2
    local args=()
    for c in "$@"; do args+=(-c "$c"); done
    out=$(qemu-io -f "$fmt" "${args[@]}" "$image" 2>&1) || {
        echo "qemu-io on $image failed: $out" >&2
        return 1
    }
    if grep -qiE 'failed|error|not supported' <<<"$out"; then
        echo "qemu-io on $image: $out" >&2
        return 1
    fi
}

qcreate() { qemu-img create -q -f qcow2 "$@"; }

# set_incompatible_bit IMAGE BIT: set a bit of the v3 header's incompatible
# features (bytes 72..79, big-endian), as a crash (dirty, bit 0) or QEMU's
# consistency checks (corrupt, bit 1) would.
set_incompatible_bit() {
    local image=$1 bit=$2 byte
    byte=$(od -An -tu1 -j79 -N1 "$image" | tr -d ' ')
    printf '%b' "\\0$(printf '%03o' $((byte | (1 << bit))))" |
        dd of="$image" bs=1 seek=79 conv=notrunc status=none
}

# A raw file of SIZE bytes (a plain number) with a mix of patterns, random bytes and zeros,
# for the compressed cases (compression needs something to squeeze).
make_mixed_raw() {
    local file=$1 size=$2
    qemu-img create -q -f raw "$file" "$size"
    head -c 1M /dev/urandom | dd of="$file" bs=1M seek=1 conv=notrunc status=none
    qio "$file" raw 'write -P 0x61 0 512k' 'write -P 0x62 3000000 70000' \
        "write -P 0x63 $((size - 8192)) 8192"
}

# ---------------------------------------------------------------- the cases
# Each case_NAME DIR makes DIR/img.qcow2.

case_v2_64k() { # compat=0.10: no zero flag (write -z allocates zeros)
    qcreate -o compat=0.10 "$1/img.qcow2" 64M
    qio "$1/img.qcow2" qcow2 'write -P 0x11 0 64k' 'write -P 0x12 100000 5000' \
        'write -z 1M 128k' 'write -P 0x13 63M 1M' 'write -P 0x14 20M 100k'
}

case_v3_512() { # the smallest clusters: L2 tables of 64 entries
    qcreate -o cluster_size=512 "$1/img.qcow2" 8M
    qio "$1/img.qcow2" qcow2 'write -P 0x21 0 1536' 'write -P 0x22 3000 10000' \
        'write -z 8k 4k' 'write -P 0x23 8388096 512' 'write -P 0x24 40000 33000'
}

case_v3_4k_refcount1() {
    qcreate -o cluster_size=4k,refcount_bits=1 "$1/img.qcow2" 16M
    qio "$1/img.qcow2" qcow2 'write -P 0x31 4k 12k' 'write -P 0x32 1234567 76543' \
        'write -z 2M 16k' 'write -P 0x33 16773120 4096'
}

case_v3_odd_size() { # 1000000 bytes: qemu-img rounds it up to 1000448
    qcreate "$1/img.qcow2" 1000000
    qio "$1/img.qcow2" qcow2 'write -P 0x41 0 4k' 'write -P 0x42 990000 10448'
}

case_v3_2m() { # the largest clusters
    qcreate -o cluster_size=2M "$1/img.qcow2" 64M
    qio "$1/img.qcow2" qcow2 'write -P 0x51 0 4k' 'write -P 0x52 3M 2M' \
        'write -z 8M 2M' 'write -P 0x53 67104768 4096'
}

case_v3_3g_sparse() { # 3 GiB + 3 sectors: six L2 tables, mostly unallocated
    qcreate "$1/img.qcow2" $((3 * 1024 * 1024 * 1024 + 1536))
    qio "$1/img.qcow2" qcow2 'write -P 0x56 0 4k' 'write -P 0x57 1G 3M' \
        'write -z 2G 4M' "write -P 0x58 $((3 * 1024 * 1024 * 1024 - 6656)) 8192"
}

case_zero_v3() { # zero flags on allocated (kept) and unmapped clusters
    qcreate "$1/img.qcow2" 32M
    qio "$1/img.qcow2" qcow2 'write -P 0x61 0 4M' 'write -z 1M 1M' 'write -z -u 2M 1M' \
        'write -z 8M 64k' 'write -z 3149824 8k' 'write -P 0x62 16M 64k' \
        'write -z -u 16M 64k'
}

case_zero_v2() {
    qcreate -o compat=0.10 "$1/img.qcow2" 32M
    qio "$1/img.qcow2" qcow2 'write -P 0x63 0 2M' 'write -z 1M 512k' 'write -z 8M 64k'
}

case_prealloc_metadata() {
    qcreate -o preallocation=metadata "$1/img.qcow2" 16M
    qio "$1/img.qcow2" qcow2 'write -P 0x71 1M 64k' 'write -P 0x72 5000000 3000'
}

case_prealloc_falloc() {
    qcreate -o preallocation=falloc "$1/img.qcow2" 16M
    qio "$1/img.qcow2" qcow2 'write -P 0x73 2M 64k' 'write -z 4M 64k'
}

case_discard() {
    qcreate "$1/img.qcow2" 16M
    qio "$1/img.qcow2" qcow2 'write -P 0x74 0 4M' 'discard 1M 1M' 'discard 2101248 8k' \
        'discard 3M 64k'
}

case_zlib() { # compressed by convert -c, then a cluster rewritten over one
    make_mixed_raw "$1/src.raw" $((6 << 20))
    qemu-img convert -q -c -f raw -O qcow2 -o compression_type=zlib "$1/src.raw" "$1/img.qcow2"
    rm -f "$1/src.raw"
    qio "$1/img.qcow2" qcow2 'write -P 0x81 128k 4k'
}

case_zlib_v2_4k() {
    make_mixed_raw "$1/src.raw" $((6 << 20))
    qemu-img convert -q -c -f raw -O qcow2 -o compat=0.10,cluster_size=4k "$1/src.raw" \
        "$1/img.qcow2"
    rm -f "$1/src.raw"
}

case_zstd() { # compressed clusters next to ones written by qemu-io -c
    make_mixed_raw "$1/src.raw" $((6 << 20))
    qemu-img convert -q -c -f raw -O qcow2 -o compression_type=zstd "$1/src.raw" \
        "$1/img.qcow2"
    rm -f "$1/src.raw"
    qemu-img resize -q -f qcow2 "$1/img.qcow2" 8M
    qio "$1/img.qcow2" qcow2 'write -c -P 0x82 7M 64k'
}

case_zstd_2m() {
    make_mixed_raw "$1/src.raw" $((9 << 20))
    qemu-img convert -q -c -f raw -O qcow2 -o compression_type=zstd,cluster_size=2M \
        "$1/src.raw" "$1/img.qcow2"
    rm -f "$1/src.raw"
}

case_extended_l2() { # 32 subclusters of 2 KiB per 64 KiB cluster
    qcreate -o extended_l2=on,cluster_size=64k "$1/img.qcow2" 8M
    qio "$1/img.qcow2" qcow2 'write -P 0x91 4k 2k' 'write -z 10k 6k' \
        'write -P 0x92 96k 4k' 'write -P 0x93 1M 64k' 'write -z -u 1056k 8k' \
        'write -P 0x94 2047k 3k'
}

case_extended_l2_backing() { # unallocated subclusters come from the backing file
    qemu-img create -q -f raw "$1/base.raw" 4M
    qio "$1/base.raw" raw 'write -P 0xb1 0 4M'
    qcreate -o extended_l2=on,cluster_size=32k -b base.raw -F raw "$1/img.qcow2" 4M
    qio "$1/img.qcow2" qcow2 'write -P 0x95 1k 1k' 'write -z 5k 2k' 'write -P 0x96 40k 3k' \
        'write -z -u 64k 32k'
}

case_chain() { # qcow2 -> qcow2 -> raw, relative names, shorter backing files
    mkdir -p "$1/layers"
    qemu-img create -q -f raw "$1/layers/base.raw" 1M
    qio "$1/layers/base.raw" raw 'write -P 0xc1 0 1M' 'write -z 256k 64k'
    qcreate -b base.raw -F raw "$1/layers/mid.qcow2" 3M
    qio "$1/layers/mid.qcow2" qcow2 'write -P 0xc2 512k 64k' 'write -z 768k 64k' \
        'write -P 0xc3 2M 100k'
    qcreate -b layers/mid.qcow2 -F qcow2 "$1/img.qcow2" 5M
    qio "$1/img.qcow2" qcow2 'write -P 0xc4 0 64k' 'write -z 2M 64k' 'write -P 0xc5 4M 64k'
}

case_snapshots() { # internal snapshots, and writes after each
    qcreate "$1/img.qcow2" 8M
    qio "$1/img.qcow2" qcow2 'write -P 0xd1 0 1M' 'write -P 0xd2 6M 64k'
    qemu-img snapshot -c s1 "$1/img.qcow2"
    qio "$1/img.qcow2" qcow2 'write -P 0xd3 512k 1M' 'write -z 4M 64k' 'discard 6M 64k'
    qemu-img snapshot -c s2 "$1/img.qcow2"
    qio "$1/img.qcow2" qcow2 'write -P 0xd4 0 64k' 'discard 512k 64k' 'write -P 0xd5 7M 4k'
    printf '%s\n' 's1 snapshot.name=s1' '2 snapshot.id=2' >"$1/snapshots"
}

case_data_file() { # an external data file, data_file_raw=off
    qcreate -o data_file=img.data "$1/img.qcow2" 8M
    qio "$1/img.qcow2" qcow2 'write -P 0xe1 0 64k' 'write -P 0xe2 3M 100k' 'write -z 64k 64k'
}

case_data_file_raw() { # data_file_raw=on: the data file is the raw image too
    qcreate -o data_file=img.data,data_file_raw=on "$1/img.qcow2" 8M
    qio "$1/img.qcow2" qcow2 'write -P 0xe3 0 64k' 'write -P 0xe4 5M 64k' 'write -z 1M 64k'
}

case_dirty() { # lazy refcounts and a crash: the dirty bit
    qcreate -o lazy_refcounts=on "$1/img.qcow2" 8M
    qio "$1/img.qcow2" qcow2 'write -P 0xf1 0 128k' 'write -P 0xf2 5M 64k'
    set_incompatible_bit "$1/img.qcow2" 0
}

case_corrupt() { # QEMU marked it corrupt: it still reads (read-only)
    qcreate "$1/img.qcow2" 8M
    qio "$1/img.qcow2" qcow2 'write -P 0xf3 0 64k' 'write -P 0xf4 1M 64k'
    set_incompatible_bit "$1/img.qcow2" 1
}

# fill_holes DIR: allocate every block of DIR's qcow2 files (not of its raw
# files: their holes are what a map shows).  qemu-img map guesses from a
# qcow2 file's allocation whether it was made with preallocation=metadata
# (qcow2_detect_metadata_preallocation: one cluster in ten that is in use
# but not allocated), and then asks the file system which parts of each data
# cluster read as zeros.  The small images qemu-io makes sit right at that
# threshold, and which side they fall on depends on how the file system
# placed the writes; filled in, only the preallocated case is read that way.
fill_holes() {
    local file
    for file in "$1"/*.qcow2 "$1"/layers/*.qcow2; do
        [ -f "$file" ] || continue
        cp --sparse=never "$file" "$file.filled" && mv "$file.filled" "$file"
    done
}

matrix_cases=(v2_64k v3_512 v3_4k_refcount1 v3_odd_size v3_2m v3_3g_sparse zero_v3 zero_v2
    prealloc_metadata prealloc_falloc discard zlib zlib_v2_4k zstd zstd_2m extended_l2
    extended_l2_backing chain snapshots data_file data_file_raw dirty corrupt)

build_matrix() {
    local dir=$1 name
    local -a cases
    read -r -a cases <<<"${MATRIX_CASES:-${matrix_cases[*]}}"
    : >"$dir/cases"
    for name in "${cases[@]}"; do
        mkdir -p "$dir/$name"
        # In the case's directory: QEMU 7.2 makes and opens an external data
        # file named relative to its working directory, not to the image.
        if ! (cd "$dir/$name" && "case_$name" "$dir/$name"); then
            note_fail "$name: qemu-img/qemu-io could not build the image"
            continue
        fi
        [ "$name" = prealloc_metadata ] || fill_holes "$dir/$name"
        echo "$name" >>"$dir/cases"
    done
}

# ---------------------------------------------------------------- checks

# qimg ARGS...: qemu-img in the directory of the case being checked (see
# build_matrix: that is where QEMU 7.2 looks for a data file).
qimg() { (cd "$case_dir" && qemu-img "$@"); }

# allocated FILE: bytes the file system allocates for FILE.
allocated() { echo $(($(stat -c %b "$1") * $(stat -c %B "$1"))); }

# check_convert CASE LOCAL TARGET TAG [GLUVIRT_SNAPSHOT QEMU_L]
check_convert() {
    local name=$1 local_img=$2 target=$3 tag=$4 snap=${5:-} qemu_l=${6:-}
    local ours=$work/$name.$tag.ours.raw ref=$work/$name.$tag.ref.raw ours_alloc ref_alloc
    local snap_args=() qemu_args=()
    [ -z "$snap" ] || snap_args=(--snapshot "$snap")
    [ -z "$qemu_l" ] || qemu_args=(-l "$qemu_l")

    if ! qimg convert -f qcow2 "${qemu_args[@]}" -O raw "$local_img" "$ref" \
        2>"$work/$name.$tag.ref.err"; then
        note_fail "$name: qemu-img convert ${qemu_args[*]}: $(cat "$work/$name.$tag.ref.err")"
        return
    fi
    if ! "$GLUVIRT" convert -f qcow2 "${snap_args[@]}" -O raw "$target" "$ours" \
        2>"$work/$name.$tag.ours.err"; then
        note_fail "$name: gluvirt convert ${snap_args[*]}: $(cat "$work/$name.$tag.ours.err")"
        rm -f "$ref" "$ours"
        return
    fi
    if ! cmp -s "$ours" "$ref"; then
        note_fail "$name: gluvirt convert ${snap_args[*]} differs from qemu-img convert" \
            "${qemu_args[*]}: $(cmp "$ours" "$ref" 2>&1 | head -n 1)"
    else
        ours_alloc=$(allocated "$ours")
        ref_alloc=$(allocated "$ref")
        if [ "$ours_alloc" -gt $((ref_alloc + 65536)) ]; then
            note_fail "$name: gluvirt convert ${snap_args[*]} allocated $ours_alloc bytes," \
                "qemu-img convert $ref_alloc"
        else
            note_pass "$name: convert ${snap_args[*]} ($(stat -c %s "$ours") bytes, allocated:" \
                "gluvirt $ours_alloc, qemu-img $ref_alloc)"
        fi
    fi
    rm -f "$ref" "$ours"
}

# check_map CASE LOCAL TARGET
check_map() {
    local name=$1 local_img=$2 target=$3 ours_rc=0 ref_rc=0 out
    for out in json human; do
        [ "$out" = json ] || [ "${MATRIX_HUMAN:-0}" = 1 ] || continue
        ours_rc=0 ref_rc=0
        qimg map -f qcow2 --output=$out "$local_img" >"$work/$name.map-$out.ref" \
            2>"$work/$name.map-$out.ref.err" || ref_rc=$?
        "$GLUVIRT" map -f qcow2 --output=$out "$target" >"$work/$name.map-$out.ours" \
            2>"$work/$name.map-$out.ours.err" || ours_rc=$?
        if [ "$ref_rc" != 0 ] && [ "$out" = json ]; then
            note_fail "$name: qemu-img map: $(cat "$work/$name.map-$out.ref.err")"
        elif [ "$ours_rc" != "$ref_rc" ]; then
            note_fail "$name: gluvirt map --output=$out exited $ours_rc, qemu-img map" \
                "$ref_rc: $(cat "$work/$name.map-$out.ours.err")"
        elif ! cmp -s "$work/$name.map-$out.ours" "$work/$name.map-$out.ref"; then
            note_fail "$name: gluvirt map --output=$out differs from qemu-img map" \
                "(< gluvirt, > qemu-img):"$'\n'"$(diff "$work/$name.map-$out.ours" \
                    "$work/$name.map-$out.ref" | head -n 12)"
        else
            note_pass "$name: map --output=$out ($(wc -l <"$work/$name.map-$out.ours") lines)"
        fi
    done
}

# check_info CASE LOCAL_DIR TARGET_DIR [COMPARE-INFO OPTIONS...]
check_info() {
    local name=$1 local_dir=$2 target_dir=$3 chain rc
    shift 3
    for chain in "" --backing-chain; do
        [ -z "$chain" ] || qimg info -f qcow2 "$local_dir/img.qcow2" | grep -q '^backing file:' ||
            continue
        rc=0
        qimg info $chain -f qcow2 --output=json "$local_dir/img.qcow2" \
            >"$work/$name.info$chain.ref" 2>"$work/$name.info$chain.ref.err" || rc=$?
        if [ "$rc" != 0 ]; then
            note_fail "$name: qemu-img info $chain: $(cat "$work/$name.info$chain.ref.err")"
            continue
        fi
        if ! "$GLUVIRT" info $chain -f qcow2 --json "$target_dir/img.qcow2" \
            >"$work/$name.info$chain.ours" 2>"$work/$name.info$chain.ours.err"; then
            note_fail "$name: gluvirt info $chain: $(cat "$work/$name.info$chain.ours.err")"
            continue
        fi
        if ! /usr/bin/python3 "$here/compare-info.py" "$@" "$work/$name.info$chain.ours" \
            "$work/$name.info$chain.ref" >"$work/$name.info$chain.cmp" 2>&1; then
            note_fail "$name: gluvirt info $chain --json disagrees with qemu-img info:" \
                "$(cat "$work/$name.info$chain.cmp")"
        else
            note_pass "$name: info $chain --json ($(cat "$work/$name.info$chain.cmp"))"
        fi
        [ "${MATRIX_HUMAN:-0}" = 1 ] || continue
        # "data file raw" is one of NOT_REPORTED in compare-info.py.
        qimg info $chain -f qcow2 "$local_dir/img.qcow2" | grep -v '^    data file raw: ' \
            >"$work/$name.infoh$chain.ref"
        "$GLUVIRT" info $chain -f qcow2 "$target_dir/img.qcow2" >"$work/$name.infoh$chain.ours" \
            2>/dev/null || true
        if ! cmp -s "$work/$name.infoh$chain.ours" "$work/$name.infoh$chain.ref"; then
            note_fail "$name: gluvirt info $chain differs from qemu-img info (< gluvirt," \
                "> qemu-img):"$'\n'"$(diff "$work/$name.infoh$chain.ours" \
                    "$work/$name.infoh$chain.ref" | head -n 12)"
        else
            note_pass "$name: info $chain (text)"
        fi
    done
}

# check_case CASE LOCAL_DIR TARGET_DIR [COMPARE-INFO OPTIONS...]: every check
# of one case; LOCAL_DIR and TARGET_DIR are the directories above the cases.
check_case() {
    local name=$1 local_dir=$2/$1 target_dir=$3/$1 snap qemu_l
    shift 3
    case_dir=$local_dir
    check_convert "$name" "$local_dir/img.qcow2" "$target_dir/img.qcow2" current
    if [ -f "$local_dir/snapshots" ]; then
        while read -r snap qemu_l; do
            check_convert "$name" "$local_dir/img.qcow2" "$target_dir/img.qcow2" \
                "snapshot-$snap" "$snap" "$qemu_l"
        done <"$local_dir/snapshots"
    fi
    check_map "$name" "$local_dir/img.qcow2" "$target_dir/img.qcow2"
    check_info "$name" "$local_dir" "$target_dir" "$@"
}

# summary SCRIPT: the verdict line, and the exit status.
summary() {
    local f
    echo "$1: $passes passed, ${#failures[@]} failed"
    if [ "${#failures[@]}" -gt 0 ]; then
        echo "failures:" >&2
        for f in "${failures[@]}"; do
            printf '  - %s\n' "$f" >&2
        done
        return 1
    fi
}
