#!/bin/sh
# The Python binding's tests: /usr/bin/python3 -m pytest on tests/python/,
# with the library of this build ($GLUVIRT_LIBRARY) and the package of the
# source tree.  Nothing is written into the source tree: no bytecode, no
# pytest cache.  The gluster tests skip without the test volumes, and fail
# without them when GLUVIRT_REQUIRE_GLUSTER=1 (tests/python/conftest.py).
set -eu
: "${top_srcdir:?set top_srcdir}" "${top_builddir:?set top_builddir}"
python=/usr/bin/python3

GLUVIRT_LIBRARY=${GLUVIRT_LIBRARY:-$top_builddir/lib/.libs/libgluvirt.so.0}
if [ ! -f "$GLUVIRT_LIBRARY" ]; then
    echo "FAIL: $GLUVIRT_LIBRARY is missing: build the library first" >&2
    exit 99
fi
if ! "$python" -c 'import pytest' 2>/dev/null; then
    echo "FAIL: $python has no pytest (apt-get install python3-pytest)" >&2
    exit 99
fi
: "${GLUVIRT:=$top_builddir/tools/gluvirt}"
PYTHONPATH=$top_srcdir/bindings/python${PYTHONPATH:+:$PYTHONPATH}
PYTHONDONTWRITEBYTECODE=1
export GLUVIRT GLUVIRT_LIBRARY PYTHONPATH PYTHONDONTWRITEBYTECODE

exec "$python" -m pytest -p no:cacheprovider -q -rfEs \
    --rootdir="$top_srcdir/tests/python" "$top_srcdir/tests/python"
