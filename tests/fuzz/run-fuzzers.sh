#!/bin/sh
# Build the libFuzzer targets with ASan+UBSan and run each for a while.
#   tests/fuzz/run-fuzzers.sh [SECONDS-PER-TARGET]   (default 60)
# Run from a configured build tree (it needs config.h and gluvirt/version.h).
# Targets and their seed corpora:
#   fuzz_uri    every URI of the vector table, plus a few JSON and XML documents;
#   fuzz_qcow2  small qemu-img images (make-qcow2-seeds.sh; needs qemu-utils),
#               read, then opened writable and written (one run of each input).
# The library is compiled once; the targets then run side by side, each for
# SECONDS, so the whole run takes about SECONDS plus the build.  Findings are
# written to tests/fuzz/findings/ and make the script fail.
set -eu
seconds=${1:-60}
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -f "$builddir/config.h" ] || { echo "run-fuzzers: run me from a configured build tree" >&2; exit 1; }
command -v clang >/dev/null || { echo "run-fuzzers: clang not found: apt-get install clang" >&2; exit 1; }

targets="fuzz_uri fuzz_qcow2"
# Every library source: a target may reach any of them.
lib_sources=$(cd "$srcdir/lib" && ls -- */*.c)
sanitizers="address,undefined"
cflags="-g -O1 -fno-sanitize-recover=all -D_GNU_SOURCE -DHAVE_CONFIG_H \
-I$builddir -I$builddir/include -I$srcdir/include -I$srcdir/lib \
$(pkg-config --cflags glusterfs-api zlib libzstd)"
libs="$(pkg-config --libs glusterfs-api zlib libzstd) -lpthread"

# ---------------------------------------------------------------- seeds
# fuzz_uri: every URI of the vector table, and converter inputs.
mkdir -p "$work/corpus-fuzz_uri"
n=0
tail -n +2 "$srcdir/tests/uri/qemu-7.2-vectors.tsv" | grep -v '^#' | cut -f1 | while IFS= read -r uri; do
    n=$((n + 1))
    printf '%s' "$uri" > "$work/corpus-fuzz_uri/uri-$n"
done
printf '%s' 'json:{"driver":"gluster","volume":"v","path":"a.img","server":[{"type":"inet","host":"h","port":"24007"},{"type":"unix","path":"/run/g.sock"}]}' > "$work/corpus-fuzz_uri/json-1"
printf '%s' '{"driver":"qcow2","file":{"driver":"gluster","volume":"v","path":"d/a.img","server":[{"type":"tcp","host":"::1","port":24007}]}}' > "$work/corpus-fuzz_uri/json-2"
printf '%s' "<disk type='network'><source protocol='gluster' name='v/a.img'><host name='h' port='24007'/><host transport='unix' socket='/s'/></source></disk>" > "$work/corpus-fuzz_uri/xml-1"
# fuzz_qcow2: qemu-img images.
sh "$srcdir/tests/fuzz/make-qcow2-seeds.sh" "$work/corpus-fuzz_qcow2"

# ---------------------------------------------------------------- build
echo "run-fuzzers: building the library"
mkdir -p "$work/obj"
export work srcdir cflags sanitizers
# shellcheck disable=SC2016
printf '%s\n' $lib_sources | xargs -P "$(nproc)" -I{} sh -c \
    'clang $cflags -fsanitize=fuzzer-no-link,$sanitizers -c "$srcdir/lib/$1" -o "$work/obj/$(basename "$1").o"' \
    sh {}
for target in $targets; do
    echo "run-fuzzers: building $target"
    # shellcheck disable=SC2086
    clang $cflags -fsanitize=fuzzer,$sanitizers -o "$work/$target" "$srcdir/tests/fuzz/$target.c" \
        "$work"/obj/*.o $libs
done

# ---------------------------------------------------------------- run
mkdir -p "$srcdir/tests/fuzz/findings"
for target in $targets; do
    echo "run-fuzzers: running $target for ${seconds}s"
    "$work/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$srcdir/tests/fuzz/findings/$target-" \
        -print_final_stats=1 "$work/corpus-$target" > "$work/$target.log" 2>&1 &
    echo $! > "$work/$target.pid"
done
status=0
for target in $targets; do
    if ! wait "$(cat "$work/$target.pid")"; then
        tail -n 60 "$work/$target.log" >&2
        echo "run-fuzzers: $target FAILED; the input is in tests/fuzz/findings/" >&2
        status=1
    else
        grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)' "$work/$target.log" || true
        echo "run-fuzzers: $target ran ${seconds}s without a finding"
    fi
done
exit $status
