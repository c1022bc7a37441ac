"""gluvirt.open() and gluvirt.Image: a disk image (gluvirt_image)."""

from __future__ import annotations

import asyncio
import ctypes
import errno
import itertools
import os
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, Union

from gluvirt import _check, _describe, _verbs
from gluvirt._capi import COMPLETE_FN, RELEASE_FN, Error, decode, encode, lib
from gluvirt._handle import HandleOwner
from gluvirt._pool import Pool
from gluvirt._uri import Uri

FORMATS = {"raw": 0, "qcow2": 1, "probe": 2}          # enum gluvirt_format
BACKING_POLICIES = {"same-store": 0, "any": 1, "none": 2}  # enum gluvirt_backing_policy
COMPLETION_POLL = 1                                     # enum gluvirt_completion_mode
LOCKING_MODES = {"on": 0, "off": 1}                     # enum gluvirt_locking_mode
REQ_FUA, REQ_MAY_TRIM, REQ_NO_FALLBACK = 1, 2, 4        # GLUVIRT_REQ_* (image.h)

# What the annotations below mean by a bytes-like object (bytes, bytearray,
# memoryview, mmap, array ...), a progress callback and a JSON-like dict.
BytesLike = Union[bytes, bytearray, memoryview, Any]
Progress = Optional[Callable[[int, int], Any]]
Target = Union[str, "os.PathLike[str]", Uri]


def open(target: Target, format: Optional[str] = None, writable: bool = False,
         pool: Optional[Pool] = None, **options: Any) -> Image:
    """Open a disk image and return an Image.

    target    a gluster URI ("gluster://host/volume/dir/vm.qcow2"), a Uri, or
              a local path.
    format    "raw" or "qcow2"; None leaves the library's default (raw);
              "probe" decides from the image's first bytes, which is only
              safe for images no guest has written to.
    writable  open for writing too (default read-only).
    pool      a Pool to share connections with other images; None gives the
              image a pool of its own.

    Options: direct=True (O_DIRECT where the storage allows it),
    l2_cache_size=BYTES (qcow2), backing="same-store"|"any"|"none" (which
    backing files a qcow2 image may name), snapshot=NAME_OR_ID (read a qcow2
    image as it was at an internal snapshot), queue_depth=N (asynchronous
    requests in flight, 1..4096), force_share=True (a read-only open beside
    another writer, as qemu-img -U), locking="on"|"off" ("off": take and
    check no image locks, for writers that coordinate themselves),
    repair=True (open the file writable for Image.check(repair=...) without
    opening the image for writing).

    Raises gluvirt.Error: ENOENT, EACCES, EISDIR, ENOTSUP, EINVAL, EBUSY
    (another process, QEMU or gluvirt, writes the image; the message says
    what to do) and the pool's connect errors (ECONNREFUSED, ETIMEDOUT, ...).
    """
    if pool is not None and not isinstance(pool, Pool):
        raise TypeError("pool must be a gluvirt.Pool, not %s" % type(pool).__name__)
    setters = _option_setters(format, writable, options)
    handle_options = lib.gluvirt_open_options_new()
    try:
        for setter, arguments in setters:
            setter(handle_options, *arguments)
        pool_handle = pool._live() if pool is not None else None
        if isinstance(target, Uri):
            handle = lib.gluvirt_image_open_uri(pool_handle, target._live(), handle_options)
            name = decode(lib.gluvirt_image_info_string(handle, _describe.INFO_FILENAME))
            name = name or str(target)
        else:
            name = os.fsdecode(encode(target, "target"))
            handle = lib.gluvirt_image_open(pool_handle, encode(target, "target"),
                                            handle_options)
    finally:
        lib.gluvirt_open_options_free(handle_options)
    return Image(handle, name, bool(writable), pool)


def _option_setters(format, writable, options):
    options = dict(options)
    setters = [(lib.gluvirt_open_options_set_completion, (COMPLETION_POLL,))]
    if format is not None:
        if format not in FORMATS:
            raise ValueError("format must be one of %s, not %r" % (", ".join(FORMATS), format))
        setters.append((lib.gluvirt_open_options_set_format, (FORMATS[format],)))
    if writable:
        setters.append((lib.gluvirt_open_options_set_writable, (1,)))
    if options.pop("direct", False):
        setters.append((lib.gluvirt_open_options_set_direct, (1,)))
    if options.pop("force_share", False):
        setters.append((lib.gluvirt_open_options_set_force_share, (1,)))
    if options.get("locking") is not None:
        mode = options.pop("locking")
        if mode not in LOCKING_MODES:
            raise ValueError("locking must be one of %s, not %r"
                             % (", ".join(LOCKING_MODES), mode))
        setters.append((lib.gluvirt_open_options_set_locking, (LOCKING_MODES[mode],)))
    if options.get("l2_cache_size") is not None:
        setters.append((lib.gluvirt_open_options_set_l2_cache_size,
                        (_nonnegative(options.pop("l2_cache_size"), "l2_cache_size"),)))
    if options.get("backing") is not None:
        policy = options.pop("backing")
        if policy not in BACKING_POLICIES:
            raise ValueError("backing must be one of %s, not %r"
                             % (", ".join(BACKING_POLICIES), policy))
        setters.append((lib.gluvirt_open_options_set_backing, (BACKING_POLICIES[policy],)))
    if options.get("snapshot") is not None:
        setters.append((lib.gluvirt_open_options_set_snapshot,
                        (encode(options.pop("snapshot"), "snapshot"),)))
    if options.pop("repair", False):
        setters.append((lib.gluvirt_open_options_set_repair, (1,)))
    if options.get("queue_depth") is not None:
        setters.append((lib.gluvirt_open_options_set_queue_depth,
                        (_nonnegative(options.pop("queue_depth"), "queue_depth"),)))
    leftover = sorted(k for k, v in options.items()
                      if v is not None and k not in ("direct", "force_share", "l2_cache_size",
                                                     "backing", "snapshot", "queue_depth",
                                                     "repair"))
    if leftover:
        raise TypeError("gluvirt.open() got unknown options: %s (known: direct, force_share, "
                        "locking, l2_cache_size, backing, snapshot, queue_depth, repair)"
                        % ", ".join(leftover))
    return setters


def _nonnegative(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("%s must be an int >= 0, not %r" % (name, value))
    return value


# ---------------------------------------------------------------- async plumbing

# Requests in flight, by the token passed to C as user_data.  An entry holds
# the buffer C reads or writes, so it stays alive until the request completes,
# whatever happens to the task that made it.
_requests = {}
_tokens = itertools.count(1)


class _Request:
    __slots__ = ("image", "future", "buffer", "what")

    def __init__(self, image, future, buffer, what):
        self.image, self.future, self.buffer, self.what = image, future, buffer, what

    def outcome(self, result):
        """(method, value) that settles the future."""
        if result < 0:
            number = -result
            return "set_exception", Error(number, "%s on %s: %s" % (
                self.what, self.image.filename, os.strerror(number)))
        if self.what.startswith("read into"):
            return "set_result", result
        if self.what.startswith("read"):
            return "set_result", ctypes.string_at(self.buffer, result)
        if self.what.startswith("write"):
            return "set_result", result
        return "set_result", None


def _settle(future, method, value):
    if not future.done():
        getattr(future, method)(value)


def _on_complete(user_data, result):
    # Runs inside gluvirt_image_dispatch() or gluvirt_image_close(), on the
    # thread that called them.  (An exception here would not reach C: ctypes
    # reports it through sys.unraisablehook.)
    request = _requests.pop(user_data, None)
    if request is None:
        return
    request.image._outstanding -= 1
    method, value = request.outcome(result)
    loop = request.future.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _settle(request.future, method, value)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(_settle, request.future, method, value)


# Kept for the life of the module: C may call it as long as any image is open.
_COMPLETE = COMPLETE_FN(_on_complete)
# The buffers live in _requests, so there is nothing to release.
_NO_RELEASE = RELEASE_FN()


# ---------------------------------------------------------------- Image

class Image(HandleOwner):
    """An open disk image.  Use it in a with block, or close() it.

    Synchronous calls (pread, pwrite, flush, ...) may come from several
    threads at once; the GIL is released while they run.  The *_async
    methods are coroutines for asyncio: the image's completion fd is watched
    by the running loop while requests are in flight, and their results are
    delivered on the loop's thread.
    """

    _NAME = "gluvirt.Image"

    def __init__(self, handle, name, writable, pool, parent=None):
        self._handle = handle
        self._name = name
        self._writable = writable
        self._pool = pool      # the pool outlives the image's use of it
        self._parent = parent  # set for a backing layer, which its top image owns
        self._outstanding = 0
        self._reader_loop = None
        self._watched_fd = -1
        self._slot_waiters = []

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Wait for requests in flight, flush a writable image, close it.
        Raises gluvirt.Error when the final flush failed (closed all the same)."""
        if self._handle and self._parent is None:
            self._unwatch()
        super().close()

    def _free(self, handle):
        if self._parent is not None:  # a backing layer closes with its top image
            return
        try:
            lib.gluvirt_image_close(handle)
        finally:
            self._pool = None

    @property
    def closed(self) -> bool:
        # A backing layer's handle belongs to its top image and goes with it.
        return not self._handle or (self._parent is not None and self._parent.closed)

    # ------------------------------------------------------------ properties

    @property
    def filename(self) -> str:
        """The target as it was opened."""
        return self._name

    @property
    def writable(self) -> bool:
        return self._writable

    @property
    def size(self) -> int:
        """The virtual size in bytes."""
        return lib.gluvirt_image_size(self._live())

    @property
    def format(self) -> str:
        """The format being read: "raw" or "qcow2"."""
        return decode(lib.gluvirt_image_format(self._live()))

    @property
    def backing(self) -> Optional[Image]:
        """The backing image (an Image that lives as long as this one), or None."""
        layer = lib.gluvirt_image_backing(self._live())
        if not layer:
            return None
        name = decode(lib.gluvirt_image_info_string(layer, _describe.INFO_FILENAME))
        return Image(layer, name, False, self._pool, parent=self)

    def __repr__(self) -> str:
        if self.closed:
            return "<gluvirt.Image %r (closed)>" % self._name
        return "<gluvirt.Image %r format=%s size=%d%s>" % (
            self._name, self.format, self.size, " writable" if self._writable else "")

    # ------------------------------------------------------------ synchronous I/O

    def pread(self, length: int, offset: int) -> bytes:
        """Up to length bytes at offset: fewer only at the end of the image."""
        _check_range(offset, length)
        buffer = ctypes.create_string_buffer(length)
        n = lib.gluvirt_image_pread(self._live(), buffer, length, offset)
        return ctypes.string_at(buffer, n)

    def pread_into(self, buffer: BytesLike, offset: int) -> int:
        """Read into a writable buffer (bytearray, memoryview, mmap ...) at
        offset; returns the bytes read."""
        target = _writable_view(buffer)
        _check_range(offset, len(target))
        return lib.gluvirt_image_pread(self._live(), target, len(target), offset)

    def pwrite(self, data: BytesLike, offset: int, fua: bool = False) -> int:
        """Write all of data at offset (bytes-like); returns len(data).
        Writing past the end fails with EINVAL (truncate() first).
        fua=True: the write is durable when the call returns (the data and
        the metadata it needed are flushed)."""
        source, length = _readable_view(data)
        _check_range(offset, length)
        if fua:
            return lib.gluvirt_image_pwrite_flags(self._live(), source, length, offset,
                                                  REQ_FUA)
        return lib.gluvirt_image_pwrite(self._live(), source, length, offset)

    def flush(self) -> None:
        """Make written data durable."""
        lib.gluvirt_image_flush(self._live())

    def discard(self, offset: int, length: int) -> None:
        """The range's data is no longer needed (it may read back as anything)."""
        _check_range(offset, length)
        lib.gluvirt_image_discard(self._live(), offset, length)

    def write_zeroes(self, offset: int, length: int, fua: bool = False,
                     may_trim: Optional[bool] = None, no_fallback: bool = False) -> None:
        """Make the range read back as zeros.

        may_trim=True lets the image free the range (qcow2 v3 frees the
        clusters, raw punches a hole); False keeps it allocated; None (the
        default) does what the library did before 1.2 (qcow2 frees, raw
        keeps).  no_fallback=True asks for a fast zeroing: where the library
        would have to write zeros it raises gluvirt.Error with ENOTSUP and
        changes nothing.  fua=True: durable when the call returns."""
        _check_range(offset, length)
        if may_trim is None and not fua and not no_fallback:
            lib.gluvirt_image_write_zeroes(self._live(), offset, length)
            return
        lib.gluvirt_image_write_zeroes_flags(self._live(), offset, length,
                                             self._zero_flags(fua, may_trim, no_fallback))

    def _zero_flags(self, fua, may_trim, no_fallback):
        if may_trim is None:  # the plain call's choice (gluvirt_image_write_zeroes)
            may_trim = self.format != "raw"
        return ((REQ_FUA if fua else 0) | (REQ_MAY_TRIM if may_trim else 0) |
                (REQ_NO_FALLBACK if no_fallback else 0))

    def truncate(self, size: int) -> None:
        """Set the virtual size (raw and qcow2 images; qcow2 to a multiple of
        512, growing or shrinking as resize(size, shrink=True) does)."""
        _check_range(size, 0)
        lib.gluvirt_image_truncate(self._live(), size)

    # ------------------------------------------------------------ verbs

    def compare(self, other: Image, strict: bool = False,
                progress: Progress = None) -> Tuple[str, int]:
        """Compare with another image as qemu-img compare does: (result,
        offset), result "identical", "content-mismatch" (at offset),
        "size-mismatch" or "status-mismatch" (strict).  progress(done, total)
        returning true stops it with Error(ECANCELED)."""
        return _verbs.compare(self._live(), other._live(), strict, progress)

    def measure(self, format: str = "raw", progress: Progress = None,
                **options: Any) -> Dict[str, int]:
        """What qemu-img measure -O format prints for a copy of this image:
        {"required": N, "fully-allocated": N}; options as qemu-img's -o
        (cluster_size, compat, refcount_bits, extended_l2, preallocation,
        backing)."""
        return _verbs.measure(self._live(), 0, format, progress=progress, **options)

    def resize(self, size: int, shrink: bool = False) -> None:
        """Set the size of a raw or qcow2 image opened writable, as qemu-img
        resize does: a smaller size needs shrink=True."""
        _check_range(size, 0)
        _verbs.resize(self._live(), size, shrink)

    def snapshot_create(self, name: str) -> None:
        """Record the current state of a qcow2 image opened writable as an
        internal snapshot, as qemu-img snapshot -c does."""
        lib.gluvirt_image_snapshot_create(self._live(), encode(name, "name"))

    def snapshot_apply(self, id_or_name: str) -> None:
        """Go back to an internal snapshot (by id, then by name), as
        qemu-img snapshot -a does."""
        lib.gluvirt_image_snapshot_apply(self._live(), encode(id_or_name, "id_or_name"))

    def snapshot_delete(self, name: str) -> None:
        """Delete the internal snapshot named name, as qemu-img snapshot -d
        does."""
        lib.gluvirt_image_snapshot_delete(self._live(), encode(name, "name"))

    # ------------------------------------------------------------ description

    def info(self, backing_chain: bool = False) -> Union[Dict[str, Any], List[Dict[str, Any]]]:
        """What `gluvirt info --json` prints, as a dict (qemu-img info's keys);
        with backing_chain=True a list of them, one per layer, top first."""
        return _describe.describe(self._live(), self._name, backing_chain)

    def check(self, repair: Optional[str] = None,
              messages: Optional[List[str]] = None) -> Dict[str, Any]:
        """Check the image's metadata as `gluvirt check --output=json` does,
        and with repair="leaks" or "all" repair it (the image opened
        writable, or with repair=True): a dict with qemu-img check's JSON
        keys (those that are 0 left out, as qemu-img does, but
        check-errors).  messages: a list that gets one line per problem
        found or repaired.  Raises gluvirt.Error when the check cannot run:
        ENOTSUP for raw images, EROFS for a repair of an image opened
        read-only, EIO for a repair that would need the refcount structure
        rebuilt (nothing is written then)."""
        return _check.check(self._live(), self._name, self.format, repair, messages)

    def map(self, offset: int = 0, length: Optional[int] = None) -> List[Dict[str, Any]]:
        """What `gluvirt map --output=json` prints: a list of dicts with keys
        start, length, depth, present, zero, data and, for runs stored in a
        file, offset (as qemu-img map's JSON)."""
        handle = self._live()
        size = lib.gluvirt_image_size(handle)
        _check_range(offset, 0 if length is None else length)
        end = size if length is None else min(size, offset + length)
        return _describe.block_map(handle, offset, max(end, offset))

    # ------------------------------------------------------------ asynchronous I/O

    def fileno(self) -> int:
        """The completion fd: readable when dispatch() has callbacks to run."""
        return lib.gluvirt_image_completion_fd(self._live())

    def dispatch(self) -> int:
        """Run the completions that are ready; returns how many ran."""
        return lib.gluvirt_image_dispatch(self._live())

    @property
    def in_flight(self) -> int:
        """Asynchronous requests submitted and not yet completed."""
        return lib.gluvirt_image_in_flight(self._live())

    async def pread_async(self, length: int, offset: int) -> bytes:
        """Like pread(), without blocking the event loop."""
        _check_range(offset, length)
        buffer = ctypes.create_string_buffer(length)
        return await self._submit("read of %d bytes at offset %d" % (length, offset), buffer,
                                  lambda h, token: lib.gluvirt_image_aio_read(
                                      h, buffer, length, offset, _COMPLETE, token, _NO_RELEASE))

    async def pread_into_async(self, buffer: BytesLike, offset: int) -> int:
        """Like pread_into(), without blocking the event loop; the buffer
        must stay unchanged in size until the read completes."""
        target = _writable_view(buffer)
        length = len(target)
        _check_range(offset, length)
        return await self._submit("read into a buffer of %d bytes at offset %d" % (
            length, offset), target, lambda h, token: lib.gluvirt_image_aio_read(
                h, target, length, offset, _COMPLETE, token, _NO_RELEASE))

    def pwrite_async(self, data: BytesLike, offset: int, fua: bool = False) -> Awaitable[int]:
        """Like pwrite(), without blocking the event loop; an awaitable.
        data is copied at once: the caller may reuse it straight away."""
        source, length = _readable_view(data)
        _check_range(offset, length)
        buffer = ctypes.create_string_buffer(ctypes.string_at(source, length), length)
        flags = REQ_FUA if fua else 0
        return self._submit("write of %d bytes at offset %d" % (length, offset), buffer,
                            lambda h, token: lib.gluvirt_image_aio_write_flags(
                                h, buffer, length, offset, flags, _COMPLETE, token,
                                _NO_RELEASE))

    async def write_zeroes_async(self, offset: int, length: int, fua: bool = False,
                                 may_trim: Optional[bool] = None,
                                 no_fallback: bool = False) -> None:
        """Like write_zeroes(), without blocking the event loop."""
        _check_range(offset, length)
        flags = self._zero_flags(fua, may_trim, no_fallback)
        await self._submit("zeroing of %d bytes at offset %d" % (length, offset), None,
                           lambda h, token: lib.gluvirt_image_aio_write_zeroes_flags(
                               h, offset, length, flags, _COMPLETE, token, _NO_RELEASE))

    async def discard_async(self, offset: int, length: int) -> None:
        """Like discard(), without blocking the event loop."""
        _check_range(offset, length)
        await self._submit("discard of %d bytes at offset %d" % (length, offset), None,
                           lambda h, token: lib.gluvirt_image_aio_discard(
                               h, offset, length, _COMPLETE, token, _NO_RELEASE))

    async def flush_async(self) -> None:
        """Like flush(): done when every write completed before it is durable."""
        await self._submit("flush", None, lambda h, token: lib.gluvirt_image_aio_flush(
            h, _COMPLETE, token, _NO_RELEASE))

    async def _submit(self, what, buffer, submit):
        loop = asyncio.get_running_loop()
        while True:
            handle = self._live()
            self._watch(loop)
            token = next(_tokens)
            future = loop.create_future()
            _requests[token] = _Request(self, future, buffer, what)
            try:
                submit(handle, token)
            except BaseException as e:
                del _requests[token]
                if not isinstance(e, Error) or e.errno != errno.EAGAIN:
                    self._unwatch_if_idle()
                    raise
                # The queue is full: wait for a completion, then submit again.
                slot = loop.create_future()
                self._slot_waiters.append(slot)
                await slot
                continue
            self._outstanding += 1
            return await future

    def _watch(self, loop):
        if self._reader_loop is loop:
            return
        if self._reader_loop is not None and self._reader_loop.is_closed():
            self._reader_loop = None  # a finished asyncio.run() left it behind
        if self._reader_loop is not None:
            raise RuntimeError("gluvirt.Image %r has requests in flight on another event loop"
                               % self._name)
        self._watched_fd = self.fileno()
        loop.add_reader(self._watched_fd, self._on_readable)
        self._reader_loop = loop

    def _unwatch(self):
        loop, self._reader_loop = self._reader_loop, None
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self._watched_fd)
        waiters, self._slot_waiters = self._slot_waiters, []
        for waiter in waiters:
            _settle(waiter, "set_exception", ValueError("gluvirt.Image closed"))

    def _unwatch_if_idle(self):
        if self._outstanding == 0 and not self._slot_waiters and self._reader_loop is not None:
            self._unwatch()

    def _on_readable(self):
        if not self._handle:
            return
        self.dispatch()
        waiters, self._slot_waiters = self._slot_waiters, []
        for waiter in waiters:
            _settle(waiter, "set_result", None)
        self._unwatch_if_idle()


# ---------------------------------------------------------------- buffers

def _check_range(offset, length):
    for name, value in (("offset", offset), ("length", length)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("%s must be an int, not %s" % (name, type(value).__name__))
        if not 0 <= value < 1 << 63:
            raise ValueError("%s %d is out of range 0..2**63-1" % (name, value))


def _writable_view(buffer):
    view = memoryview(buffer).cast("B")
    if view.readonly:
        raise TypeError("pread_into() needs a writable buffer")
    return (ctypes.c_char * len(view)).from_buffer(view)


def _readable_view(data):
    """(something ctypes passes as a pointer, length) for a bytes-like object."""
    if isinstance(data, bytes):
        return data, len(data)
    view = memoryview(data).cast("B")
    if view.readonly:
        copy = bytes(view)
        return copy, len(copy)
    return (ctypes.c_char * len(view)).from_buffer(view), len(view)


__all__ = ["open", "Image", "FORMATS", "BACKING_POLICIES"]
