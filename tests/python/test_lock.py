"""Image locking through the binding: gluvirt.open(..., force_share=True) and
locking="off" against qemu-io holding a local image, QEMU refusing an image
the binding holds, and on the test volume two pools refusing each other."""

import asyncio
import errno
import os
import subprocess
import time

import pytest

import gluvirt
from conftest import run


def locked_bytes(path):
    """The bytes of path some process holds a lock on, by /proc/locks."""
    inode = os.stat(path).st_ino
    held = set()
    with open("/proc/locks") as f:
        for line in f:
            words = line.split()
            if "->" in words or len(words) < 8:
                continue
            if words[5].split(":")[-1] == str(inode):
                held.update(range(int(words[6]), int(words[7]) + 1))
    return held


@pytest.fixture
def qcow2(tmp_path):
    path = str(tmp_path / "locked.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", path, "16M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 0x3c 0 64k", path)
    return path


@pytest.fixture
def qemu_writer(qcow2):
    """qemu-io holding qcow2 open for writing until the test ends."""
    holder = subprocess.Popen(["qemu-io", "-f", "qcow2", qcow2], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while 101 not in locked_bytes(qcow2):
        assert holder.poll() is None, "qemu-io exited: %s" % holder.stderr.read()
        assert time.monotonic() < deadline, "qemu-io took no write lock"
        time.sleep(0.05)
    yield holder
    holder.stdin.close()
    holder.wait(timeout=30)


def test_writer_beside_qemu_io_gets_ebusy(qcow2, qemu_writer):
    for writable in (True, False):
        with pytest.raises(gluvirt.Error) as caught:
            gluvirt.open(qcow2, format="qcow2", writable=writable)
        assert caught.value.errno == errno.EBUSY
        assert "in use by another writer" in str(caught.value)
        assert "force_share" in str(caught.value)


def test_force_share_reads_beside_qemu_io(qcow2, qemu_writer):
    with gluvirt.open(qcow2, format="qcow2", force_share=True) as image:
        assert image.pread(65536, 0) == b"\x3c" * 65536
        # the open added only the consistent-read byte, as qemu-io -U does
        assert 100 in locked_bytes(qcow2)


def test_force_share_with_asyncio(qcow2, qemu_writer):
    async def read():
        with gluvirt.open(qcow2, format="qcow2", force_share=True) as image:
            return await image.pread_async(4096, 0)

    assert asyncio.run(read()) == b"\x3c" * 4096


def test_writable_force_share_is_refused(qcow2):
    with pytest.raises(gluvirt.Error) as caught:
        gluvirt.open(qcow2, format="qcow2", writable=True, force_share=True)
    assert caught.value.errno == errno.EINVAL


def test_locking_off_opens_beside_qemu_io(qcow2, qemu_writer):
    with gluvirt.open(qcow2, format="qcow2", locking="off") as image:
        assert image.pread(512, 0) == b"\x3c" * 512
    with pytest.raises(ValueError):
        gluvirt.open(qcow2, format="qcow2", locking="sometimes")


def test_qemu_refuses_what_the_binding_writes(qcow2):
    with gluvirt.open(qcow2, format="qcow2", writable=True) as image:
        image.pwrite(b"\x7e" * 4096, 0)
        image.flush()
        info = subprocess.run(["qemu-img", "info", qcow2], capture_output=True, text=True)
        assert info.returncode != 0
        assert 'Failed to get shared "write" lock' in info.stderr
        shared = subprocess.run(["qemu-io", "-r", "-U", "-f", "qcow2", "-c",
                                 "read -P 0x7e 0 4k", qcow2], capture_output=True, text=True)
        assert shared.returncode == 0 and "read 4096/4096" in shared.stdout, shared.stderr
        with pytest.raises(gluvirt.Error) as caught:
            gluvirt.open(qcow2, format="qcow2", writable=True)
        assert caught.value.errno == errno.EBUSY
    # closed: the locks are gone, QEMU writes again
    run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 4k", qcow2)
    assert not locked_bytes(qcow2)


def test_two_pools_refuse_each_other_on_the_volume(gluster_files):
    uri, = gluster_files("gv0", "lock.raw")
    with gluvirt.Pool() as first, gluvirt.Pool() as second:
        with gluvirt.open(uri, writable=True, pool=first):
            with pytest.raises(gluvirt.Error) as caught:
                gluvirt.open(uri, writable=True, pool=second)
            assert caught.value.errno == errno.EBUSY
            assert "process %d" % os.getpid() in str(caught.value)
            with gluvirt.open(uri, pool=second):  # a raw reader beside the writer
                pass
        with gluvirt.open(uri, writable=True, pool=second):  # released on close
            pass
