"""Image.check() (gluvirt_image_check) on local images qemu-img made: the
dict equals qemu-img check --output=json, repairs through an open for
repair and through an image opened writable (while it is being written),
a rebuild of the refcount structure, and the errors: raw images, repairs
of read-only images, rebuilds refused."""

import errno
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

import gluvirt
from conftest import HERE, run

DAMAGE = os.path.join(HERE, "..", "qcow2", "check-damage.py")


def qemu_check(path, *args):
    """qemu-img check --output=json: (exit code, dict without filename)."""
    done = subprocess.run(["qemu-img", "check", *args, "--output=json", path],
                          capture_output=True, text=True, timeout=120)
    out = json.loads(done.stdout) if done.stdout.strip() else {}
    out.pop("filename", None)
    return done.returncode, out


def damage(path, how):
    run(sys.executable, DAMAGE, path, how)


def without_filename(d):
    d = dict(d)
    assert d.pop("filename")
    return d


@pytest.fixture
def image(tmp_path):
    path = str(tmp_path / "disk.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", path, "4M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 1 0 64k", "-c", "write -c -P 2 1M 16k", path)
    return path


def test_clean_image_equals_qemu_img(image):
    with gluvirt.open(image, format="qcow2") as img:
        ours = img.check()
    rc, ref = qemu_check(image)
    assert rc == 0
    assert without_filename(ours) == ref
    assert ours["filename"] == image and ours["compressed-clusters"] == 4


def test_leak_found_and_repaired_through_an_open_for_repair(image, tmp_path):
    damage(image, "leak")
    reference = str(tmp_path / "ref.qcow2")
    shutil.copy(image, reference)
    with gluvirt.open(image, format="qcow2") as img:
        found = img.check()
    rc, ref = qemu_check(reference)
    assert rc == 3 and without_filename(found) == ref and found["leaks"] == 1

    lines = []
    with gluvirt.open(image, format="qcow2", repair=True) as img:
        with pytest.raises(gluvirt.Error) as e:
            img.pwrite(b"x", 0)
        assert e.value.errno == errno.EROFS
        repaired = img.check(repair="leaks", messages=lines)
    rc, ref = qemu_check(reference, "-r", "leaks")
    assert rc == 0 and without_filename(repaired) == ref and repaired["leaks-fixed"] == 1
    assert any(line.startswith("Leaked cluster") for line in lines), lines
    assert any(line.startswith("Repairing cluster") for line in lines), lines
    assert qemu_check(image) == qemu_check(reference)
    run("qemu-img", "compare", "-q", image, reference)


def test_repair_of_a_read_only_image_is_refused(image, tmp_path):
    damage(image, "leak")
    before = open(image, "rb").read()
    with gluvirt.open(image, format="qcow2") as img:
        with pytest.raises(gluvirt.Error) as e:
            img.check(repair="all")
    assert e.value.errno == errno.EROFS and "gluvirt_open_options_set_repair" in str(e.value)
    assert open(image, "rb").read() == before
    with gluvirt.open(image, format="qcow2") as img:
        with pytest.raises(ValueError):
            img.check(repair="some")


def test_raw_images_have_no_checks(tmp_path):
    path = str(tmp_path / "disk.raw")
    with open(path, "wb") as f:
        f.truncate(1 << 20)
    with gluvirt.open(path, format="raw") as img:
        with pytest.raises(gluvirt.Error) as e:
            img.check()
    assert e.value.errno == errno.ENOTSUP
    assert "does not support checks" in str(e.value)


def test_rebuild(tmp_path):
    """A cluster in use with refcount 0: -r leaks and a repair through a
    writable open refuse to rebuild the refcount structure and change
    nothing; -r all through an open for repair rebuilds it."""
    image = str(tmp_path / "disk.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", image, "4M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 1 0 64k", "-c", "write -P 2 1M 16k", image)
    damage(image, "zero")
    reference = str(tmp_path / "ref.qcow2")
    shutil.copy(image, reference)
    before = open(image, "rb").read()
    with gluvirt.open(image, format="qcow2", repair=True) as img:
        assert without_filename(img.check()) == qemu_check(reference)[1]
        with pytest.raises(gluvirt.Error) as e:
            img.check(repair="leaks")
        assert e.value.errno == errno.EIO and "rebuild" in str(e.value)
    assert open(image, "rb").read() == before
    with gluvirt.open(image, format="qcow2", writable=True) as img:
        with pytest.raises(gluvirt.Error) as e:
            img.check(repair="all")
        assert e.value.errno == errno.EIO and "gluvirt_open_options_set_repair" in str(e.value)
    assert open(image, "rb").read() == before
    lines = []
    with gluvirt.open(image, format="qcow2", repair=True) as img:
        repaired = img.check(repair="all", messages=lines)
    assert "Rebuilding refcount structure" in lines
    rc, ref = qemu_check(reference, "-r", "all")
    assert rc == 0 and repaired["corruptions-fixed"] == ref["corruptions-fixed"]
    assert qemu_check(image)[0] == 0
    run("qemu-img", "compare", "-q", image, reference)


def test_repair_of_an_image_opened_writable_while_it_is_written(tmp_path):
    """The writer's own refcount cache stays right across a repair: writes
    before, during and after it leave an image qemu-img finds clean and
    holding what was written."""
    image = str(tmp_path / "disk.qcow2")
    run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", image, "4M")
    run("qemu-io", "-f", "qcow2", "-c", "write -P 1 0 64k", "-c", "write -P 2 1M 16k", image)
    damage(image, "leak")
    damage(image, "leak")
    model = bytearray(4 << 20)
    model[0:64 << 10] = b"\1" * (64 << 10)
    model[1 << 20:(1 << 20) + (16 << 10)] = b"\2" * (16 << 10)
    stop = threading.Event()
    errors = []
    with gluvirt.open(image, format="qcow2", writable=True) as img:
        img.pwrite(b"\3" * 8192, 2 << 20)
        model[2 << 20:(2 << 20) + 8192] = b"\3" * 8192

        def writer():
            offset = 3 << 20
            try:
                while not stop.is_set() and offset < (4 << 20):
                    img.pwrite(b"\4" * 4096, offset)
                    model[offset:offset + 4096] = b"\4" * 4096
                    offset += 8192
            except gluvirt.Error as e:  # pragma: no cover - reported below
                errors.append(e)

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            repaired = img.check(repair="leaks")
            later = [img.check() for _ in range(5)]
        finally:
            stop.set()
            thread.join()
        assert not errors, errors
        assert repaired["leaks-fixed"] == 2 and "leaks" not in repaired
        for result in later:
            assert "leaks" not in result and "corruptions" not in result, result
        img.pwrite(b"\5" * 4096, 1536 << 10)
        model[1536 << 10:(1536 << 10) + 4096] = b"\5" * 4096
    assert qemu_check(image)[0] == 0
    raw = str(tmp_path / "out.raw")
    run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image, raw)
    assert open(raw, "rb").read() == bytes(model)
