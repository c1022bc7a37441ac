"""gluvirt.Uri: a gluster image location (gluvirt_uri)."""

import ctypes
import os
from typing import Any, Iterable, List, NamedTuple, Optional, Sequence, Union

# What the C library takes as text: str, bytes or a path.
Text = Union[str, bytes, "os.PathLike[str]"]

from gluvirt._capi import decode, encode, lib, take_string
from gluvirt._handle import HandleOwner

_TRANSPORTS = {0: "tcp", 1: "unix", 2: "rdma"}


class Server(NamedTuple):
    """One volfile server: transport "tcp", "unix" or "rdma"; host and port
    for tcp and rdma, socket for unix (the others are None)."""
    transport: Optional[str]
    host: Optional[str]
    port: Optional[int]
    socket: Optional[str]


class Uri(HandleOwner):
    """An image on a gluster volume and the volfile servers to ask for it.

    Make one with Uri.parse(text), Uri.from_qemu_json(text),
    Uri.from_libvirt_xml(text), or Uri(volume, path, servers) where each
    server is ("tcp", host, port), ("unix", socket_path) or a Server.
    str(uri) is the canonical URI (QEMU's JSON form when it has several
    servers, which a URI cannot hold).  A Uri is immutable; close() (or a
    with block) frees it at once, the garbage collector does otherwise.
    """

    __slots__ = ("_handle", "__weakref__")
    _NAME = "gluvirt.Uri"

    def __init__(self, volume: Text, path: Text,
                 servers: Iterable[Sequence[Any]] = ()) -> None:
        self._handle = None
        handle = lib.gluvirt_uri_new(encode(volume, "volume"), encode(path, "path"))
        try:
            for server in servers:
                _add_server(handle, server)
        except BaseException:
            lib.gluvirt_uri_free(handle)
            raise
        self._handle = handle

    @classmethod
    def _adopt(cls, handle: Any) -> "Uri":
        uri = cls.__new__(cls)
        uri._handle = handle
        return uri

    @classmethod
    def parse(cls, text: Text) -> "Uri":
        """Parse and check a gluster URI ("gluster://host/volume/path", ...).
        Raises gluvirt.Error (errno EINVAL) naming the fault and its column."""
        return cls._adopt(lib.gluvirt_uri_parse(encode(text, "URI")))

    @classmethod
    def from_qemu_json(cls, text: Text) -> "Uri":
        """Read QEMU's JSON form ("json:{...}", the prefix is optional)."""
        return cls._adopt(lib.gluvirt_uri_from_qemu_json(encode(text, "JSON")))

    @classmethod
    def from_libvirt_xml(cls, text: Text) -> "Uri":
        """Read a libvirt <disk type='network'> element or its <source>."""
        return cls._adopt(lib.gluvirt_uri_from_libvirt_xml(encode(text, "XML")))

    def _free(self, handle: Any) -> None:
        lib.gluvirt_uri_free(handle)

    # ------------------------------------------------------------ parts

    @property
    def volume(self) -> str:
        return decode(lib.gluvirt_uri_volume(self._live()))

    @property
    def path(self) -> str:
        """The image path inside the volume, without a leading '/'."""
        return decode(lib.gluvirt_uri_path(self._live()))

    @property
    def servers(self) -> List[Server]:
        """Every volfile server, in the order they are tried."""
        handle = self._live()
        return [_server(handle, i) for i in range(lib.gluvirt_uri_server_count(handle))]

    def _first(self) -> Server:
        servers = self.servers
        return servers[0] if servers else Server(None, None, None, None)

    @property
    def transport(self) -> Optional[str]:
        """The first server's transport: "tcp", "unix" or "rdma"."""
        return self._first().transport

    @property
    def host(self) -> Optional[str]:
        """The first server's host (None for a unix socket)."""
        return self._first().host

    @property
    def port(self) -> Optional[int]:
        """The first server's port, 24007 when the URI names none (None for unix)."""
        return self._first().port

    @property
    def socket(self) -> Optional[str]:
        """The first server's unix socket path (None for tcp and rdma)."""
        return self._first().socket

    # ------------------------------------------------------------ forms

    def to_qemu_json(self) -> str:
        """QEMU's one-line "json:{...}" option form, with every server."""
        return take_string(lib.gluvirt_uri_to_qemu_json(self._live()))

    def to_libvirt_xml(self) -> str:
        """A libvirt <disk type='network'> element listing every server."""
        return take_string(lib.gluvirt_uri_to_libvirt_xml(self._live()))

    def __str__(self) -> str:
        handle = self._live()
        if lib.gluvirt_uri_server_count(handle) > 1:
            return self.to_qemu_json()
        return take_string(lib.gluvirt_uri_format(handle))

    def __repr__(self) -> str:
        if not self._handle:
            return "<gluvirt.Uri (closed)>"
        return "gluvirt.Uri.parse(%r)" % str(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Uri):
            return NotImplemented
        return bool(lib.gluvirt_uri_equal(self._live(), other._live()))

    def __hash__(self) -> int:
        return hash(str(self))

    def __copy__(self) -> "Uri":
        return Uri._adopt(lib.gluvirt_uri_dup(self._live()))

    def __deepcopy__(self, memo: Any) -> "Uri":
        return self.__copy__()


def _server(handle: Any, i: int) -> Server:
    transport = _TRANSPORTS.get(lib.gluvirt_uri_server_transport(handle, i), "unknown")
    if transport == "unix":
        return Server(transport, None, None, decode(lib.gluvirt_uri_server_socket(handle, i)))
    return Server(transport, decode(lib.gluvirt_uri_server_host(handle, i)),
                  lib.gluvirt_uri_server_port(handle, i), None)


def _add_server(handle: Any, server: Sequence[Any]) -> None:
    server = tuple(server)
    if server and server[0] == "unix":
        socket = server[3] if len(server) == 4 else server[1] if len(server) == 2 else None
        if socket is None:
            raise ValueError("a unix server is (\"unix\", socket_path)")
        lib.gluvirt_uri_add_unix_server(handle, encode(socket, "socket path"))
    elif server and server[0] == "tcp":
        if len(server) not in (2, 3, 4):
            raise ValueError("a tcp server is (\"tcp\", host) or (\"tcp\", host, port)")
        port = server[2] if len(server) > 2 and server[2] is not None else 0
        lib.gluvirt_uri_add_tcp_server(handle, encode(server[1], "host"), ctypes.c_int(port))
    else:
        raise ValueError("a server is (\"tcp\", host[, port]) or (\"unix\", socket_path), "
                         "not %r" % (server,))


__all__ = ["Uri", "Server"]
