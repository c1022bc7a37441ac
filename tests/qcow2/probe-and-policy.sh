#!/bin/bash
# What an image's own bytes may decide, on local files:
#   - a raw disk whose first bytes are a qcow2 header (as a guest can write
#     into its disk) is read as raw by default: gluvirt_image_open without
#     options (through ctypes), and gluvirt convert/info/map -f raw, agree
#     with qemu-img -f raw; -f qcow2, or no -f (the commands then probe, and
#     say so on stderr), read the qcow2 image the header describes;
#   - backing file names the default policy (same store) refuses for a local
#     image: a gluster URI, "file:" and "json:" names; --backing any reads a
#     "file:" name as qemu-img does; --backing none reads zeros where the
#     image holds nothing, as QEMU does with "backing": null;
#   - a missing backing file: convert fails naming it; info describes the
#     image anyway, as qemu-img info does.
# GLUVIRT names the gluvirt program; the library is found next to it (or
# set GLUVIRT_LIB to libgluvirt.so).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/qcow2/matrix-lib.sh
. "$here/matrix-lib.sh"
lib=${GLUVIRT_LIB:-${top_builddir:-$(dirname "$GLUVIRT")/..}/lib/.libs/libgluvirt.so}
[ -f "$lib" ] || { echo "FAIL: no library at $lib (set GLUVIRT_LIB)" >&2; exit 1; }

work=$(mktemp -d /tmp/qcow2-probe.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
case_dir=$work

# expect_pass NAME COMMAND...: the command succeeds.
expect_pass() {
    local what=$1
    shift
    if "$@" >"$work/out" 2>"$work/err"; then
        note_pass "$what"
    else
        note_fail "$what: '$*' failed: $(cat "$work/err")"
    fi
}

# expect_refusal NAME TEXT COMMAND...: the command fails, its message holds TEXT.
expect_refusal() {
    local what=$1 text=$2 rc=0
    shift 2
    "$@" >"$work/out" 2>"$work/err" || rc=$?
    if [ "$rc" = 0 ]; then
        note_fail "$what: '$*' succeeded"
    elif ! grep -qF -- "$text" "$work/err"; then
        note_fail "$what: '$*' failed without saying '$text': $(cat "$work/err")"
    else
        note_pass "$what ($(head -c 160 "$work/err"))"
    fi
}

# ---------------------------------------------------------------- a qcow2 header in a raw disk
# The header names a host file as its backing file: what a guest would write
# to reach the host's files if its disk were probed.
qemu-img create -q -f raw disk.raw 4M
qio disk.raw raw 'write -P 0x5a 0 4M'
qemu-img create -q -f qcow2 -u -b /etc/hostname -F raw header.qcow2 64M
dd if=header.qcow2 of=disk.raw conv=notrunc status=none
cmp -s -n 4 disk.raw <(printf 'QFI\373') || note_fail "disk.raw does not start with a qcow2 header"

if /usr/bin/python3 - "$lib" "$work/disk.raw" >"$work/ctypes.out" 2>&1 <<'EOF'; then
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.gluvirt_image_open.restype = ctypes.c_void_p
lib.gluvirt_image_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
lib.gluvirt_image_format.restype = ctypes.c_char_p
lib.gluvirt_image_format.argtypes = [ctypes.c_void_p]
lib.gluvirt_image_size.restype = ctypes.c_int64
lib.gluvirt_image_size.argtypes = [ctypes.c_void_p]
lib.gluvirt_image_pread.restype = ctypes.c_ssize_t
lib.gluvirt_image_pread.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                    ctypes.c_uint64]
lib.gluvirt_image_close.argtypes = [ctypes.c_void_p]
lib.gluvirt_errmsg.restype = ctypes.c_char_p
image = lib.gluvirt_image_open(None, sys.argv[2].encode(), None)
if not image:
    sys.exit("gluvirt_image_open: " + lib.gluvirt_errmsg().decode())
buf = ctypes.create_string_buffer(4)
got = lib.gluvirt_image_pread(image, buf, 4, 0)
result = (lib.gluvirt_image_format(image), lib.gluvirt_image_size(image), got, buf.raw)
lib.gluvirt_image_close(image)
if result != (b"raw", 4194304, 4, b"QFI\xfb"):
    sys.exit(f"opened without options: {result!r}, not raw, 4194304 bytes, QFI\\xfb")
EOF
    note_pass "gluvirt_image_open without options reads the disk as raw"
else
    note_fail "gluvirt_image_open without options: $(cat "$work/ctypes.out")"
fi

expect_pass "convert -f raw" "$GLUVIRT" convert -f raw -O raw disk.raw copy.raw
cmp -s copy.raw disk.raw || note_fail "convert -f raw did not copy the disk's bytes"
rm -f copy.raw

"$GLUVIRT" info -f raw --json disk.raw >ours.json 2>ours.err || note_fail "info -f raw: $(cat ours.err)"
qemu-img info -f raw --output=json disk.raw >ref.json
if /usr/bin/python3 "$here/compare-info.py" ours.json ref.json >cmp.out 2>&1; then
    note_pass "info -f raw agrees with qemu-img info -f raw"
else
    note_fail "info -f raw: $(cat cmp.out)"
fi
[ ! -s ours.err ] || note_fail "info -f raw wrote to stderr: $(cat ours.err)"

"$GLUVIRT" map -f raw --output=json disk.raw >ours.map 2>ours.err || note_fail "map -f raw: $(cat ours.err)"
qemu-img map -f raw --output=json disk.raw >ref.map
if cmp -s ours.map ref.map; then
    note_pass "map -f raw prints qemu-img map -f raw"
else
    note_fail "map -f raw differs:"$'\n'"$(diff ours.map ref.map)"
fi

# Asked for: -f qcow2, or probing (no -f), read the header's image.
for how in "-f qcow2" ""; do
    # shellcheck disable=SC2086 # $how is one option or none
    "$GLUVIRT" info $how --json disk.raw >ours.json 2>ours.err ||
        note_fail "info ${how:-without -f}: $(cat ours.err)"
    if ! /usr/bin/python3 -c '
import json, sys
info = json.load(open(sys.argv[1]))
sys.exit(info.get("format") != "qcow2" or info.get("virtual-size") != 64 << 20)' ours.json; then
        note_fail "info ${how:-without -f} did not read the qcow2 image: $(cat ours.json)"
    elif [ -z "$how" ] && ! grep -q "probed.*qcow2" ours.err; then
        note_fail "info without -f probed without saying so: $(cat ours.err)"
    elif [ -n "$how" ] && [ -s ours.err ]; then
        note_fail "info -f qcow2 wrote to stderr: $(cat ours.err)"
    else
        note_pass "info ${how:-without -f (probing, with a note)} reads the header's qcow2 image"
    fi
done
qemu-img info --output=json disk.raw >ref.json 2>/dev/null
"$GLUVIRT" info --json disk.raw >ours.json 2>/dev/null
if /usr/bin/python3 "$here/compare-info.py" ours.json ref.json >cmp.out 2>&1; then
    note_pass "info without -f agrees with qemu-img info without -f"
else
    note_fail "info without -f: $(cat cmp.out)"
fi
"$GLUVIRT" map --output=json disk.raw >/dev/null 2>ours.err
if grep -q "probed.*qcow2" ours.err; then
    note_pass "map without -f probes, and says so"
else
    note_fail "map without -f: $(cat ours.err)"
fi

# ---------------------------------------------------------------- backing names
qemu-img create -q -f raw base.raw 1M
qio base.raw raw 'write -P 0x3c 0 1M'
qemu-img create -q -f qcow2 -u -b gluster://127.0.0.1/gv0/base.raw -F raw uri.qcow2 1M
qemu-img create -q -f qcow2 -u -b file:base.raw -F raw file.qcow2 1M
qemu-img create -q -f qcow2 -u -b 'json:{"driver":"file","filename":"base.raw"}' -F raw \
    json.qcow2 1M
qemu-img create -q -f qcow2 -b base.raw -F raw plain.qcow2 1M
qio plain.qcow2 qcow2 'write -P 0x4d 64k 64k'
qemu-img create -q -f qcow2 -u -b missing.raw -F raw missing.qcow2 1M

expect_refusal "a gluster backing file of a local image is refused" \
    "gluster://127.0.0.1/gv0/base.raw" "$GLUVIRT" convert -f qcow2 -O raw uri.qcow2 out.raw
expect_refusal "a file: backing name is refused" "file:base.raw" \
    "$GLUVIRT" convert -f qcow2 -O raw file.qcow2 out.raw
expect_refusal "a json: backing name is refused" 'json:{' \
    "$GLUVIRT" map -f qcow2 --output=json json.qcow2
expect_refusal "a json: backing name is refused with --backing any too" 'json:{' \
    "$GLUVIRT" map -f qcow2 --backing any --output=json json.qcow2

# Direct I/O is for raw images: a qcow2 image says so instead of failing a
# metadata read with a bare EINVAL.
expect_refusal "a qcow2 image with direct I/O is refused, naming the option" \
    "without -t none" "$GLUVIRT" bench -f qcow2 -t none -c 1 plain.qcow2

qimg convert -f qcow2 -O raw file.qcow2 ref.raw
expect_pass "convert --backing any reads a file: name" \
    "$GLUVIRT" convert -f qcow2 --backing any -O raw file.qcow2 out.raw
if cmp -s out.raw ref.raw; then
    note_pass "  ... the bytes qemu-img reads"
else
    note_fail "convert --backing any of file.qcow2 differs from qemu-img convert"
fi

qemu-img convert -O raw \
    'json:{"driver":"qcow2","backing":null,"file":{"driver":"file","filename":"plain.qcow2"}}' \
    ref.raw
expect_pass "convert --backing none" "$GLUVIRT" convert -f qcow2 --backing none -O raw \
    plain.qcow2 out.raw
if cmp -s out.raw ref.raw; then
    note_pass "  ... the bytes of qemu-img with \"backing\": null"
else
    note_fail "convert --backing none differs from qemu-img with \"backing\": null"
fi

expect_refusal "a missing backing file fails the convert" "missing.raw" \
    "$GLUVIRT" convert -f qcow2 -O raw missing.qcow2 out.raw
if "$GLUVIRT" info -f qcow2 --json missing.qcow2 >ours.json 2>ours.err &&
    grep -q "warning: .*missing.raw" ours.err; then
    qemu-img info -f qcow2 --output=json missing.qcow2 >ref.json
    if /usr/bin/python3 - ours.json ref.json <<'EOF'; then
import json, sys
ours, ref = (json.load(open(p)) for p in sys.argv[1:3])
keys = ("virtual-size", "format", "backing-filename", "backing-filename-format")
sys.exit(any(ours.get(k) != ref.get(k) for k in keys))
EOF
        note_pass "info describes an image whose backing file is missing, with a warning"
    else
        note_fail "info on missing.qcow2: $(cat ours.json)"
    fi
else
    note_fail "info on missing.qcow2: $(cat ours.err)"
fi

summary probe-and-policy
