"""The asyncio forms of every I/O call on a writable qcow2 image, judged by
qemu-io and qemu-img: a seeded trace of writes, zeroings, discards and
flushes, each batch's requests in flight at once, gives the image qemu-io
makes from the same trace (qemu-img compare), and qemu-img check finds it
clean; pread_into_async reads what qemu-img reads."""

import asyncio
import random
import shutil

import gluvirt
from conftest import make_qcow2, raw_bytes_of, run

CLUSTER = 65536
SIZE = 64 * CLUSTER


def trace(seed, batches=12, per_batch=6):
    """Batches of requests on ranges that do not overlap within a batch:
    (op, offset, length, byte).  Discards and zeroings cover whole clusters
    (a partial discard is a no-op for QEMU, whose result would differ only
    in what it may leave)."""
    rng = random.Random(seed)
    out = []
    for _ in range(batches):
        clusters = rng.sample(range(SIZE // CLUSTER), per_batch)
        batch = []
        for c in clusters:
            op = rng.choice(("write", "write", "zero", "discard"))
            if op == "write":
                length = rng.choice((512, 4096, 12288, CLUSTER))
                offset = c * CLUSTER + rng.randrange(0, CLUSTER - length + 1, 512)
                batch.append(("write", offset, length, rng.randrange(1, 256)))
            else:
                batch.append((op, c * CLUSTER, CLUSTER, 0))
        out.append(batch)
    return out


def qemu_io_commands(batches):
    for batch in batches:
        for op, offset, length, byte in batch:
            if op == "write":
                yield "write -P %d %d %d" % (byte, offset, length)
            elif op == "zero":
                yield "write -z %d %d" % (offset, length)
            else:
                yield "discard %d %d" % (offset, length)
        yield "flush"


async def apply(image, batches):
    for batch in batches:
        requests = []
        for op, offset, length, byte in batch:
            if op == "write":
                requests.append(image.pwrite_async(bytes([byte]) * length, offset))
            elif op == "zero":
                requests.append(image.write_zeroes_async(offset, length))
            else:
                requests.append(image.discard_async(offset, length))
        await asyncio.gather(*requests)
        await image.flush_async()


def test_asyncio_trace_on_qcow2_as_qemu_io(tmp_path):
    ours = make_qcow2(str(tmp_path / "ours.qcow2"), str(SIZE),
                      ["write -P 0x5a 0 %d" % (SIZE // 2)])
    theirs = str(tmp_path / "theirs.qcow2")
    shutil.copyfile(ours, theirs)
    batches = trace(20261205)
    with gluvirt.open(ours, format="qcow2", writable=True) as image:
        asyncio.run(apply(image, batches))
    commands = list(qemu_io_commands(batches))
    for start in range(0, len(commands), 40):
        args = ["qemu-io", "-f", "qcow2"]
        for command in commands[start:start + 40]:
            args += ["-c", command]
        run(*(args + [theirs]))
    run("qemu-img", "check", "-q", "-f", "qcow2", ours)
    run("qemu-img", "compare", "-q", "-f", "qcow2", "-F", "qcow2", ours, theirs)


def test_pread_into_async_reads_what_qemu_reads(tmp_path):
    path = make_qcow2(str(tmp_path / "img.qcow2"), "1M",
                      ["write -P 0x21 0 64k", "write -P 0x42 100k 12k"])
    expected = raw_bytes_of(path)
    with gluvirt.open(path, format="qcow2") as image:
        buffers = [bytearray(4096 * 3) for _ in range(8)]

        async def reads():
            return await asyncio.gather(*(image.pread_into_async(b, 12288 * k)
                                          for k, b in enumerate(buffers)))
        counts = asyncio.run(reads())
    assert counts == [12288] * 8
    assert b"".join(buffers) == expected[:12288 * 8]
