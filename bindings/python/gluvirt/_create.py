"""gluvirt.create(): make a new image (gluvirt_image_create)."""

from typing import Any, Dict, List, Optional, Tuple, Union

from gluvirt._capi import encode, lib
from gluvirt._image import FORMATS
from gluvirt._pool import Pool
from gluvirt._uri import Text, Uri

PREALLOCATIONS = {"off": 0, "metadata": 1, "falloc": 2, "full": 3}  # gluvirt_preallocation
SIZE_OF_BACKING = (1 << 64) - 1                                     # GLUVIRT_CREATE_SIZE_OF_BACKING


def create(target: Union[Uri, Text], size: Optional[int], format: str = "raw",
           pool: Optional[Pool] = None, **options: Any) -> None:
    """Create the image target (a gluster URI, a Uri or a local path) of
    size bytes (rounded up to a multiple of 512, as qemu-img does); size None
    takes the backing file's size.

    format          "raw" or "qcow2"
    pool            a Pool serving gluster targets (None: a private one)
    cluster_size    qcow2 cluster size in bytes (default 65536)
    compat          qcow2 version: "1.1"/"v3" (default) or "0.10"/"v2"
    preallocation   "off" (default), "metadata" (qcow2), "falloc", "full"
    backing         a backing file name (qcow2 overlays), stored as given;
    backing_format  and its format, "raw" or "qcow2" (required with backing)
    overwrite       replace an existing file (default False: EEXIST)
    owner           (uid, gid) for the new file; -1 leaves either as made

    Raises gluvirt.Error: EEXIST, EINVAL, ENOENT, EACCES, ENOSPC and the
    pool's connect errors; ENOSYS when the loaded library cannot create
    images.
    """
    if pool is not None and not isinstance(pool, Pool):
        raise TypeError("pool must be a gluvirt.Pool, not %s" % type(pool).__name__)
    if size is None:
        size = SIZE_OF_BACKING
    elif isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 1 << 63:
        raise ValueError("size must be an int 0..2**63-1 (or None), not %r" % (size,))
    setters = _setters(format, dict(options))
    handle = lib.gluvirt_create_options_new()
    try:
        for setter, arguments in setters:
            setter(handle, *arguments)
        pool_handle = pool._live() if pool is not None else None
        if isinstance(target, Uri):
            lib.gluvirt_image_create_uri(pool_handle, target._live(), size, handle)
        else:
            lib.gluvirt_image_create(pool_handle, encode(target, "target"), size, handle)
    finally:
        lib.gluvirt_create_options_free(handle)


def _choice(table: Dict[str, int], value: Any, name: str) -> int:
    if value not in table:
        raise ValueError("%s must be one of %s, not %r" % (name, ", ".join(table), value))
    return table[value]


def _setters(format: str, options: Dict[str, Any]) -> List[Tuple[Any, Tuple[Any, ...]]]:
    known = ("cluster_size", "compat", "preallocation", "backing", "backing_format",
             "overwrite", "owner")
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError("gluvirt.create() got unknown options: %s (known: %s)"
                        % (", ".join(unknown), ", ".join(known)))
    creatable = {k: v for k, v in FORMATS.items() if k != "probe"}
    setters: List[Tuple[Any, Tuple[Any, ...]]] = [
        (lib.gluvirt_create_options_set_format, (_choice(creatable, format, "format"),))]
    if options.get("cluster_size") is not None:
        setters.append((lib.gluvirt_create_options_set_cluster_size, (options["cluster_size"],)))
    if options.get("compat") is not None:
        setters.append((lib.gluvirt_create_options_set_compat,
                        (encode(options["compat"], "compat"),)))
    if options.get("preallocation") is not None:
        setters.append((lib.gluvirt_create_options_set_preallocation,
                        (_choice(PREALLOCATIONS, options["preallocation"], "preallocation"),)))
    if options.get("backing") is not None:
        backing_format = _choice(creatable, options.get("backing_format"), "backing_format")
        setters.append((lib.gluvirt_create_options_set_backing,
                        (encode(options["backing"], "backing"), backing_format)))
    if options.get("overwrite"):
        setters.append((lib.gluvirt_create_options_set_overwrite, (1,)))
    if options.get("owner") is not None:
        uid, gid = options["owner"]
        setters.append((lib.gluvirt_create_options_set_owner, (uid, gid)))
    return setters


__all__ = ["create", "PREALLOCATIONS"]
