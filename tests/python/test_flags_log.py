"""Request flags (fua=, may_trim=, no_fallback=) and gluvirt.set_log_handler,
judged by qemu-img and qemu-io: zeroing keeps or frees clusters as qemu-io's
'write -z' and 'write -z -u' do, a fast zero that would write raises ENOTSUP
and changes nothing, FUA writes are on disk while the image is open; the log
handler gets gfapi's words when a volfile server is down, and gfapi's log
through the pipe on a live volume."""

import asyncio
import errno
import logging
import socket
import time

import pytest

import gluvirt
from conftest import make_qcow2, run

K64 = 65536


def qemu_map(path):
    return run("qemu-img", "map", "--output=json", path)


def zeroed_by_qemu_io(path, copy, command):
    run("cp", path, copy)
    run("qemu-io", "-f", "qcow2", "-c", command, copy)
    return qemu_map(copy)


def test_may_trim_as_qemu_io(tmp_path):
    path = make_qcow2(str(tmp_path / "img.qcow2"), "1M", ["write -P 0x55 0 512k"])
    expected_keep = zeroed_by_qemu_io(path, str(tmp_path / "keep.qcow2"), "write -z 0 128k")
    with gluvirt.open(path, format="qcow2", writable=True) as image:
        image.write_zeroes(0, 2 * K64, may_trim=False)
    assert qemu_map(path) == expected_keep
    expected_trim = zeroed_by_qemu_io(path, str(tmp_path / "trim.qcow2"),
                                      "write -z -u 128k 128k")
    with gluvirt.open(path, format="qcow2", writable=True) as image:
        image.write_zeroes(2 * K64, 2 * K64, may_trim=True, fua=True)
    assert qemu_map(path) == expected_trim
    run("qemu-img", "check", "-q", path)
    run("qemu-img", "compare", "-q", path, str(tmp_path / "trim.qcow2"))


def test_no_fallback_raises_enotsup_and_changes_nothing(tmp_path):
    path = make_qcow2(str(tmp_path / "img.qcow2"), "1M", ["write -P 0x55 0 512k"])
    before = open(path, "rb").read()
    with gluvirt.open(path, format="qcow2", writable=True) as image:
        with pytest.raises(gluvirt.Error) as caught:
            image.write_zeroes(4096, K64, no_fallback=True)
        assert caught.value.errno == errno.ENOTSUP and "fast" in caught.value.message

        async def fast_zero():
            await image.write_zeroes_async(512, 1024, no_fallback=True, may_trim=True)

        with pytest.raises(gluvirt.Error) as caught:
            asyncio.run(fast_zero())
        assert caught.value.errno == errno.ENOTSUP
    assert open(path, "rb").read() == before
    # Whole clusters: a change of metadata, allowed.
    with gluvirt.open(path, format="qcow2", writable=True) as image:
        image.write_zeroes(0, K64, no_fallback=True)
        assert image.pread(K64, 0) == bytes(K64)


def test_fua_writes_on_disk_while_open(tmp_path):
    path = make_qcow2(str(tmp_path / "img.qcow2"), "4M")
    with gluvirt.open(path, format="qcow2", writable=True) as image:
        assert image.pwrite(b"\x31" * 8192, 1 << 20, fua=True) == 8192

        async def fua_write():
            return await image.pwrite_async(b"\x32" * 8192, 3 << 20, fua=True)

        assert asyncio.run(fua_write()) == 8192
        run("qemu-img", "check", "-q", "-U", path)
        run("qemu-io", "-r", "-U", "-f", "qcow2", "-c", "read -P 0x31 1M 8k",
            "-c", "read -P 0x32 3M 8k", path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_log_handler_gets_gfapi_words_of_a_down_server():
    lines = []
    uri = "gluster://127.0.0.1:%d/logvol/img.raw" % free_port()
    gluvirt.set_log_handler(lambda level, message: lines.append((level, message)), "info")
    try:
        with gluvirt.Pool(connect_timeout_ms=5000) as pool:
            with pytest.raises(gluvirt.Error) as caught:
                gluvirt.open(uri, pool=pool)
    finally:
        gluvirt.set_log_handler(None)
    assert caught.value.errno == errno.ECONNREFUSED
    gfapi = [m for _, m in lines if m.startswith("gfapi: volume 'logvol': ")]
    assert gfapi, lines
    assert all(level >= logging.INFO for level, _ in lines)
    assert any(level == logging.WARNING and "cannot reach glusterd" in m for level, m in lines)


def test_no_handler_no_messages_and_logging_route(tmp_path, caplog):
    path = str(tmp_path / "disk.raw")
    open(path, "wb").write(bytes(4096))
    lines = []
    gluvirt.set_log_handler(lambda level, message: lines.append(message), "debug")
    gluvirt.set_log_handler(None)
    with gluvirt.open(path):
        pass
    assert lines == []
    with caplog.at_level(logging.DEBUG, logger="gluvirt"):
        gluvirt.set_log_handler("logging", logging.DEBUG)
        try:
            with gluvirt.open(path):
                pass
        finally:
            gluvirt.set_log_handler(None)
    assert any("opened as raw" in r.getMessage() and r.name == "gluvirt" for r in caplog.records)
    with pytest.raises(ValueError):
        gluvirt.set_log_handler(print, "loud")


def test_gfapi_log_through_the_pipe(volumes, gluster_files):
    """On a live volume gfapi keeps logging after the connect: at debug
    level every request it sends says so, through the connection's pipe."""
    uri, = gluster_files("gv0", "log.raw")
    lines = []
    gluvirt.set_log_handler(lambda level, message: lines.append(message), "debug")
    try:
        with gluvirt.Pool(linger_ms=0) as pool:
            with gluvirt.open(uri, writable=True, pool=pool) as image:
                connected = len(lines)
                image.truncate(K64)
                image.pwrite(b"x" * 4096, 0, fua=True)
                deadline = time.monotonic() + 5
                while (not any(m.startswith("gfapi: volume 'gv0'") for m in lines[connected:])
                       and time.monotonic() < deadline):
                    time.sleep(0.05)
    finally:
        gluvirt.set_log_handler(None)
    assert any(m.startswith("gfapi: volume 'gv0'") for m in lines[connected:]), lines[-5:]


def test_raw_zeroing_flags_on_the_volume(volumes, gluster_files):
    """A raw image on gluster: may_trim punches a hole on the brick (block
    status then sees no data there), a fast zero without it is refused
    (zerofill may write zeros on the brick) and leaves the data."""
    uri, = gluster_files("gv0", "flags.raw")
    with gluvirt.Pool(linger_ms=0) as pool:
        with gluvirt.open(uri, writable=True, pool=pool) as image:
            image.truncate(1 << 20)
            image.pwrite(b"\x55" * (1 << 20), 0, fua=True)
            with pytest.raises(gluvirt.Error) as caught:
                image.write_zeroes(0, K64, no_fallback=True)
            assert caught.value.errno == errno.ENOTSUP
            assert image.pread(K64, 0) == b"\x55" * K64
            image.write_zeroes(0, 8 * K64, may_trim=True, no_fallback=True, fua=True)
            image.write_zeroes(8 * K64, K64, may_trim=False)
            assert image.pread(9 * K64, 0) == bytes(9 * K64)
            assert image.pread(K64, 9 * K64) == b"\x55" * K64
            first = image.map(0, 8 * K64)[0]
            assert first["start"] == 0 and not first["data"], first
