"""libgluvirt for Python: VM disk images (raw, qcow2) on GlusterFS volumes
through libgfapi, without FUSE.

    import gluvirt

    uri = gluvirt.Uri.parse("gluster://node1/vmstore/images/vm1.qcow2")
    print(uri.host, uri.volume, uri.path, str(uri))

    with gluvirt.Pool() as pool:
        gluvirt.create(uri, 1 << 30, format="qcow2", pool=pool)
        with gluvirt.open(uri, format="qcow2", pool=pool) as image:
            print(image.size, image.info()["format"])
            head = image.pread(512, 0)

    async def first_mib(image):   # asyncio, through the completion fd
        return await image.pread_async(1 << 20, 0)

Failures raise gluvirt.Error, an OSError with the library's errno and
message, which is also the standard OSError subclass of its errno:
FileNotFoundError (ENOENT), PermissionError (EACCES, EPERM),
ConnectionRefusedError, TimeoutError, ... (gluvirt/_errors.py).
Importing fails with ImportError when the libgluvirt found is older than
this package.  The library is found through $GLUVIRT_LIBRARY (a path to
libgluvirt.so.0), then a source tree built in place, then where 'make
install' put it, then the dynamic linker's search path.
"""

from typing import List, Tuple

# The libgluvirt release this package comes with: configure.ac's package
# version, repeated as a literal so that pip (through pyproject.toml) reads
# it from the source without importing the package.
# tests/unit/version-story.sh fails when the two differ.
__version__ = "1.2.0"

from gluvirt._capi import lib as _lib, library_path  # noqa: E402
from gluvirt._errors import (  # noqa: E402
    BlockingIOError, BrokenPipeError, ChildProcessError, ConnectionAbortedError,
    ConnectionRefusedError, ConnectionResetError, Error, FileExistsError, FileNotFoundError,
    InterruptedError, IsADirectoryError, NotADirectoryError, PermissionError,
    ProcessLookupError, TimeoutError)


def library_version() -> str:
    """The version of the libgluvirt that was loaded ("MAJOR.MINOR.MICRO")."""
    return _lib.gluvirt_version().decode()


def _release(text: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3])


def _require_library(package: str) -> None:
    """Refuse a libgluvirt older than the package: the functions this
    package calls may not be there, or may not behave as it expects."""
    found = library_version()
    try:
        older = _release(found) < _release(package)
    except ValueError:
        older = True
    if older:
        raise ImportError("gluvirt %s needs libgluvirt %s or later, but %s is version %s: "
                          "install a newer libgluvirt, or point GLUVIRT_LIBRARY at one"
                          % (package, package, library_path, found))


_require_library(__version__)

from gluvirt._uri import Server, Uri  # noqa: E402
from gluvirt._pool import COUNTERS, Connection, Pool  # noqa: E402
from gluvirt._image import BACKING_POLICIES, FORMATS, Image, open  # noqa: E402
from gluvirt._create import PREALLOCATIONS, create  # noqa: E402
from gluvirt._volume import check_volume  # noqa: E402
from gluvirt._verbs import measure  # noqa: E402
from gluvirt._log import LOG_LEVELS, set_log_handler  # noqa: E402

__all__: List[str] = [
    "Error", "Uri", "Server", "Pool", "Connection", "Image", "open", "create",
    "check_volume", "measure", "library_version", "library_path", "FORMATS", "BACKING_POLICIES",
    "PREALLOCATIONS", "COUNTERS", "set_log_handler", "LOG_LEVELS",
    # the OSError subclasses a gluvirt.Error may also be (gluvirt/_errors.py)
    "BlockingIOError", "BrokenPipeError", "ChildProcessError", "ConnectionAbortedError",
    "ConnectionRefusedError", "ConnectionResetError", "FileExistsError", "FileNotFoundError",
    "InterruptedError", "IsADirectoryError", "NotADirectoryError", "PermissionError",
    "ProcessLookupError", "TimeoutError"]
