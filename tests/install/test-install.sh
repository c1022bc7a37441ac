#!/bin/bash
# 'make install DESTDIR=STAGE' checked as a user of the installed tree would
# use it, with nothing from the build directory:
#   - pkg-config finds gluvirt with only the staged .pc on its path (no
#     glusterfs-api.pc needed), and --static names every library that
#     libgluvirt.so needs;
#   - the examples, copied out of the tree, build with pkg-config (shared, and
#     static against the library's archive), link and run on local images:
#     what they read is what qemu-img reads;
#   - every exported symbol has a section 3 page, and every installed page
#     formats without a warning;
#   - the nbdkit plugin sits in nbdkit's plugin directory (no .la), loads with
#     nbdkit --dump-plugin, refuses bad parameters naming them, and serves a
#     local qcow2 image that nbdinfo and qemu-img compare judge; on the
#     gluster test volume (skipped without one, failing when
#     GLUVIRT_REQUIRE_GLUSTER=1) it serves an image named in each target form
#     to nbdinfo and qemu-img compare;
#   - Python imports the staged package, where /usr/bin/python3 looks, with
#     errors that are both gluvirt.Error and OSError subclasses, and refuses
#     a library older than itself;
#   - make uninstall leaves no file behind.
set -euo pipefail
: "${top_srcdir:?set top_srcdir}" "${top_builddir:?set top_builddir}"
MAKE=${MAKE:-make}
passed=0
ok() {
    echo "ok: $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

work=$(mktemp -d)
nbdkit_pid=
cleanup() {
    [ -z "$nbdkit_pid" ] || kill "$nbdkit_pid" 2>/dev/null || :
    rm -rf "$work"
}
trap cleanup EXIT
stage=$work/stage

# ---------------------------------------------------------------- install
# The install of this build, into the staging tree only (MAKEFLAGS of an
# enclosing 'make check' would pass its own goals and jobserver along).
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" -C "$top_builddir" install \
    DESTDIR="$stage" >"$work/install.log" 2>&1 ||
    { tail -n 30 "$work/install.log"; fail "make install DESTDIR=$stage failed"; }
ok "make install DESTDIR=... succeeded"

pc=$(find "$stage" -name gluvirt.pc -print -quit)
[ -n "$pc" ] || fail "gluvirt.pc is not installed"
so=$(find "$stage" -name libgluvirt.so.0 -print -quit)
[ -n "$so" ] || fail "libgluvirt.so.0 is not installed"
libdir=$(dirname "$so")
mandir=$(find "$stage" -type d -name man3 -print -quit)
[ -n "$mandir" ] || fail "no man3 directory was installed"
mandir=$(dirname "$mandir")
include=$(find "$stage" -type d -path '*/include/gluvirt' -print -quit)
[ -f "$include/gluvirt.h" ] && [ -f "$include/version.h" ] || fail "headers are not installed"
ok "library, headers, gluvirt.pc and man pages are in the staging tree"

# ---------------------------------------------------------------- pkg-config
# Only the staged tree on pkg-config's path: the system's .pc files
# (glusterfs-api.pc among them) are out of reach.
pkgconf() {
    PKG_CONFIG_LIBDIR=$(dirname "$pc") PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR=$stage \
        pkg-config "$@"
}
if ! pkgconf --exists gluvirt 2>"$work/pc.err"; then
    cat "$work/pc.err" >&2
    fail "pkg-config cannot use gluvirt.pc without glusterfs-api.pc on its path"
fi
cflags=$(pkgconf --cflags gluvirt)
libs=$(pkgconf --libs gluvirt)
static_libs=$(pkgconf --static --libs gluvirt)
case " $cflags " in *" -I$stage/"*) ;; *) fail "--cflags '$cflags' does not name the staged include directory" ;; esac
case " $libs " in *" -lgluvirt "*) ;; *) fail "--libs '$libs' has no -lgluvirt" ;; esac
ok "pkg-config --cflags --libs gluvirt works without glusterfs-api.pc: $cflags $libs"

# --static is complete when it names every library libgluvirt.so needs
# (libc and the dynamic loader aside).
readelf -d "$so" | sed -n 's/.*NEEDED.*\[lib\([^].]*\)\.so.*/\1/p' >"$work/needed"
while read -r need; do
    case $need in c | dl | m | rt | pthread) continue ;; esac
    case " $static_libs " in
    *" -l$need "*) ;;
    *) fail "pkg-config --static --libs gluvirt ('$static_libs') lacks -l$need, which libgluvirt.so needs" ;;
    esac
done <"$work/needed"
ok "pkg-config --static --libs names every library libgluvirt.so needs: $static_libs"

# ---------------------------------------------------------------- examples
# Copied out of the source tree and built as their comments say.
mkdir "$work/ex"
cp "$top_srcdir"/examples/*.c "$work/ex/"
for src in "$work"/ex/*.c; do
    name=$(basename "$src" .c)
    # shellcheck disable=SC2086
    cc -o "$work/ex/$name" "$src" $cflags $libs -pthread 2>"$work/ex/$name.err" ||
        { cat "$work/ex/$name.err" >&2; fail "examples/$name.c does not build against the staged tree"; }
    # the static link: the library's archive instead of -lgluvirt, and what
    # --static adds for it; nothing else
    archive=$top_builddir/lib/.libs/libgluvirt_core.a
    # shellcheck disable=SC2086
    cc -o "$work/ex/$name-static" "$src" $cflags -pthread \
        $(echo " $static_libs " | sed "s| -lgluvirt | $archive |") 2>"$work/ex/$name.err" ||
        { cat "$work/ex/$name.err" >&2; fail "examples/$name.c does not link statically with pkg-config --static"; }
    if readelf -d "$work/ex/$name-static" | grep -q 'libgluvirt'; then
        fail "$name-static still needs libgluvirt.so"
    fi
done
ok "the examples build from the staged tree with pkg-config, shared and static"

# Run them on local images: an image create_image made, data qemu-io
# wrote into it, copied out by poll_loop and threads; qemu-img reads the
# same bytes.
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null ||
    fail "qemu-img and qemu-io are needed (apt-get install qemu-utils)"
for kind in "" -static; do
    img=$work/ex/made$kind.qcow2
    LD_LIBRARY_PATH=$libdir "$work/ex/create_image$kind" -f qcow2 "$img" 4M >/dev/null ||
        fail "create_image$kind failed"
    qemu-img check -q "$img" || fail "qemu-img check finds fault with the image create_image$kind made"
    qemu-io -f qcow2 -c 'write -P 0x5a 64k 1M' -c 'write -P 0x17 3M 100k' "$img" >/dev/null
    qemu-img convert -f qcow2 -O raw "$img" "$work/ex/expected.raw"
    LD_LIBRARY_PATH=$libdir "$work/ex/poll_loop$kind" -f qcow2 "$img" "$work/ex/poll.raw" \
        >/dev/null || fail "poll_loop$kind failed"
    cmp "$work/ex/expected.raw" "$work/ex/poll.raw" || fail "poll_loop$kind read other bytes than qemu-img"
    LD_LIBRARY_PATH=$libdir "$work/ex/threads$kind" -f qcow2 "$img" 4 "$work/ex/threads.raw" \
        >/dev/null || fail "threads$kind failed"
    cmp "$work/ex/expected.raw" "$work/ex/threads.raw" || fail "threads$kind read other bytes than qemu-img"
done
ok "the examples run from the staged tree (shared and static): qemu-img check passes, the bytes are qemu-img's"

# ---------------------------------------------------------------- man pages
nm -D --defined-only "$so" | awk '$2 == "T" && $3 ~ /^gluvirt_/ { sub(/@.*/, "", $3); print $3 }' |
    sort -u >"$work/symbols"
[ -s "$work/symbols" ] || fail "no gluvirt_ symbols exported by $so"
missing=
while read -r symbol; do
    [ -f "$mandir/man3/$symbol.3" ] || missing="$missing $symbol"
done <"$work/symbols"
[ -z "$missing" ] || fail "exported symbols without a man page:$missing"
ok "each of the $(wc -l <"$work/symbols") exported symbols has its man3 page"

# Every page through groff at once, with every warning on (man --warnings
# asks groff for fewer); ".so" links must lead to a page that exists.  Then
# man -l itself on a page of each kind (one man run costs about half a
# second, too long for all of them on a loaded machine).
pages=$(find "$mandir" -type f -name '*.[0-9]' | wc -l)
(cd "$mandir" && groff -k -s -I. -man -Tutf8 -ww -z man*/*) 2>"$work/groff.err" ||
    fail "groff cannot format the installed pages"
[ ! -s "$work/groff.err" ] || { cat "$work/groff.err" >&2; fail "groff warns on the installed pages"; }
for page in "$mandir"/man*/*; do
    target=$(sed -n 's/^\.so //p' "$page")
    [ -z "$target" ] || [ -f "$mandir/$target" ] || fail "$page links to $target, which is not installed"
done
for page in man1/gluvirt.1 man1/nbdkit-gluvirt-plugin.1 man3/libgluvirt.3 man3/gluvirt_image.3 \
    man3/gluvirt_image_open.3 man3/gluvirt_image_preadv.3; do
    if [ ! -f "$mandir/$page" ]; then
        case $page in *nbdkit*) continue ;; esac # not installed without nbdkit
        fail "$page is not installed"
    fi
    (cd "$mandir" && MAN_DISABLE_SECCOMP=1 LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" \
        >"$work/page.txt" 2>"$work/page.err") || fail "man cannot render $page"
    [ ! -s "$work/page.err" ] || { cat "$work/page.err" >&2; fail "man warns on $page"; }
    [ -s "$work/page.txt" ] || fail "$page renders empty"
done
for page in "$mandir"/man3/gluvirt_image_open.3 "$mandir"/man3/gluvirt_image_preadv.3; do
    text=$(cd "$mandir" && MANWIDTH=80 man -l "man3/$(basename "$page")" 2>/dev/null)
    for heading in NAME SYNOPSIS DESCRIPTION "RETURN VALUE" ERRORS VERSION "SEE ALSO"; do
        grep -q "^$heading\$" <<<"$text" || fail "$(basename "$page") has no $heading section"
    done
done
ok "groff formats all $pages installed pages without a warning, man -l renders each kind; function pages have NAME .. SEE ALSO"

# ---------------------------------------------------------------- nbdkit plugin
plugin=
# where configure said the plugin goes (empty: not installed)
NBDKIT_PLUGINDIR=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" -s -C "$top_builddir" \
    print-nbdkit-plugindir | tail -n 1)
if [ -n "$NBDKIT_PLUGINDIR" ]; then
    plugin=$stage$NBDKIT_PLUGINDIR/nbdkit-gluvirt-plugin.so
    [ -f "$plugin" ] || fail "the nbdkit plugin is not installed in $NBDKIT_PLUGINDIR"
    [ ! -e "${plugin%.so}.la" ] || fail "libtool's .la was left in nbdkit's plugin directory"
    [ -f "$mandir/man1/nbdkit-gluvirt-plugin.1" ] || fail "nbdkit-gluvirt-plugin(1) is not installed"
    LD_LIBRARY_PATH=$libdir nbdkit --dump-plugin "$plugin" >"$work/dump" ||
        fail "nbdkit --dump-plugin cannot load the staged plugin"
    for line in name=gluvirt "version=$(sed -n 's/^Version: //p' "$pc")" has_block_size=1 \
        has_can_fast_zero=1 has_can_zero=1 has_can_trim=1 has_can_fua=1 has_can_flush=1 \
        has_can_multi_conn=1 has_config_complete=1 thread_model=parallel; do
        grep -qx "$line" "$work/dump" || fail "nbdkit --dump-plugin does not say $line"
    done
    ok "the plugin loads from nbdkit's plugin directory: $(grep -c . "$work/dump") lines of --dump-plugin"

    # config_complete refuses mistakes before serving, naming the parameter
    refuses() { # WORD PARAMETERS...
        local word=$1
        shift
        if LD_LIBRARY_PATH=$libdir timeout 20 nbdkit -f -U "$work/refused.sock" "$plugin" "$@" \
            --run true >"$work/refused.out" 2>&1; then
            fail "nbdkit accepted $*"
        fi
        grep -q -- "$word" "$work/refused.out" ||
            { cat "$work/refused.out" >&2; fail "the refusal of $* does not name $word"; }
    }
    refuses "file=" format=raw
    refuses "file=" "gluster://host:99999/vol/img"
    refuses "file=" 'json:{"driver":"gluster","volume":"v"}'
    refuses "file=" "<disk type='network'><source protocol='nbd' name='x'/></disk>"
    refuses "snapshot=" "$work/ex/made.qcow2" snapshot=s1
    refuses "format=" "$work/ex/made.qcow2" format=vmdk
    refuses "direct=" "$work/ex/made.qcow2" direct=maybe
    refuses "backing=" "$work/ex/made.qcow2" backing=elsewhere
    refuses "unknown parameter colour=" "$work/ex/made.qcow2" colour=blue
    ok "bad parameters are refused before serving, each message naming its parameter"

    # a local qcow2 image with 128 KiB clusters: block sizes, a writable
    # and a read-only export, judged by nbdinfo and qemu-img compare
    img=$work/served.qcow2
    qemu-img create -q -f qcow2 -o cluster_size=128k "$img" 8M
    qemu-io -f qcow2 -c 'write -P 0x33 0 300k' -c 'write -z 2M 1M' "$img" >/dev/null
    LD_LIBRARY_PATH=$libdir nbdkit -r -U - "$plugin" "$img" format=qcow2 \
        --run 'nbdinfo --json "$uri"' >"$work/info.json" || fail "nbdinfo on the read-only export failed"
    python3 - "$work/info.json" <<'EOF' || fail "nbdinfo does not see the read-only export's properties"
import json, sys
info = json.load(open(sys.argv[1]))
export = info["exports"][0]
want = {"block_size_minimum": 512, "block_size_preferred": 131072, "can_multi_conn": True,
        "is_read_only": True, "can_trim": False, "can_zero": False, "export-size": 8 << 20}
for key, value in want.items():
    if export.get(key) != value:
        sys.exit("%s is %r, want %r" % (key, export.get(key), value))
EOF
    LD_LIBRARY_PATH=$libdir nbdkit -U - "$plugin" "file=$img" format=qcow2 \
        --run 'nbdinfo --json "$uri"' >"$work/info-rw.json" || fail "nbdinfo on the writable export failed"
    python3 - "$work/info-rw.json" <<'EOF' || fail "nbdinfo does not see the writable export's properties"
import json, sys
export = json.load(open(sys.argv[1]))["exports"][0]
want = {"can_multi_conn": False, "is_read_only": False, "can_trim": True, "can_zero": True,
        "can_fast_zero": True, "can_fua": True, "can_flush": True}
for key, value in want.items():
    if export.get(key) != value:
        sys.exit("%s is %r, want %r" % (key, export.get(key), value))
EOF
    LD_LIBRARY_PATH=$libdir nbdkit -r -U - "$plugin" "$img" format=qcow2 \
        --run "qemu-img compare -f raw -F qcow2 \"\$uri\" '$img'" >/dev/null ||
        fail "qemu-img compare finds the NBD export of a local image unlike the image"
    ok "a local qcow2 image served by the staged plugin: nbdinfo sees its block sizes and flags, qemu-img compare finds it equal"
else
    echo "note: the nbdkit plugin is not installed by this configuration; its checks are left out"
fi

# ---------------------------------------------------------------- Python
site=$(/usr/bin/python3 -B "$top_srcdir/bindings/python/site-dir.py" "$(sed -n 's/^prefix=//p' "$pc")")
pkg=$stage$site/gluvirt
for f in __init__.py _errors.py py.typed _installed.py; do
    [ -f "$pkg/$f" ] || fail "the Python package lacks $f in $pkg"
done
if [ "$(sed -n 's/^prefix=//p' "$pc")" = /usr/local ]; then
    /usr/bin/python3 -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' "$site" ||
        fail "$site is not on /usr/bin/python3's sys.path"
fi
GLUVIRT_LIBRARY=$so PYTHONPATH=$stage$site /usr/bin/python3 -B - "$stage" "$work" <<'EOF' ||
import errno, os, sys
import gluvirt
stage, work = sys.argv[1], sys.argv[2]
assert gluvirt.__file__.startswith(stage), gluvirt.__file__
assert gluvirt.__version__ == gluvirt.library_version(), (gluvirt.__version__, gluvirt.library_version())
def raised(call):
    try:
        call()
    except gluvirt.Error as e:
        return e
    raise AssertionError("no error from %r" % call)
e = raised(lambda: gluvirt.open(os.path.join(work, "absent.raw")))
assert isinstance(e, FileNotFoundError) and e.errno == errno.ENOENT, (type(e), e)
e = raised(lambda: gluvirt.open(work))
assert isinstance(e, IsADirectoryError) and e.errno == errno.EISDIR, (type(e), e)
e = raised(lambda: gluvirt.Uri.parse("gluster://host:99999/v/i"))
assert type(e) is gluvirt.Error and e.errno == errno.EINVAL, (type(e), e)
# every errno Python maps to an OSError subclass gives that subclass too
for number in errno.errorcode:
    standard = type(OSError(number, "x"))
    ours = gluvirt.Error(number, "x")
    assert isinstance(ours, standard) and isinstance(ours, gluvirt.Error), (number, type(ours))
for name, number in (("ConnectionRefusedError", errno.ECONNREFUSED),
                     ("TimeoutError", errno.ETIMEDOUT), ("PermissionError", errno.EACCES),
                     ("PermissionError", errno.EPERM), ("FileExistsError", errno.EEXIST)):
    assert isinstance(gluvirt.Error(number, "x"), getattr(__import__("builtins"), name)), name
EOF
    fail "the staged Python package does not behave"
ok "Python imports the staged package from $site; errors are gluvirt.Error and the OSError subclass of their errno"

# a library older than the package: import fails, saying so
cat >"$work/old.c" <<'EOF'
const char *gluvirt_version(void) { return "0.9.0"; }
int gluvirt_errno(void) { return 0; }
const char *gluvirt_errmsg(void) { return ""; }
EOF
cc -shared -fPIC -o "$work/libgluvirt-old.so" "$work/old.c"
if GLUVIRT_LIBRARY=$work/libgluvirt-old.so PYTHONPATH=$stage$site /usr/bin/python3 -B -c 'import gluvirt' \
    2>"$work/old.err"; then
    fail "import gluvirt accepted libgluvirt 0.9.0"
fi
grep -q 'ImportError: gluvirt .* needs libgluvirt .* or later, but .* is version 0.9.0' "$work/old.err" ||
    { cat "$work/old.err" >&2; fail "the refusal of an old library does not say why"; }
ok "import gluvirt refuses a libgluvirt older than the package, naming both versions"

# ---------------------------------------------------------------- gluster
# shellcheck source=tests/gluster/lib.sh
. "$top_srcdir/tests/gluster/lib.sh"
if [ -z "${GLUVIRT_TEST_HOST:-}" ] && [ -f "${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}/env" ]; then
    # shellcheck disable=SC1091
    . "${GLUVIRT_CLUSTER_BASE:-/tmp/gluvirt-cluster}/env"
fi
if [ -z "${GLUVIRT_TEST_HOST:-}" ]; then
    [ "${GLUVIRT_REQUIRE_GLUSTER:-0}" != 1 ] ||
        fail "no gluster test volumes (start them: tests/cluster/test-volumes.sh up)"
    echo "note: no gluster test volumes: the plugin was not tried on gluster"
elif [ -n "$plugin" ]; then
    : "${GLUVIRT:=$top_builddir/tools/gluvirt}"
    name=install-$$
    uri=gluster://$GLUVIRT_TEST_HOST/gv1/$name.qcow2
    qemu-img create -q -f qcow2 "$work/$name.qcow2" 16M
    qemu-io -f qcow2 -c 'write -P 0x44 1M 3M' -c 'write -P 0x45 9M 64k' "$work/$name.qcow2" >/dev/null
    # the qcow2 file's bytes onto the volume, as a raw file
    LD_LIBRARY_PATH=$libdir "$GLUVIRT" convert -f raw "$work/$name.qcow2" "$uri" >/dev/null ||
        fail "cannot put the test image on the volume"
    json='json:{"driver":"gluster","volume":"gv1","path":"'$name'.qcow2","server":[{"type":"tcp","host":"'$GLUVIRT_TEST_HOST'","port":24007}]}'
    xml="<disk type='network'><source protocol='gluster' name='gv1/$name.qcow2'><host name='$GLUVIRT_TEST_HOST'/></source></disk>"
    for target in "$uri" "$json" "$xml"; do
        LD_LIBRARY_PATH=$libdir nbdkit -r -U - "$plugin" "file=$target" format=qcow2 \
            --run "nbdinfo --json \"\$uri\" >'$work/g.json' && qemu-img compare -f raw -F qcow2 \"\$uri\" '$work/$name.qcow2'" \
            >/dev/null || fail "serving the image on gluster named as ${target:0:20}...: nbdinfo or qemu-img compare failed"
        grep -q '"export-size": 16777216' "$work/g.json" || fail "nbdinfo sees another size for ${target:0:20}..."
    done
    : >"$work/empty"
    LD_LIBRARY_PATH=$libdir "$GLUVIRT" convert -f raw "$work/empty" "$uri" >/dev/null 2>&1 || :
    ok "the staged plugin serves an image on gluster named by URI, json: and libvirt XML: nbdinfo and qemu-img compare agree"
fi

# ---------------------------------------------------------------- uninstall
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$MAKE" -C "$top_builddir" uninstall \
    DESTDIR="$stage" >"$work/uninstall.log" 2>&1 ||
    { tail -n 30 "$work/uninstall.log"; fail "make uninstall DESTDIR=$stage failed"; }
find "$stage" -type f -o -type l >"$work/left"
[ ! -s "$work/left" ] || { cat "$work/left" >&2; fail "make uninstall left these files behind"; }
ok "make uninstall removes every file make install put there"

echo "PASS: $passed checks"
