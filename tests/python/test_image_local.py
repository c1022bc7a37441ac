"""gluvirt.open() and Image on local files (no server): synchronous and
asyncio I/O, errors, lifetimes, and info()/map() against `gluvirt info
--json`, `gluvirt map --output=json` and qemu-img, on images qemu-img made."""

import asyncio
import errno
import json
import os
import threading

import pytest

import gluvirt
from conftest import make_qcow2, raw_bytes_of, run, run_tool


@pytest.fixture
def raw(tmp_path):
    path = tmp_path / "disk.raw"
    path.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    return str(path)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """base.qcow2 <- top.qcow2, with data in both, zero and compressed
    clusters, and an internal snapshot in top (made once; tests only read)."""
    tmp_path = tmp_path_factory.mktemp("chain")
    base = make_qcow2(str(tmp_path / "base.qcow2"), "8M",
                      ["write -P 0x11 0 192k", "write -P 0x22 4M 64k"])
    top = str(tmp_path / "top.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top, "8M")
    for command in ("write -P 0x33 64k 64k", "write -z 128k 64k", "write -c -P 0x44 1M 128k",
                    "write -P 0x55 7M 4k"):
        run("qemu-io", "-f", "qcow2", "-c", command, top)
    run("qemu-img", "snapshot", "-c", "before-upgrade", top)
    run("qemu-io", "-f", "qcow2", "-c", "write -P 0x66 7M 4k", top)
    return base, top


# ---------------------------------------------------------------- synchronous I/O

def test_read_write_round_trip(raw):
    with gluvirt.open(raw, writable=True) as image:
        assert image.size == 1 << 20 and image.format == "raw" and image.writable
        assert image.pread(4, 254) == bytes([254, 255, 0, 1])
        assert image.pwrite(b"gluster", 1000) == 7
        assert image.pwrite(bytearray(b"ab"), 2000) == 2
        assert image.pwrite(memoryview(b"xyz")[1:], 3000) == 2
        image.flush()
        assert image.pread(7, 1000) == b"gluster"
        into = bytearray(4)
        assert image.pread_into(into, 1999) == 4 and into == bytes([207]) + b"ab" + bytes([210])
        image.write_zeroes(8192, 4096)
        assert image.pread(4098, 8191) == bytes([255]) + bytes(4096) + bytes([0])
        image.truncate(1 << 21)
        assert image.size == 1 << 21
    with open(raw, "rb") as f:
        f.seek(1000)
        assert f.read(7) == b"gluster"


def test_reads_at_the_end(raw):
    with gluvirt.open(raw) as image:
        assert len(image.pread(100, (1 << 20) - 10)) == 10
        assert image.pread(100, 1 << 20) == b""
        assert image.pread(0, 0) == b""


def test_errors(raw, tmp_path):
    with pytest.raises(gluvirt.Error) as caught:
        gluvirt.open(str(tmp_path / "missing.raw"))
    assert caught.value.errno == errno.ENOENT and "missing.raw" in caught.value.message
    with gluvirt.open(raw) as image:
        with pytest.raises(gluvirt.Error) as caught:
            image.pwrite(b"x", 0)
        assert caught.value.errno in (errno.EROFS, errno.EBADF, errno.EPERM)
    with gluvirt.open(raw, writable=True) as image:
        with pytest.raises(gluvirt.Error) as caught:
            image.pwrite(b"xy", (1 << 20) - 1)
        assert caught.value.errno == errno.EINVAL and "end" in caught.value.message
        with pytest.raises(ValueError):
            image.pread(1, -1)
        with pytest.raises(TypeError):
            image.pread_into(b"read-only", 0)
    with pytest.raises(ValueError, match="format"):
        gluvirt.open(raw, format="vmdk")
    with pytest.raises(TypeError, match="unknown options"):
        gluvirt.open(raw, cache="none")
    with pytest.raises(gluvirt.Error) as caught:
        gluvirt.open(raw, format="qcow2")
    assert caught.value.errno in (errno.EINVAL, errno.ENOTSUP, errno.EIO)


def test_lifetime(raw):
    image = gluvirt.open(raw)
    with image:
        pass
    assert image.closed
    with pytest.raises(ValueError, match="closed"):
        image.pread(1, 0)
    image.close()
    assert "closed" in repr(image)


def test_threads_share_an_image(raw):
    expected = bytes(range(256)) * 4096
    failures = []
    with gluvirt.open(raw) as image:
        def reader(k):
            for i in range(64):
                offset = (k * 7919 + i * 4099) % (1 << 20)
                if image.pread(4096, offset) != expected[offset:offset + 4096]:
                    failures.append((k, offset))
        threads = [threading.Thread(target=reader, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not failures


# ---------------------------------------------------------------- asyncio

def test_asyncio_reads_beyond_the_queue_depth(chain):
    _, top = chain
    expected = raw_bytes_of(top)
    with gluvirt.open(top, format="qcow2", queue_depth=4) as image:
        async def main():
            offsets = [(i * 37 * 4096) % (8 << 20) for i in range(200)]
            results = await asyncio.gather(*(image.pread_async(4096, o) for o in offsets))
            return offsets, results, image.in_flight
        offsets, results, in_flight = asyncio.run(main())
        assert in_flight == 0
        for offset, data in zip(offsets, results):
            assert data == expected[offset:offset + 4096], offset


def test_asyncio_writes_and_flush(raw):
    with gluvirt.open(raw, writable=True) as image:
        async def main():
            data = bytearray(b"a" * 512)
            write = asyncio.ensure_future(image.pwrite_async(data, 0))
            data[:] = b"b" * 512  # the write took its own copy
            written = await write
            sizes = await asyncio.gather(*(image.pwrite_async(bytes([k]) * 512, 512 * k)
                                           for k in range(1, 64)))
            await image.flush_async()
            return written, sizes
        written, sizes = asyncio.run(main())
        assert written == 512 and sizes == [512] * 63
        assert image.pread(512, 0) == b"a" * 512
        assert all(image.pread(512, 512 * k) == bytes([k]) * 512 for k in range(1, 64))


def test_asyncio_errors_and_cancellation(raw):
    with gluvirt.open(raw) as image:
        async def main():
            with pytest.raises(gluvirt.Error) as caught:
                await image.pwrite_async(b"x", 0)  # read-only
            assert caught.value.errno in (errno.EROFS, errno.EBADF, errno.EPERM)
            task = asyncio.ensure_future(image.pread_async(65536, 0))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # the image still works, and the cancelled read's buffer was kept
            assert await image.pread_async(4, 0) == bytes([0, 1, 2, 3])
        asyncio.run(main())
        assert image.in_flight == 0


def test_asyncio_loops_one_after_another(raw):
    with gluvirt.open(raw) as image:
        async def abandon():
            # left in flight: asyncio.run() cancels the task and closes its loop
            asyncio.ensure_future(image.pread_async(65536, 0))
            await asyncio.sleep(0)
        asyncio.run(abandon())

        async def again():
            return await image.pread_async(4, 4)
        assert asyncio.run(again()) == bytes([4, 5, 6, 7])
    assert image.closed


def test_asyncio_on_a_closed_image(raw):
    image = gluvirt.open(raw)
    image.close()

    async def main():
        with pytest.raises(ValueError):
            await image.pread_async(1, 0)
    asyncio.run(main())


# ---------------------------------------------------------------- info and map

def tool_json(*args):
    return json.loads(run_tool(*args))


def test_info_equals_the_command(raw, chain):
    base, top = chain
    with gluvirt.open(raw) as image:
        assert image.info() == tool_json("info", "--json", "-f", "raw", raw)
    with gluvirt.open(top, format="qcow2") as image:
        info = image.info()
        assert info == tool_json("info", "--json", "-f", "qcow2", top)
        assert info["backing-filename"] == "base.qcow2"
        assert [s["name"] for s in info["snapshots"]] == ["before-upgrade"]
        chain_info = image.info(backing_chain=True)
        assert chain_info == tool_json("info", "--json", "--backing-chain", "-f", "qcow2", top)
        assert [layer["filename"] for layer in chain_info] == [top, base]
        assert image.backing.info() == chain_info[1]
        assert image.backing.format == "qcow2"


def test_info_agrees_with_qemu_img(chain):
    _, top = chain
    qemu = json.loads(run("qemu-img", "info", "--output=json", "-f", "qcow2", top))
    with gluvirt.open(top, format="qcow2") as image:
        ours = image.info()
    for key in ("virtual-size", "filename", "cluster-size", "format", "backing-filename",
                "backing-filename-format", "dirty-flag"):
        assert ours[key] == qemu[key], key
    assert ours["format-specific"]["data"]["compat"] == qemu["format-specific"]["data"]["compat"]
    assert [s["name"] for s in ours["snapshots"]] == [s["name"] for s in qemu["snapshots"]]


def test_map_equals_the_command_and_qemu_img(chain, raw):
    _, top = chain
    with gluvirt.open(top, format="qcow2") as image:
        runs = image.map()
        assert runs == tool_json("map", "--output=json", "-f", "qcow2", top)
        assert runs == json.loads(run("qemu-img", "map", "--output=json", "-f", "qcow2", top))
        assert any(r["depth"] == 1 and r["data"] for r in runs)      # from the backing file
        assert any(r["zero"] and r["present"] for r in runs)        # a zero cluster
        assert any(r["data"] and "offset" not in r for r in runs)   # compressed clusters
        part = image.map(64 << 10, 1 << 20)
        assert part == tool_json("map", "--output=json", "-f", "qcow2", "--start-offset", "64k",
                                 "--max-length", "1M", top)
    with gluvirt.open(raw) as image:
        assert image.map() == tool_json("map", "--output=json", "-f", "raw", raw)


def test_qcow2_reads_what_qemu_reads(chain):
    _, top = chain
    expected = raw_bytes_of(top)
    with gluvirt.open(top, format="qcow2") as image:
        assert image.pread(len(expected), 0) == expected
    with gluvirt.open(top, format="qcow2", snapshot="before-upgrade") as image:
        assert image.pread(4096, 7 << 20) == b"\x55" * 4096
    with gluvirt.open(top, format="qcow2", backing="none") as image:
        assert image.pread(4096, 0) == bytes(4096)          # base's data not read
        assert image.pread(4096, 64 << 10) == b"\x33" * 4096
    with gluvirt.open(top, format="probe") as image:
        assert image.format == "qcow2"


def test_create_raw_and_qcow2(tmp_path):
    if not gluvirt._capi.lib.has("gluvirt_image_create"):
        pytest.skip("this libgluvirt cannot create images yet")
    raw_path, qcow2_path = str(tmp_path / "new.raw"), str(tmp_path / "new.qcow2")
    gluvirt.create(raw_path, 1000)
    gluvirt.create(qcow2_path, 1 << 30, format="qcow2", cluster_size=1 << 16)
    with pytest.raises(gluvirt.Error) as caught:
        gluvirt.create(raw_path, 1 << 20)
    assert caught.value.errno == errno.EEXIST
    gluvirt.create(raw_path, 1 << 20, overwrite=True)
    with gluvirt.open(raw_path) as image:
        assert image.size == 1 << 20
    qemu = json.loads(run("qemu-img", "info", "--output=json", qcow2_path))
    assert qemu["virtual-size"] == 1 << 30 and qemu["format"] == "qcow2"
    run("qemu-img", "check", "-q", qcow2_path)
    with gluvirt.open(qcow2_path, format="qcow2") as image:
        assert image.info() == tool_json("info", "--json", "-f", "qcow2", qcow2_path)
    assert os.path.getsize(raw_path) == 1 << 20


# ---------------------------------------------------------------- verbs

def _qemu(*args):
    import subprocess
    return subprocess.run(["qemu-img"] + list(args), check=False, capture_output=True,
                          text=True)


def test_verbs_compare_measure_resize_against_qemu_img(tmp_path):
    import shutil
    import subprocess
    if not shutil.which("qemu-img"):
        pytest.skip("qemu-img is not installed")
    a, b = tmp_path / "a.raw", tmp_path / "b.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(a), "8M"], check=True)
    with open(a, "r+b") as f:
        f.seek(3 << 20)
        f.write(b"data")
    shutil.copy(a, b)
    with open(b, "r+b") as f:
        f.seek(5000000)
        f.write(b"X")
    with gluvirt.open(str(a), format="raw") as ia, gluvirt.open(str(b), format="raw") as ib:
        result, offset = ia.compare(ib)
        assert result == "content-mismatch"
        assert _qemu("compare", "-f", "raw", "-F", "raw", str(a), str(b)).stdout == \
            "Content mismatch at offset %d!\n" % offset
        assert ia.compare(ia) == ("identical", 0)
        calls = []
        with pytest.raises(gluvirt.Error) as e:
            ia.compare(ia, progress=lambda done, total: calls.append(done) or True)
        assert e.value.errno == errno.ECANCELED and len(calls) == 1
        got = ia.measure("qcow2", cluster_size=4096)
        out = _qemu("measure", "-O", "qcow2", "-o", "cluster_size=4k", "-f", "raw", str(a)).stdout
        assert out == "required size: %d\nfully allocated size: %d\n" % (
            got["required"], got["fully-allocated"])
    assert gluvirt.measure(size=1 << 30, format="qcow2")["fully-allocated"] == 1074135040
    with gluvirt.open(str(b), format="raw", writable=True) as ib:
        with pytest.raises(gluvirt.Error) as e:
            ib.resize(1 << 20)
        assert e.value.errno == errno.EINVAL
        ib.resize(1 << 20, shrink=True)
    assert os.path.getsize(b) == 1 << 20


def test_snapshots_against_qemu_img(tmp_path):
    import shutil
    import subprocess
    if not shutil.which("qemu-img"):
        pytest.skip("qemu-img is not installed")
    q = tmp_path / "q.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(q), "1M"], check=True)
    with gluvirt.open(str(q), format="qcow2", writable=True) as image:
        image.pwrite(b"before", 0)
        image.snapshot_create("one")
        image.pwrite(b"after!", 0)
        image.resize(2 << 20)
        with pytest.raises(gluvirt.Error) as e:
            image.snapshot_delete("two")
        assert e.value.errno == errno.ENOENT
        image.snapshot_apply("one")
        assert image.size == 1 << 20 and image.pread(6, 0) == b"before"
    assert " one " in _qemu("snapshot", "-l", str(q)).stdout
    assert _qemu("check", str(q)).returncode == 0
    with gluvirt.open(str(q), format="qcow2", writable=True) as image:
        image.snapshot_delete("one")
    assert _qemu("snapshot", "-l", str(q)).stdout == ""
