#!/bin/sh
# Install what building, testing and the demo need on Debian 12 (as root).
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    build-essential g++ autoconf automake libtool pkg-config xz-utils \
    libglusterfs-dev glusterfs-server glusterfs-client zlib1g-dev libzstd-dev \
    libcriterion-dev abigail-tools clang libclang-rt-14-dev \
    qemu-utils qemu-block-extra \
    python3-pytest nbdkit nbdkit-plugin-dev libnbd-bin python3-libnbd scdoc valgrind \
    iproute2 procps util-linux python3 ca-certificates git >/dev/null
echo "install-deps: done"
