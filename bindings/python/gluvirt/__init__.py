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
message.  The library is found through $GLUVIRT_LIBRARY (a path to
libgluvirt.so.0), then a source tree built in place, then where 'make
install' put it, then the dynamic linker's search path.
"""

from gluvirt._capi import Error, lib as _lib, library_path
from gluvirt._uri import Server, Uri
from gluvirt._pool import COUNTERS, Connection, Pool
from gluvirt._image import BACKING_POLICIES, FORMATS, Image, open
from gluvirt._create import PREALLOCATIONS, create
from gluvirt._volume import check_volume
from gluvirt._verbs import measure

# The libgluvirt release this package comes with: configure.ac's package
# version, repeated as a literal so that pip (through pyproject.toml) reads
# it from the source without importing the package.
# tests/unit/version-story.sh fails when the two differ.
__version__ = "1.1.0"


def library_version():
    """The version of the libgluvirt that was loaded ("MAJOR.MINOR.MICRO")."""
    return _lib.gluvirt_version().decode()


__all__ = ["Error", "Uri", "Server", "Pool", "Connection", "Image", "open", "create",
           "check_volume", "measure", "library_version", "library_path", "FORMATS",
           "BACKING_POLICIES", "PREALLOCATIONS", "COUNTERS"]
