#!/bin/sh
# Configure and build libgluvirt in the source tree (idempotent).
set -eu
cd "$(dirname "$0")/.."
[ -x configure ] || autoreconf -fi >/dev/null
[ -f Makefile ] || ./configure --quiet
make -j"$(nproc)" >/dev/null
echo "build: done (tools/gluvirt, lib/.libs/libgluvirt.so)"
