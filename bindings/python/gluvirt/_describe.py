"""Image.info() and Image.map(): the objects `gluvirt info --json` and
`gluvirt map --output=json` print (qemu-img's keys), built from the same C
calls the command makes, so that both always say the same thing."""

import ctypes
import errno

from gluvirt._capi import Error, decode, lib

# enum gluvirt_info_key
INFO_FILENAME = 0
INFO_ALLOCATED_SIZE = 1
INFO_CLUSTER_SIZE = 2
INFO_QCOW2_VERSION = 3
INFO_REFCOUNT_BITS = 4
INFO_DIRTY = 5
INFO_CORRUPT = 6
INFO_LAZY_REFCOUNTS = 7
INFO_EXTENDED_L2 = 8
INFO_COMPRESSION_TYPE = 9
INFO_BACKING_NAME = 10
INFO_BACKING_FULL_NAME = 11
INFO_BACKING_FORMAT = 12
INFO_DATA_FILE = 13
INFO_SNAPSHOT_COUNT = 14

# enum gluvirt_snapshot_key
SNAPSHOT_ID = 0
SNAPSHOT_NAME = 1
SNAPSHOT_VM_STATE_SIZE = 2
SNAPSHOT_DATE_SEC = 3
SNAPSHOT_DATE_NSEC = 4
SNAPSHOT_VM_CLOCK_NSEC = 5
SNAPSHOT_ICOUNT = 6
SNAPSHOT_DISK_SIZE = 7

# GLUVIRT_BLOCK_* flags of gluvirt_image_block_status
BLOCK_DATA = 1
BLOCK_ZERO = 2
BLOCK_PRESENT = 4
BLOCK_COMPRESSED = 8

#: C name -> value, for the test that compares them with the headers.
C_CONSTANTS = {"GLUVIRT_" + name: value for name, value in globals().items()
               if name.startswith(("INFO_", "SNAPSHOT_", "BLOCK_"))}


def is_gluster_target(name):
    """The library's rule: a target that starts with "gluster" and holds a ':'."""
    return name.startswith("gluster") and ":" in name


def _int(handle, key):
    return lib.gluvirt_image_info_int(handle, key)


def _string(handle, key):
    return decode(lib.gluvirt_image_info_string(handle, key))


def _snapshot(handle, index):
    def text(key):
        return decode(lib.gluvirt_image_snapshot_string(handle, index, key)) or ""

    def number(key):
        return lib.gluvirt_image_snapshot_int(handle, index, key)

    clock = max(number(SNAPSHOT_VM_CLOCK_NSEC), 0)
    icount = number(SNAPSHOT_ICOUNT)
    snapshot = {}
    if icount >= 0:
        snapshot["icount"] = icount
    snapshot.update([
        ("vm-clock-nsec", clock % 1000000000),
        ("name", text(SNAPSHOT_NAME)),
        ("date-sec", number(SNAPSHOT_DATE_SEC)),
        ("date-nsec", number(SNAPSHOT_DATE_NSEC)),
        ("vm-clock-sec", clock // 1000000000),
        ("id", text(SNAPSHOT_ID)),
        ("vm-state-size", number(SNAPSHOT_VM_STATE_SIZE)),
    ])
    return snapshot


def _format_specific(handle):
    version = _int(handle, INFO_QCOW2_VERSION)
    refcount_bits = _int(handle, INFO_REFCOUNT_BITS)
    data_file = _string(handle, INFO_DATA_FILE)
    data = {
        "compat": "1.1" if version >= 3 else "0.10",
        "compression-type": _string(handle, INFO_COMPRESSION_TYPE) or "zlib",
    }
    if version >= 3:
        data["lazy-refcounts"] = _int(handle, INFO_LAZY_REFCOUNTS) > 0
    if refcount_bits > 0:
        data["refcount-bits"] = refcount_bits
    if data_file is not None:
        data["data-file"] = data_file
    if version >= 3:
        data["corrupt"] = _int(handle, INFO_CORRUPT) > 0
        data["extended-l2"] = _int(handle, INFO_EXTENDED_L2) > 0
    return {"type": "qcow2", "data": data}


def describe_layer(handle, filename):
    """One layer's dict, with its keys in the order qemu-img 7.2 prints them."""
    qcow2 = decode(lib.gluvirt_image_format(handle)) == "qcow2"
    size = lib.gluvirt_image_size(handle)
    allocated = _int(handle, INFO_ALLOCATED_SIZE)
    backing = backing_full = backing_format = None
    snapshots = 0
    if qcow2:
        backing = _string(handle, INFO_BACKING_NAME)
        if backing is not None:
            backing_full = _string(handle, INFO_BACKING_FULL_NAME)
            backing_format = _string(handle, INFO_BACKING_FORMAT)
        count = _int(handle, INFO_SNAPSHOT_COUNT)
        snapshots = count if 0 < count <= 0x7FFFFFFF else 0
        dirty = _int(handle, INFO_DIRTY)
        dirty = None if dirty < 0 else dirty != 0
    else:
        # QEMU's gluster driver answers no dirty flag; a local raw file's is false.
        dirty = None if is_gluster_target(filename) else False

    info = {}
    if backing_format is not None:
        info["backing-filename-format"] = backing_format
    if snapshots:
        info["snapshots"] = [_snapshot(handle, i) for i in range(snapshots)]
    info["virtual-size"] = size
    info["filename"] = filename
    if qcow2:
        info["cluster-size"] = _int(handle, INFO_CLUSTER_SIZE)
    info["format"] = decode(lib.gluvirt_image_format(handle))
    if allocated >= 0:
        info["actual-size"] = allocated
    if qcow2:
        info["format-specific"] = _format_specific(handle)
    if backing_full is not None:
        info["full-backing-filename"] = backing_full
    if backing is not None:
        info["backing-filename"] = backing
    if dirty is not None:
        info["dirty-flag"] = dirty
    return info


def describe(handle, target_name, backing_chain=False):
    """Image.info(): the top layer's dict, or with backing_chain a list with
    one dict per layer, top first."""
    layers = []
    layer = handle
    while layer:
        name = target_name if layer is handle else _string(layer, INFO_FILENAME) or target_name
        layers.append(describe_layer(layer, name))
        if not backing_chain:
            return layers[0]
        layer = lib.gluvirt_image_backing(layer)
    return layers


# ---------------------------------------------------------------- map

def _run(handle, offset, length):
    flags, depth, host = ctypes.c_uint(0), ctypes.c_int(0), ctypes.c_int64(-1)
    n = lib.gluvirt_image_block_status(handle, offset, length, ctypes.byref(flags),
                                       ctypes.byref(depth), ctypes.byref(host))
    if n == 0:
        raise Error(errno.EIO, "no block status for the %d bytes at offset %d, inside the image's "
                       "size" % (length, offset))
    run = {"start": offset, "length": n, "depth": depth.value,
           "present": bool(flags.value & BLOCK_PRESENT), "zero": bool(flags.value & BLOCK_ZERO),
           "data": bool(flags.value & BLOCK_DATA)}
    if host.value >= 0:
        run["offset"] = host.value
    return run


def _mergeable(a, b):
    if a["length"] == 0 or any(a[k] != b[k] for k in ("zero", "data", "depth", "present")):
        return False
    if ("offset" in a) != ("offset" in b):
        return False
    return "offset" not in a or a["offset"] + a["length"] == b["offset"]


def block_map(handle, start, end):
    """Image.map(): qemu-img map's runs from start to end, merged as it
    merges them."""
    current = {"start": start, "length": 0, "depth": 0, "present": False, "zero": False,
               "data": False}
    runs = []
    while current["start"] + current["length"] < end:
        offset = current["start"] + current["length"]
        following = _run(handle, offset, end - offset)
        if _mergeable(current, following):
            current["length"] += following["length"]
            continue
        if current["length"] > 0:
            runs.append(current)
        current = following
    runs.append(current)
    return runs
