"""gluvirt.Uri: parsing, parts, canonical form, conversions, errors,
lifetime.  No server needed."""

import copy
import errno
import json

import pytest

import gluvirt
from conftest import run_tool


def test_parts_and_canonical_form():
    uri = gluvirt.Uri.parse("gluster+tcp://node1:24007//vmstore//images/vm%201.qcow2")
    assert (uri.transport, uri.host, uri.port, uri.socket) == ("tcp", "node1", 24007, None)
    assert (uri.volume, uri.path) == ("vmstore", "images/vm 1.qcow2")
    assert uri.servers == [gluvirt.Server("tcp", "node1", 24007, None)]
    assert str(uri) == "gluster://node1/vmstore/images/vm%201.qcow2"


def test_same_parts_as_the_command():
    """The attributes are the keys of `gluvirt uri --json`."""
    for text in ("gluster://[fe80::1%25eth0]:24008/vm-store/a/b.raw",
                 "gluster+unix:///gv0/dir/x.qcow2?socket=/run/glusterd.socket",
                 "gluster+rdma://10.0.0.5/gv1/img"):
        expected = json.loads(run_tool("uri", "--json", text))
        with gluvirt.Uri.parse(text) as uri:
            got = {"transport": uri.transport, "host": uri.host, "port": uri.port,
                   "socket": uri.socket, "volume": uri.volume, "path": uri.path,
                   "servers": [s._asdict() for s in uri.servers]}
            assert got == expected
            assert str(uri) == run_tool("uri", text).strip()


def test_unix_socket_uri():
    uri = gluvirt.Uri.parse("gluster+unix:///gv0/x?socket=/run/g.sock")
    assert (uri.transport, uri.host, uri.port, uri.socket) == ("unix", None, None, "/run/g.sock")


def test_errors_are_oserror_with_the_library_message():
    with pytest.raises(gluvirt.Error) as caught:
        gluvirt.Uri.parse("gluster://node1:99999/vmstore/vm1.qcow2")
    error = caught.value
    assert isinstance(error, OSError)
    assert error.errno == errno.EINVAL
    assert "99999" in error.message and "column" in error.message
    assert error.strerror == error.message
    with pytest.raises(gluvirt.Error, match="credentials|password|user"):
        gluvirt.Uri.parse("gluster://admin:secret@node1/vmstore/vm1.qcow2")


def test_several_servers_and_the_other_forms():
    uri = gluvirt.Uri("vmstore", "dir/vm1.qcow2",
                      [("tcp", "node1"), ("tcp", "node2", 24008), ("unix", "/run/g.sock")])
    assert [s.host for s in uri.servers] == ["node1", "node2", None]
    assert uri.servers[1].port == 24008 and uri.servers[2].socket == "/run/g.sock"
    # a URI holds one server: str() falls back to QEMU's JSON, which holds all
    assert str(uri).startswith("json:{") and str(uri) == uri.to_qemu_json()
    assert gluvirt.Uri.from_qemu_json(uri.to_qemu_json()) == uri
    assert gluvirt.Uri.from_libvirt_xml(uri.to_libvirt_xml()) == uri
    single = gluvirt.Uri("vmstore", "vm1.raw", [gluvirt.Server("tcp", "node1", 24007, None)])
    assert single == gluvirt.Uri.parse("gluster://node1:24007/vmstore/vm1.raw")
    assert hash(single) == hash(gluvirt.Uri.parse("gluster://node1/vmstore/vm1.raw"))
    assert single != uri
    with pytest.raises(ValueError):
        gluvirt.Uri("vmstore", "vm1.raw", [("ftp", "node1")])
    with pytest.raises(gluvirt.Error):
        gluvirt.Uri("vmstore", "vm1.raw", [("tcp", "node1", 70000)])


def test_copy_and_lifetime():
    uri = gluvirt.Uri.parse("gluster://node1/vmstore/vm1.raw")
    twin = copy.copy(uri)
    assert twin == uri and twin._handle is not uri._handle
    with uri:
        assert not uri.closed
    assert uri.closed
    with pytest.raises(ValueError, match="closed"):
        uri.volume
    uri.close()  # twice is fine
    assert twin.volume == "vmstore"
    assert repr(uri) == "<gluvirt.Uri (closed)>"


def test_text_arguments():
    with pytest.raises(ValueError, match="NUL"):
        gluvirt.Uri.parse("gluster://node1/vmstore/a\0b")
    with pytest.raises(TypeError):
        gluvirt.Uri.parse(42)
    assert gluvirt.Uri.parse(b"gluster://node1/vmstore/vm1.raw").volume == "vmstore"
