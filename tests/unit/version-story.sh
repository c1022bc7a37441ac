#!/bin/sh
# One story for the version: every place that states libgluvirt's version
# agrees with configure.ac's package version (PACKAGE_VERSION), as
# configure.ac's comment tells it:
#   - the generated <gluvirt/version.h> and gluvirt.pc, the man pages;
#   - 'gluvirt --version', for the program and for the library it loaded;
#   - the Python package's __version__ (read as text, not imported) and
#     pyproject.toml, which takes its version from there;
#   - the newest symbol node of lib/libgluvirt.sym, GLUVIRT_<major>.<minor>,
#     names a release no newer than the package's;
#   - no "Since X.Y" in the public headers names a newer release.
# Every check prints what it compared; the test exits 1 naming each drift.
# Needs top_srcdir, top_builddir and GLUVIRT (the built gluvirt program),
# which 'make check' sets.
set -u

: "${top_srcdir:?set top_srcdir to the source tree}"
: "${top_builddir:?set top_builddir to the build tree}"
: "${GLUVIRT:?set GLUVIRT to the gluvirt program}"

drifts=0
checks=0

ok() {
    checks=$((checks + 1))
    echo "ok:    $*"
}

drift() {
    checks=$((checks + 1))
    drifts=$((drifts + 1))
    echo "DRIFT: $*"
}

# newer A B: whether release A comes after release B, each MAJOR.MINOR or
# MAJOR.MINOR.MICRO (a missing MICRO counts as 0: GLUVIRT_1.0 is 1.0.0's).
newer() {
    a1=${1%%.*} a=${1#*.}
    a2=${a%%.*}
    case $a in *.*) a3=${a#*.} ;; *) a3=0 ;; esac
    b1=${2%%.*} b=${2#*.}
    b2=${b%%.*}
    case $b in *.*) b3=${b#*.} ;; *) b3=0 ;; esac
    [ "$a1" -ne "$b1" ] && { [ "$a1" -gt "$b1" ]; return; }
    [ "$a2" -ne "$b2" ] && { [ "$a2" -gt "$b2" ]; return; }
    [ "$a3" -gt "$b3" ]
}

# ---------------------------------------------------------------- the source
config_h=$top_builddir/config.h
[ -f "$config_h" ] || { echo "version-story: no $config_h: run me from a configured build tree"; exit 99; }
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$config_h")
case $version in
[0-9]*.[0-9]*.[0-9]*) ;;
*) echo "version-story: PACKAGE_VERSION in $config_h is '$version', not MAJOR.MINOR.MICRO"; exit 1 ;;
esac
echo "PACKAGE_VERSION (configure.ac, through $config_h) is $version"

# ---------------------------------------------------------------- generated files
header=$(sed -n 's/^#define GLUVIRT_VERSION "\(.*\)"$/\1/p' "$top_builddir/include/gluvirt/version.h" 2>/dev/null)
if [ "$header" = "$version" ]; then
    ok "GLUVIRT_VERSION in include/gluvirt/version.h is $header"
else
    drift "GLUVIRT_VERSION in include/gluvirt/version.h is '$header', PACKAGE_VERSION is $version"
fi

pc=$(sed -n 's/^Version: *//p' "$top_builddir/gluvirt.pc" 2>/dev/null)
if [ "$pc" = "$version" ]; then
    ok "Version in gluvirt.pc is $pc"
else
    drift "Version in gluvirt.pc is '$pc', PACKAGE_VERSION is $version"
fi

# Man pages: .TH "NAME" "SECTION" "DATE" "libgluvirt VERSION" ...; the stub
# pages written without python3 have no such source field and are passed over.
pages=0 wrong=0
for page in "$top_builddir"/docs/*.1 "$top_builddir"/docs/*.3; do
    [ -f "$page" ] || continue
    grep -q '^\.TH ' "$page" || continue
    said=$(sed -n 's/^\.TH "[^"]*" "[^"]*" "[^"]*" "libgluvirt \([^"]*\)".*/\1/p' "$page")
    [ -n "$said" ] || continue
    pages=$((pages + 1))
    if [ "$said" != "$version" ]; then
        wrong=$((wrong + 1))
        drift "man page docs/${page##*/} says libgluvirt '$said', PACKAGE_VERSION is $version"
    fi
done
if [ "$pages" -gt 0 ] && [ "$wrong" -eq 0 ]; then
    ok "the $pages man pages in docs/ say libgluvirt $version"
fi

# ---------------------------------------------------------------- gluvirt --version
out=$("$GLUVIRT" --version 2>&1) || drift "'gluvirt --version' failed: $out"
expected="gluvirt $version (library $version)"
if [ "$out" = "$expected" ]; then
    ok "'gluvirt --version' prints '$out'"
else
    drift "'gluvirt --version' prints '$out', expected '$expected'"
fi

# ---------------------------------------------------------------- Python
init=$top_srcdir/bindings/python/gluvirt/__init__.py
python=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$init")
if [ "$python" = "$version" ]; then
    ok "__version__ in bindings/python/gluvirt/__init__.py is $python"
else
    drift "__version__ in bindings/python/gluvirt/__init__.py is '$python', PACKAGE_VERSION is $version"
fi

# pyproject.toml either takes the version from __version__ or repeats it.
pyproject=$top_srcdir/bindings/python/pyproject.toml
literal=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$pyproject")
if [ -n "$literal" ]; then
    if [ "$literal" = "$version" ]; then
        ok "version in bindings/python/pyproject.toml is $literal"
    else
        drift "version in bindings/python/pyproject.toml is '$literal', PACKAGE_VERSION is $version"
    fi
elif grep -q '^version = {attr = "gluvirt.__version__"}' "$pyproject"; then
    ok "bindings/python/pyproject.toml takes its version from gluvirt.__version__"
else
    drift "bindings/python/pyproject.toml states no version and does not take gluvirt.__version__"
fi

# ---------------------------------------------------------------- symbol nodes
sym=$top_srcdir/lib/libgluvirt.sym
nodes=$(sed -n 's/^\([A-Za-z_][A-Za-z0-9_.]*\) *{.*/\1/p' "$sym")
newest=
for node in $nodes; do
    case $node in
    GLUVIRT_[0-9]*.[0-9]*) ;;
    *) drift "lib/libgluvirt.sym has node '$node', not GLUVIRT_<major>.<minor>"; continue ;;
    esac
    v=${node#GLUVIRT_}
    if [ -z "$newest" ] || newer "$v" "$newest"; then
        newest=$v
    fi
done
if [ -z "$newest" ]; then
    drift "lib/libgluvirt.sym has no GLUVIRT_<major>.<minor> node"
elif newer "$newest" "$version"; then
    drift "the newest symbol node in lib/libgluvirt.sym is GLUVIRT_$newest, a release newer than $version"
else
    ok "the newest symbol node in lib/libgluvirt.sym is GLUVIRT_$newest, not newer than $version"
fi

# ---------------------------------------------------------------- Since X.Y
since=$(grep -ohE 'Since [0-9]+\.[0-9]+(\.[0-9]+)?' "$top_srcdir"/include/gluvirt/*.h |
    sed 's/^Since //' | sort -u)
if [ -z "$since" ]; then
    drift "no \"Since X.Y\" in include/gluvirt/*.h: each call should say the release that added it"
fi
late=0
for v in $since; do
    if newer "$v" "$version"; then
        late=1
        where=$(grep -lF "Since $v" "$top_srcdir"/include/gluvirt/*.h | sed 's|.*/include/|include/|' |
            tr '\n' ' ')
        drift "\"Since $v\" in ${where% } names a release newer than $version"
    fi
done
if [ -n "$since" ] && [ "$late" -eq 0 ]; then
    ok "the headers say \"Since\" $(echo "$since" | tr '\n' ' ' | sed 's/ $//; s/ /, /g'): none newer than $version"
fi

echo "version-story: $checks checks, $drifts drifts"
[ "$drifts" -eq 0 ] || exit 1
exit 0
