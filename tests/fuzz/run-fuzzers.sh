#!/bin/sh
# Build the libFuzzer targets with ASan+UBSan and run each for a while.
#   tests/fuzz/run-fuzzers.sh [SECONDS-PER-TARGET]   (default 60)
# Run from a configured build tree (it needs config.h and gluvirt/version.h).
# The seed corpus is the URI vector table plus a few JSON and XML documents;
# findings are written to tests/fuzz/findings/ and make the script fail.
set -eu
seconds=${1:-60}
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -f "$builddir/config.h" ] || { echo "run-fuzzers: run me from a configured build tree" >&2; exit 1; }
command -v clang >/dev/null || { echo "run-fuzzers: clang not found: apt-get install clang" >&2; exit 1; }

lib_sources="error.c strbuf.c utf8.c version.c uri.c uri_parse.c uri_format.c json.c uri_qemu_json.c xml.c uri_libvirt_xml.c gluster_connect.c pool_options.c pool.c iov.c storage_common.c storage_gluster.c storage_local.c format_raw.c image.c image_aio.c"
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE -DHAVE_CONFIG_H"
includes="-I$builddir -I$builddir/include -I$srcdir/include -I$srcdir/lib"

# Seeds: every URI of the vector table, and converter inputs.
mkdir -p "$work/corpus"
n=0
tail -n +2 "$srcdir/tests/uri/qemu-7.2-vectors.tsv" | grep -v '^#' | cut -f1 | while IFS= read -r uri; do
    n=$((n + 1))
    printf '%s' "$uri" > "$work/corpus/uri-$n"
done
printf '%s' 'json:{"driver":"gluster","volume":"v","path":"a.img","server":[{"type":"inet","host":"h","port":"24007"},{"type":"unix","path":"/run/g.sock"}]}' > "$work/corpus/json-1"
printf '%s' '{"driver":"qcow2","file":{"driver":"gluster","volume":"v","path":"d/a.img","server":[{"type":"tcp","host":"::1","port":24007}]}}' > "$work/corpus/json-2"
printf '%s' "<disk type='network'><source protocol='gluster' name='v/a.img'><host name='h' port='24007'/><host transport='unix' socket='/s'/></source></disk>" > "$work/corpus/xml-1"

status=0
for target in fuzz_uri; do
    echo "run-fuzzers: building $target"
    # shellcheck disable=SC2086
    clang $flags $includes -o "$work/$target" "$srcdir/tests/fuzz/$target.c" \
        $(for f in $lib_sources; do echo "$srcdir/lib/$f"; done) $(pkg-config --cflags --libs glusterfs-api) -lpthread
    mkdir -p "$srcdir/tests/fuzz/findings"
    echo "run-fuzzers: running $target for ${seconds}s"
    if ! "$work/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$srcdir/tests/fuzz/findings/$target-" \
            -print_final_stats=1 "$work/corpus" > "$work/$target.log" 2>&1; then
        tail -n 60 "$work/$target.log" >&2
        echo "run-fuzzers: $target FAILED; the input is in tests/fuzz/findings/" >&2
        status=1
    else
        grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)' "$work/$target.log" || true
        echo "run-fuzzers: $target ran ${seconds}s without a finding"
    fi
done
exit $status
