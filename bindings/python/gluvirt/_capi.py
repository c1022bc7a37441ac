"""The C interface of libgluvirt as ctypes sees it.

Every exported function of <gluvirt/*.h> is declared here once, with its
result type, its argument types and what a failure looks like.  The table
is checked against the installed headers by tests/python/test_prototypes.py,
so a change to a C signature that is not made here too fails the tests.

Each opaque handle type of the C library is a distinct ctypes type: passing
a pool where an image is expected raises ctypes.ArgumentError, as it would
be a compile error in C.
"""

import ctypes
import errno
import os
from typing import TYPE_CHECKING, Any

from ctypes import (CFUNCTYPE, POINTER, c_char_p, c_int, c_int64, c_size_t, c_ssize_t,
                    c_uint, c_uint32, c_uint64, c_void_p)

# Error(number, message) is the OSError subclass of its errno too (_errors.py).
from gluvirt._errors import Error

__all__ = ["Error", "lib", "OPAQUE", "PROTOTYPES", "CALLBACKS", "COMPLETE_FN", "RELEASE_FN",
           "PROGRESS_FN",
           "Iovec", "library_path", "encode", "decode", "take_string"]


# ---------------------------------------------------------------- types

class _Handle(ctypes.Structure):
    """Base of the incomplete structs behind the C library's handles."""
    _fields_: "list[tuple[str, Any]]" = []


def _handle_type(c_name):
    return type(c_name, (_Handle,), {"_fields_": []})


#: C typedef name -> ctypes struct type; a handle is a POINTER to one.
OPAQUE = {name: _handle_type(name) for name in (
    "gluvirt_uri", "gluvirt_pool", "gluvirt_pool_options", "gluvirt_connection",
    "gluvirt_image", "gluvirt_open_options", "gluvirt_create_options",
    "gluvirt_volume_report", "gluvirt_volume_check_options", "gluvirt_verb_options",
    "gluvirt_check_result")}

URI = POINTER(OPAQUE["gluvirt_uri"])
POOL = POINTER(OPAQUE["gluvirt_pool"])
POOL_OPTIONS = POINTER(OPAQUE["gluvirt_pool_options"])
CONNECTION = POINTER(OPAQUE["gluvirt_connection"])
IMAGE = POINTER(OPAQUE["gluvirt_image"])
OPEN_OPTIONS = POINTER(OPAQUE["gluvirt_open_options"])
CREATE_OPTIONS = POINTER(OPAQUE["gluvirt_create_options"])
REPORT = POINTER(OPAQUE["gluvirt_volume_report"])
CHECK_OPTIONS = POINTER(OPAQUE["gluvirt_volume_check_options"])
VERB_OPTIONS = POINTER(OPAQUE["gluvirt_verb_options"])
CHECK_RESULT = POINTER(OPAQUE["gluvirt_check_result"])


class Iovec(ctypes.Structure):
    """struct iovec of <sys/uio.h>."""
    _fields_ = [("iov_base", c_void_p), ("iov_len", c_size_t)]


# typedef void (*gluvirt_complete_fn)(void *user_data, int64_t result);
COMPLETE_FN = CFUNCTYPE(None, c_void_p, c_int64)
# typedef void (*gluvirt_release_fn)(void *user_data);
RELEASE_FN = CFUNCTYPE(None, c_void_p)
# typedef int (*gluvirt_progress_fn)(void *user_data, uint64_t done, uint64_t total);
PROGRESS_FN = CFUNCTYPE(c_int, c_void_p, c_uint64, c_uint64)
# typedef void (*gluvirt_log_fn)(int level, const char *message, void *opaque);
LOG_FN = CFUNCTYPE(None, c_int, c_char_p, c_void_p)
# typedef void (*gluvirt_log_free_fn)(void *opaque);
LOG_FREE_FN = CFUNCTYPE(None, c_void_p)
#: C callback typedef name -> ctypes function type.
CALLBACKS = {"gluvirt_complete_fn": COMPLETE_FN, "gluvirt_release_fn": RELEASE_FN,
             "gluvirt_progress_fn": PROGRESS_FN, "gluvirt_log_fn": LOG_FN,
             "gluvirt_log_free_fn": LOG_FREE_FN}

#: What a failed call returns: a NULL pointer, -1 (any negative value), or
#: nothing that tells (the caller looks at the result itself).
NULL, NEGATIVE, RAW = "null", "negative", "raw"

ENUM = c_int  # C enums are passed as int on every ABI the library supports

#: name -> (result type, argument types, failure convention).  A result of
#: c_void_p for a "char *" is a string the caller frees with gluvirt_free.
PROTOTYPES = {
    # common.h
    "gluvirt_errmsg": (c_char_p, [], RAW),
    "gluvirt_errno": (c_int, [], RAW),
    "gluvirt_version": (c_char_p, [], RAW),
    "gluvirt_free": (None, [c_void_p], RAW),
    "gluvirt_set_log_handler": (c_int, [LOG_FN, c_void_p, LOG_FREE_FN, ENUM], NEGATIVE),
    # uri.h
    "gluvirt_uri_parse": (URI, [c_char_p], NULL),
    "gluvirt_uri_new": (URI, [c_char_p, c_char_p], NULL),
    "gluvirt_uri_add_tcp_server": (c_int, [URI, c_char_p, c_int], NEGATIVE),
    "gluvirt_uri_add_unix_server": (c_int, [URI, c_char_p], NEGATIVE),
    "gluvirt_uri_free": (None, [URI], RAW),
    "gluvirt_uri_dup": (URI, [URI], NULL),
    "gluvirt_uri_equal": (c_int, [URI, URI], RAW),
    "gluvirt_uri_volume": (c_char_p, [URI], RAW),
    "gluvirt_uri_path": (c_char_p, [URI], RAW),
    "gluvirt_uri_server_count": (c_size_t, [URI], RAW),
    "gluvirt_uri_server_transport": (c_int, [URI, c_size_t], NEGATIVE),
    "gluvirt_uri_server_host": (c_char_p, [URI, c_size_t], RAW),
    "gluvirt_uri_server_port": (c_int, [URI, c_size_t], NEGATIVE),
    "gluvirt_uri_server_socket": (c_char_p, [URI, c_size_t], RAW),
    "gluvirt_uri_format": (c_void_p, [URI], NULL),
    "gluvirt_uri_to_qemu_json": (c_void_p, [URI], NULL),
    "gluvirt_uri_from_qemu_json": (URI, [c_char_p], NULL),
    "gluvirt_uri_to_libvirt_xml": (c_void_p, [URI], NULL),
    "gluvirt_uri_from_libvirt_xml": (URI, [c_char_p], NULL),
    # pool.h
    "gluvirt_pool_options_new": (POOL_OPTIONS, [], NULL),
    "gluvirt_pool_options_free": (None, [POOL_OPTIONS], RAW),
    "gluvirt_pool_options_set_linger": (c_int, [POOL_OPTIONS, c_uint], NEGATIVE),
    "gluvirt_pool_options_set_max_idle": (c_int, [POOL_OPTIONS, c_uint], NEGATIVE),
    "gluvirt_pool_options_set_log": (c_int, [POOL_OPTIONS, c_char_p, c_int], NEGATIVE),
    "gluvirt_pool_options_set_connect_timeout": (c_int, [POOL_OPTIONS, c_uint], NEGATIVE),
    "gluvirt_pool_options_set_exit_wait": (c_int, [POOL_OPTIONS, c_uint], NEGATIVE),
    "gluvirt_pool_options_set_xlator_option":
        (c_int, [POOL_OPTIONS, c_char_p, c_char_p, c_char_p], NEGATIVE),
    "gluvirt_pool_new": (POOL, [POOL_OPTIONS], NULL),
    "gluvirt_pool_free": (None, [POOL], RAW),
    "gluvirt_pool_connect": (CONNECTION, [POOL, URI], NULL),
    "gluvirt_connection_release": (None, [CONNECTION], RAW),
    "gluvirt_connection_volume": (c_char_p, [CONNECTION], RAW),
    "gluvirt_pool_stat": (c_int64, [POOL, ENUM], NEGATIVE),
    # image.h: options
    "gluvirt_open_options_new": (OPEN_OPTIONS, [], NULL),
    "gluvirt_open_options_free": (None, [OPEN_OPTIONS], RAW),
    "gluvirt_open_options_set_format": (c_int, [OPEN_OPTIONS, ENUM], NEGATIVE),
    "gluvirt_open_options_set_writable": (c_int, [OPEN_OPTIONS, c_int], NEGATIVE),
    "gluvirt_open_options_set_direct": (c_int, [OPEN_OPTIONS, c_int], NEGATIVE),
    "gluvirt_open_options_set_l2_cache_size": (c_int, [OPEN_OPTIONS, c_uint64], NEGATIVE),
    "gluvirt_open_options_set_backing": (c_int, [OPEN_OPTIONS, ENUM], NEGATIVE),
    "gluvirt_open_options_set_snapshot": (c_int, [OPEN_OPTIONS, c_char_p], NEGATIVE),
    "gluvirt_open_options_set_completion": (c_int, [OPEN_OPTIONS, ENUM], NEGATIVE),
    "gluvirt_open_options_set_queue_depth": (c_int, [OPEN_OPTIONS, c_uint], NEGATIVE),
    "gluvirt_open_options_set_force_share": (c_int, [OPEN_OPTIONS, c_int], NEGATIVE),
    "gluvirt_open_options_set_locking": (c_int, [OPEN_OPTIONS, ENUM], NEGATIVE),
    # image.h: the handle and synchronous I/O
    "gluvirt_image_open": (IMAGE, [POOL, c_char_p, OPEN_OPTIONS], NULL),
    "gluvirt_image_open_uri": (IMAGE, [POOL, URI, OPEN_OPTIONS], NULL),
    "gluvirt_image_close": (c_int, [IMAGE], NEGATIVE),
    "gluvirt_image_size": (c_int64, [IMAGE], NEGATIVE),
    "gluvirt_image_format": (c_char_p, [IMAGE], NULL),
    "gluvirt_image_pread": (c_ssize_t, [IMAGE, c_void_p, c_size_t, c_uint64], NEGATIVE),
    "gluvirt_image_preadv": (c_ssize_t, [IMAGE, POINTER(Iovec), c_int, c_uint64], NEGATIVE),
    "gluvirt_image_pwrite": (c_ssize_t, [IMAGE, c_void_p, c_size_t, c_uint64], NEGATIVE),
    "gluvirt_image_pwritev": (c_ssize_t, [IMAGE, POINTER(Iovec), c_int, c_uint64], NEGATIVE),
    "gluvirt_image_flush": (c_int, [IMAGE], NEGATIVE),
    "gluvirt_image_discard": (c_int, [IMAGE, c_uint64, c_uint64], NEGATIVE),
    "gluvirt_image_write_zeroes": (c_int, [IMAGE, c_uint64, c_uint64], NEGATIVE),
    "gluvirt_image_truncate": (c_int, [IMAGE, c_uint64], NEGATIVE),
    "gluvirt_image_pwrite_flags":
        (c_ssize_t, [IMAGE, c_void_p, c_size_t, c_uint64, c_uint], NEGATIVE),
    "gluvirt_image_pwritev_flags":
        (c_ssize_t, [IMAGE, POINTER(Iovec), c_int, c_uint64, c_uint], NEGATIVE),
    "gluvirt_image_write_zeroes_flags": (c_int, [IMAGE, c_uint64, c_uint64, c_uint], NEGATIVE),
    # image.h: description
    "gluvirt_image_info_int": (c_int64, [IMAGE, ENUM], RAW),
    "gluvirt_image_info_string": (c_char_p, [IMAGE, ENUM], RAW),
    "gluvirt_image_backing": (IMAGE, [IMAGE], RAW),
    "gluvirt_image_snapshot_int": (c_int64, [IMAGE, c_int, ENUM], RAW),
    "gluvirt_image_snapshot_string": (c_char_p, [IMAGE, c_int, ENUM], RAW),
    "gluvirt_image_block_status":
        (c_int64, [IMAGE, c_uint64, c_uint64, POINTER(c_uint), POINTER(c_int), POINTER(c_int64)],
         NEGATIVE),
    # image.h: callback I/O
    "gluvirt_image_aio_read":
        (c_int, [IMAGE, c_void_p, c_size_t, c_uint64, COMPLETE_FN, c_void_p, RELEASE_FN],
         NEGATIVE),
    "gluvirt_image_aio_write":
        (c_int, [IMAGE, c_void_p, c_size_t, c_uint64, COMPLETE_FN, c_void_p, RELEASE_FN],
         NEGATIVE),
    "gluvirt_image_aio_flush": (c_int, [IMAGE, COMPLETE_FN, c_void_p, RELEASE_FN], NEGATIVE),
    "gluvirt_image_aio_discard":
        (c_int, [IMAGE, c_uint64, c_uint64, COMPLETE_FN, c_void_p, RELEASE_FN], NEGATIVE),
    "gluvirt_image_aio_write_zeroes":
        (c_int, [IMAGE, c_uint64, c_uint64, COMPLETE_FN, c_void_p, RELEASE_FN], NEGATIVE),
    "gluvirt_image_aio_write_flags":
        (c_int, [IMAGE, c_void_p, c_size_t, c_uint64, c_uint, COMPLETE_FN, c_void_p, RELEASE_FN],
         NEGATIVE),
    "gluvirt_image_aio_write_zeroes_flags":
        (c_int, [IMAGE, c_uint64, c_uint64, c_uint, COMPLETE_FN, c_void_p, RELEASE_FN],
         NEGATIVE),
    "gluvirt_image_completion_fd": (c_int, [IMAGE], NEGATIVE),
    "gluvirt_image_dispatch": (c_int, [IMAGE], NEGATIVE),
    "gluvirt_image_in_flight": (c_int, [IMAGE], NEGATIVE),
    # create.h
    "gluvirt_create_options_new": (CREATE_OPTIONS, [], NULL),
    "gluvirt_create_options_free": (None, [CREATE_OPTIONS], RAW),
    "gluvirt_create_options_set_format": (c_int, [CREATE_OPTIONS, ENUM], NEGATIVE),
    "gluvirt_create_options_set_cluster_size": (c_int, [CREATE_OPTIONS, c_uint32], NEGATIVE),
    "gluvirt_create_options_set_compat": (c_int, [CREATE_OPTIONS, c_char_p], NEGATIVE),
    "gluvirt_create_options_set_preallocation": (c_int, [CREATE_OPTIONS, ENUM], NEGATIVE),
    "gluvirt_create_options_set_backing": (c_int, [CREATE_OPTIONS, c_char_p, ENUM], NEGATIVE),
    "gluvirt_create_options_set_overwrite": (c_int, [CREATE_OPTIONS, c_int], NEGATIVE),
    "gluvirt_create_options_set_owner": (c_int, [CREATE_OPTIONS, c_int64, c_int64], NEGATIVE),
    "gluvirt_image_create": (c_int, [POOL, c_char_p, c_uint64, CREATE_OPTIONS], NEGATIVE),
    "gluvirt_image_create_uri": (c_int, [POOL, URI, c_uint64, CREATE_OPTIONS], NEGATIVE),
    # volume.h
    "gluvirt_volume_check_options_new": (CHECK_OPTIONS, [], NULL),
    "gluvirt_volume_check_options_free": (None, [CHECK_OPTIONS], RAW),
    "gluvirt_volume_check_options_set_owner": (c_int, [CHECK_OPTIONS, c_uint32, c_uint32],
                                               NEGATIVE),
    "gluvirt_volume_check_options_set_min_free": (c_int, [CHECK_OPTIONS, c_uint64], NEGATIVE),
    "gluvirt_volume_check_options_set_timeout": (c_int, [CHECK_OPTIONS, c_uint], NEGATIVE),
    "gluvirt_volume_check": (REPORT, [POOL, URI, CHECK_OPTIONS], NULL),
    "gluvirt_volume_report_free": (None, [REPORT], RAW),
    "gluvirt_volume_report_status": (ENUM, [REPORT], RAW),
    "gluvirt_volume_report_count": (c_size_t, [REPORT], RAW),
    "gluvirt_volume_report_item_status": (c_int, [REPORT, c_size_t], NEGATIVE),
    "gluvirt_volume_report_item": (c_char_p, [REPORT, c_size_t, ENUM], RAW),
    # verbs.h
    "gluvirt_verb_options_new": (VERB_OPTIONS, [], NULL),
    "gluvirt_verb_options_free": (None, [VERB_OPTIONS], RAW),
    "gluvirt_verb_options_set_progress": (c_int, [VERB_OPTIONS, PROGRESS_FN, c_void_p], NEGATIVE),
    "gluvirt_verb_options_set_strict": (c_int, [VERB_OPTIONS, c_int], NEGATIVE),
    "gluvirt_verb_options_set_shrink": (c_int, [VERB_OPTIONS, c_int], NEGATIVE),
    "gluvirt_verb_options_set_format": (c_int, [VERB_OPTIONS, ENUM], NEGATIVE),
    "gluvirt_verb_options_set_cluster_size": (c_int, [VERB_OPTIONS, c_uint64], NEGATIVE),
    "gluvirt_verb_options_set_compat": (c_int, [VERB_OPTIONS, c_char_p], NEGATIVE),
    "gluvirt_verb_options_set_refcount_bits": (c_int, [VERB_OPTIONS, c_uint], NEGATIVE),
    "gluvirt_verb_options_set_extended_l2": (c_int, [VERB_OPTIONS, c_int], NEGATIVE),
    "gluvirt_verb_options_set_preallocation": (c_int, [VERB_OPTIONS, ENUM], NEGATIVE),
    "gluvirt_verb_options_set_backing": (c_int, [VERB_OPTIONS, c_int], NEGATIVE),
    "gluvirt_image_compare":
        (c_int, [IMAGE, IMAGE, VERB_OPTIONS, POINTER(c_uint64)], NEGATIVE),
    "gluvirt_image_measure":
        (c_int, [IMAGE, c_uint64, VERB_OPTIONS, POINTER(c_uint64), POINTER(c_uint64)],
         NEGATIVE),
    "gluvirt_image_resize": (c_int, [IMAGE, c_uint64, VERB_OPTIONS], NEGATIVE),
    "gluvirt_image_snapshot_create": (c_int, [IMAGE, c_char_p], NEGATIVE),
    "gluvirt_image_snapshot_apply": (c_int, [IMAGE, c_char_p], NEGATIVE),
    "gluvirt_image_snapshot_delete": (c_int, [IMAGE, c_char_p], NEGATIVE),
    # check.h
    "gluvirt_image_check": (c_int, [IMAGE, c_uint, POINTER(CHECK_RESULT)], NEGATIVE),
    "gluvirt_check_result_value": (c_int64, [CHECK_RESULT, ENUM], RAW),
    "gluvirt_check_result_message_count": (c_size_t, [CHECK_RESULT], RAW),
    "gluvirt_check_result_message": (c_char_p, [CHECK_RESULT, c_size_t], RAW),
    "gluvirt_check_result_free": (None, [CHECK_RESULT], RAW),
    "gluvirt_open_options_set_repair": (c_int, [OPEN_OPTIONS, c_int], NEGATIVE),
}


# ---------------------------------------------------------------- loading

SONAME = "libgluvirt.so.0"


def _candidates():
    """Where to look for the library, in order."""
    explicit = os.environ.get("GLUVIRT_LIBRARY")
    if explicit:
        # An explicit choice is final: falling back to another copy would
        # hide the mistake.
        return [explicit]
    here = os.path.dirname(os.path.abspath(__file__))
    # bindings/python/gluvirt in a source tree built in place
    found = [os.path.normpath(os.path.join(here, os.pardir, os.pardir, os.pardir, "lib", ".libs",
                                           SONAME))]
    try:
        from gluvirt import _installed  # written by 'make install'
        found.append(os.path.join(_installed.LIBDIR, SONAME))
    except ImportError:
        pass
    found.append(SONAME)  # the dynamic linker's search path
    return found


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (absent)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("gluvirt: cannot load libgluvirt; tried " + "; ".join(tried) +
                      ".  Install the library (make install, then ldconfig) or point "
                      "GLUVIRT_LIBRARY at libgluvirt.so.0")


def _raise_last_error():
    number = _errno_fn() or 0
    text = _errmsg_fn()
    message = text.decode("utf-8", "replace") if text else os.strerror(number)
    raise Error(number, message)


def _check_null(result, func, args):
    if not result:
        _raise_last_error()
    return result


def _check_negative(result, func, args):
    if result < 0:
        _raise_last_error()
    return result


class _Missing:
    """Stands for a function the loaded library does not export (a library
    older than this binding): calling it raises Error(ENOSYS)."""

    def __init__(self, name):
        self.__name__ = name

    def __call__(self, *args):
        raise Error(errno.ENOSYS, "%s is not in %s: that libgluvirt is older than this "
                                  "binding" % (self.__name__, library_path))


class _Library:
    """The declared functions of the loaded library, as attributes."""

    def __init__(self, cdll):
        self._cdll = cdll
        for name, (restype, argtypes, failure) in PROTOTYPES.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                setattr(self, name, _Missing(name))
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            if failure == NULL:
                fn.errcheck = _check_null
            elif failure == NEGATIVE:
                fn.errcheck = _check_negative
            setattr(self, name, fn)

    def has(self, name):
        """Whether the loaded library exports name."""
        return not isinstance(getattr(self, name, None), _Missing)

    if TYPE_CHECKING:
        # The functions are set in __init__, from PROTOTYPES: any name.
        def __getattr__(self, name: str) -> Any: ...


_cdll, library_path = _load()
lib = _Library(_cdll)
_errno_fn = lib.gluvirt_errno
_errmsg_fn = lib.gluvirt_errmsg


# ---------------------------------------------------------------- strings

def encode(text, what="argument"):
    """A str, bytes or path-like as the bytes C wants (file-system encoding)."""
    if isinstance(text, (bytes, bytearray)):
        data = bytes(text)
    elif isinstance(text, str) or hasattr(text, "__fspath__"):
        data = os.fsencode(text)
    else:
        raise TypeError("%s must be str or bytes, not %s" % (what, type(text).__name__))
    if b"\0" in data:
        raise ValueError("%s holds a NUL character" % what)
    return data


def decode(data):
    """bytes from C (or None) as str (or None)."""
    return None if data is None else os.fsdecode(data)


def take_string(address):
    """A string the library returned for gluvirt_free: copy it, then free it."""
    try:
        return os.fsdecode(ctypes.string_at(address))
    finally:
        lib.gluvirt_free(address)
