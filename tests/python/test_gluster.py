"""The binding on the real test volumes: a shared pool, I/O (synchronous and
asyncio), qcow2 images with a backing file on the volume, info()/map()
against the gluvirt command, and the errors of unreachable places."""

import asyncio
import errno
import json
import os

import pytest

import gluvirt
from conftest import copy_into, make_qcow2, raw_bytes_of, run, run_tool, run_tool_bytes

MIB = 1 << 20


@pytest.fixture(scope="module")
def images(gluster_files, pool, tmp_path_factory):
    """A raw image and a qcow2 overlay with its backing file, on gv0; the
    qcow2 files are made locally by qemu-img and copied in byte for byte."""
    raw, base, top = gluster_files("gv0", "a.raw", "base.qcow2", "top.qcow2")
    local = tmp_path_factory.mktemp("qcow2")
    base_name, top_name = os.path.basename(base), os.path.basename(top)
    make_qcow2(str(local / base_name), "4M", ["write -P 0x5a 0 1M"])
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", base_name, "-F", "qcow2",
        str(local / top_name), "4M")
    for command in ("write -P 0xa5 512k 1M", "write -z 2M 64k", "write -c -P 0x77 3M 256k"):
        run("qemu-io", "-f", "qcow2", "-c", command, str(local / top_name))
    copy_into(base, str(local / base_name), pool)
    copy_into(top, str(local / top_name), pool)
    expected = raw_bytes_of(str(local / top_name))
    return {"raw": raw, "base": base, "top": top, "top_bytes": expected}


def test_pool_shares_one_connection(volumes, images):
    with gluvirt.Pool(linger_ms=5000) as pool:
        with gluvirt.open(images["raw"], pool=pool) as first, \
                gluvirt.open(gluvirt.Uri.parse(images["top"]), format="qcow2",
                             pool=pool) as second:
            stat = pool.stat()
            assert stat["inits"] == 1 and stat["hits"] >= 1, stat
            assert first.size >= 0 and second.size == 4 * MIB
        with pool.connect(images["raw"]) as connection:
            assert connection.volume == "gv0"
        assert pool.stat()["inits"] == 1


def test_raw_io(images, pool):
    pattern = bytes((i * 7) & 0xFF for i in range(MIB))
    with gluvirt.open(images["raw"], writable=True, pool=pool) as image:
        image.truncate(4 * MIB)
        assert image.pwrite(pattern, MIB) == MIB
        image.write_zeroes(MIB, 4096)
        image.flush()
        assert image.pread(8, MIB + 4092) == bytes(4) + pattern[4096:4100]
    # the command, with a pool of its own, reads what the binding wrote
    copy = run_tool_bytes("convert", "-f", "raw", images["raw"], "-")
    assert len(copy) == 4 * MIB
    assert copy[MIB + 4096:2 * MIB] == pattern[4096:]
    assert copy[:MIB] == bytes(MIB)


def test_qcow2_with_backing_file_on_the_volume(images, pool):
    with gluvirt.open(images["top"], format="qcow2", pool=pool) as image:
        assert image.pread(4 * MIB, 0) == images["top_bytes"]
        assert image.backing is not None
        assert image.backing.pread(4, 0) == b"\x5a" * 4


def test_info_and_map_equal_the_command(images, pool):
    for target, fmt in ((images["top"], "qcow2"), (images["raw"], "raw")):
        with gluvirt.open(target, format=fmt, pool=pool) as image:
            assert image.info() == json.loads(run_tool("info", "--json", "-f", fmt, target))
            assert image.map() == json.loads(run_tool("map", "--output=json", "-f", fmt, target))
    with gluvirt.open(images["top"], format="qcow2", pool=pool) as image:
        info = image.info(backing_chain=True)
        assert info == json.loads(run_tool("info", "--json", "--backing-chain", "-f", "qcow2",
                                           images["top"]))
        assert info[0]["backing-filename"] == os.path.basename(images["base"])
        assert "dirty-flag" in info[0]


def test_asyncio_on_the_volume(images, pool):
    expected = images["top_bytes"]
    with gluvirt.open(images["top"], format="qcow2", pool=pool, queue_depth=16) as image:
        async def reads():
            offsets = [(i * 12289) % (4 * MIB - 65536) for i in range(256)]
            data = await asyncio.gather(*(image.pread_async(65536, o) for o in offsets))
            return list(zip(offsets, data))
        for offset, data in asyncio.run(reads()):
            assert data == expected[offset:offset + 65536], offset
    with gluvirt.open(images["raw"], writable=True, pool=pool) as image:
        async def writes():
            done = await asyncio.gather(*(image.pwrite_async(bytes([k]) * 65536, k * 65536)
                                          for k in range(48)))
            await image.flush_async()
            return done
        assert asyncio.run(writes()) == [65536] * 48
        assert all(image.pread(65536, k * 65536) == bytes([k]) * 65536 for k in range(48))


def test_open_through_the_unix_socket(volumes, images, pool):
    if not volumes.socket:
        pytest.skip("the test cluster names no glusterd socket")
    uri = gluvirt.Uri.parse(images["raw"])
    by_socket = gluvirt.Uri(uri.volume, uri.path, [("unix", volumes.socket)])
    with gluvirt.open(by_socket, pool=pool) as image:
        assert image.size == 4 * MIB


def test_errors_name_the_place(volumes, pool):
    with pytest.raises(gluvirt.Error) as caught:
        gluvirt.open(volumes.uri("gv0", "no-such-image-%d.raw" % os.getpid()), pool=pool)
    assert caught.value.errno == errno.ENOENT
    assert "no-such-image" in caught.value.message
    with pytest.raises(gluvirt.Error) as caught:
        gluvirt.open(volumes.uri("novolume", "x.raw"), pool=pool)
    assert caught.value.errno == errno.ENOENT and "novolume" in caught.value.message
    with gluvirt.Pool(connect_timeout_ms=5000) as quick:
        with pytest.raises(gluvirt.Error) as caught:
            gluvirt.open("gluster://%s:1/gv0/x.raw" % volumes.host, pool=quick)
        assert caught.value.errno == errno.ECONNREFUSED
        assert ":1" in caught.value.message
        assert quick.stat()["failures"] == 1


def test_check_volume(volumes, pool):
    if not gluvirt._capi.lib.has("gluvirt_volume_check"):
        pytest.skip("this libgluvirt cannot check volumes yet")
    report = gluvirt.check_volume(volumes.uri("gv0", "any"), pool=pool, timeout_ms=3000)
    assert report["status"] in ("pass", "warn", "fail")
    assert report["items"] and report["items"][0]["id"] == "server"
    for item in report["items"]:
        assert item["status"] in ("pass", "warn", "fail")
        assert (item["fix"] is None) == (item["status"] == "pass"), item
    statuses = [item["status"] for item in report["items"]]
    worst = max(statuses, key=("pass", "warn", "fail").index)
    assert report["status"] == worst
    unreachable = gluvirt.check_volume("gluster://%s:1/gv0/any" % volumes.host, timeout_ms=1000)
    assert unreachable["status"] == "fail"
