"""Shared fixtures of the Python binding's tests.

tests/python/run-pytest.sh runs them from 'make check' with the built
library ($GLUVIRT_LIBRARY) and the package from the source tree on
PYTHONPATH.  The gluster tests find the test volumes the way the shell tests
do (tests/gluster/lib.sh): $GLUVIRT_TEST_HOST, or the env file of the
cluster under $GLUVIRT_CLUSTER_BASE.  Without volumes they skip, unless
GLUVIRT_REQUIRE_GLUSTER=1, when they fail.
"""

import os
import shlex
import subprocess
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(HERE))
TOP_BUILDDIR = os.environ.get("top_builddir") or TOP_SRCDIR

# After PYTHONPATH, so that an installed or copied package can be tested too.
for extra in (os.path.join(TOP_SRCDIR, "bindings", "python"), os.path.join(TOP_SRCDIR, "docs")):
    if extra not in sys.path:
        sys.path.append(extra)

import gluvirt  # noqa: E402  (after the path set-up above)


def gluvirt_tool():
    return os.environ.get("GLUVIRT") or os.path.join(TOP_BUILDDIR, "tools", "gluvirt")


def run_tool(*args, check=True):
    """Run the gluvirt command; its stdout as str."""
    done = subprocess.run([gluvirt_tool(), *args], capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError("gluvirt %s failed (%d): %s" % (" ".join(args), done.returncode,
                                                            done.stderr.strip()))
    return done.stdout


def run_tool_bytes(*args):
    """Run the gluvirt command; its stdout as bytes."""
    done = subprocess.run([gluvirt_tool(), *args], capture_output=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError("gluvirt %s failed (%d): %s" % (" ".join(args), done.returncode,
                                                            done.stderr.decode().strip()))
    return done.stdout


def run(*args):
    """Run a helper program (qemu-img, qemu-io); fail the test if it fails."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(args), done.returncode,
                                                    done.stderr.strip()))
    return done.stdout


class Volumes:
    """Where the test volumes are."""

    def __init__(self, host, socket):
        self.host, self.socket = host, socket

    def uri(self, volume, name):
        return "gluster://%s/%s/%s" % (self.host, volume, name)


def _cluster_env():
    env = {}
    base = os.environ.get("GLUVIRT_CLUSTER_BASE", "/tmp/gluvirt-cluster")
    path = os.path.join(base, "env")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                words = shlex.split(line)
                if len(words) == 2 and words[0] == "export" and "=" in words[1]:
                    key, value = words[1].split("=", 1)
                    env[key] = value
    return env


@pytest.fixture(scope="session")
def volumes():
    """The gluster test volumes, or a skip (a failure when they are required)."""
    host = os.environ.get("GLUVIRT_TEST_HOST")
    socket = os.environ.get("GLUVIRT_TEST_SOCKET")
    if not host:
        env = _cluster_env()
        host, socket = env.get("GLUVIRT_TEST_HOST"), env.get("GLUVIRT_TEST_SOCKET")
    if not host:
        message = "no gluster test volumes (start them: tests/cluster/test-volumes.sh up)"
        if os.environ.get("GLUVIRT_REQUIRE_GLUSTER") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return Volumes(host, socket)


@pytest.fixture(scope="session")
def pool():
    with gluvirt.Pool(linger_ms=60000) as shared:
        yield shared


@pytest.fixture(scope="session")
def gluster_files(volumes, pool):
    """make(volume, names...) -> URIs of new, empty files on the volume.

    Made with gluvirt.create when the library has it, else with qemu-img
    (about 10 s, the files of one call in parallel).  At the end of the
    session every file is emptied: gluvirt cannot delete files on a volume.
    """
    made = []
    tag = "pytest-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])

    def make(volume, *names):
        uris = [volumes.uri(volume, "%s-%s" % (tag, name)) for name in names]
        if gluvirt._capi.lib.has("gluvirt_image_create"):
            for uri in uris:
                gluvirt.create(uri, 0, pool=pool)
        else:
            jobs = [subprocess.Popen(["qemu-img", "create", "-q", "-f", "raw", uri, "0"],
                                     stderr=subprocess.PIPE, text=True) for uri in uris]
            for uri, job in zip(uris, jobs):
                _, err = job.communicate(timeout=120)
                assert job.returncode == 0, "qemu-img create %s: %s" % (uri, err)
        made.extend(uris)
        return uris

    yield make
    for uri in made:
        try:
            with gluvirt.open(uri, writable=True, pool=pool) as image:
                image.truncate(0)
        except gluvirt.Error:
            pass


def copy_into(uri, local_path, pool):
    """Put the bytes of a local file into an (existing) file on a volume."""
    with open(local_path, "rb") as f:
        data = f.read()
    with gluvirt.open(uri, writable=True, pool=pool) as image:
        image.truncate(len(data))
        image.pwrite(data, 0)
        image.flush()


def make_qcow2(path, size="16M", script=()):
    """A local qcow2 image made by qemu-img, then written by qemu-io
    commands (e.g. "write -P 0x11 1M 64k", "write -z 2M 64k", "write -c ...")."""
    run("qemu-img", "create", "-q", "-f", "qcow2", path, size)
    for command in script:
        run("qemu-io", "-f", "qcow2", "-c", command, path)
    return path


def raw_bytes_of(path, fmt="qcow2"):
    """What qemu-img reads from an image, as bytes."""
    out = path + ".raw"
    run("qemu-img", "convert", "-f", fmt, "-O", "raw", path, out)
    with open(out, "rb") as f:
        data = f.read()
    os.unlink(out)
    return data
