"""The maintenance verbs (<gluvirt/verbs.h>): compare two images, measure
the size an image would take, resize an image; what `gluvirt compare`,
`gluvirt measure` and `gluvirt resize` run, with qemu-img's answers."""

from __future__ import annotations

import ctypes
from typing import Any, Callable, Dict, Optional, Tuple

from gluvirt._capi import PROGRESS_FN, encode, lib

#: enum gluvirt_compare_result, by the names the results take in Python.
COMPARE_RESULTS = {0: "identical", 1: "content-mismatch", 2: "size-mismatch",
                   3: "status-mismatch"}


class _VerbOptions:
    """A gluvirt_verb_options with a progress callback kept alive while C
    may call it: progress(done, total) returning a true value stops the
    verb, which then raises Error(ECANCELED)."""

    def __init__(self, progress=None):
        self.handle = lib.gluvirt_verb_options_new()
        self.callback = None
        if progress is not None:
            self.callback = PROGRESS_FN(lambda _data, done, total: 1 if progress(done, total)
                                        else 0)
            lib.gluvirt_verb_options_set_progress(self.handle, self.callback, None)

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc):
        lib.gluvirt_verb_options_free(self.handle)
        self.handle = None


def compare(a: Any, b: Any, strict: bool = False,
            progress: Optional[Callable[[int, int], Any]] = None) -> Tuple[str, int]:
    """Compare two open images as qemu-img compare does.  Returns (result,
    offset): result is "identical", "content-mismatch" (offset: the 512-byte
    sector where they first differ), "size-mismatch" or "status-mismatch"
    (strict mode)."""
    offset = ctypes.c_uint64(0)
    with _VerbOptions(progress) as options:
        lib.gluvirt_verb_options_set_strict(options, 1 if strict else 0)
        result = lib.gluvirt_image_compare(a, b, options, ctypes.byref(offset))
    return COMPARE_RESULTS[result], offset.value


def measure(source: Any = None, size: int = 0, format: str = "raw",
            cluster_size: Optional[int] = None, compat: Optional[str] = None,
            refcount_bits: Optional[int] = None, extended_l2: bool = False,
            preallocation: str = "off", backing: bool = False,
            progress: Optional[Callable[[int, int], Any]] = None) -> Dict[str, int]:
    """The sizes qemu-img measure prints, as {"required": N, "fully-allocated":
    N}, for a copy of source (an open image handle) or a new image of size
    bytes, in format "raw" or "qcow2" with qemu-img's -o options."""
    from gluvirt._create import PREALLOCATIONS
    from gluvirt._image import FORMATS
    required, full = ctypes.c_uint64(0), ctypes.c_uint64(0)
    with _VerbOptions(progress) as options:
        lib.gluvirt_verb_options_set_format(options, FORMATS[format])
        if cluster_size is not None:
            lib.gluvirt_verb_options_set_cluster_size(options, cluster_size)
        if compat is not None:
            lib.gluvirt_verb_options_set_compat(options, encode(compat))
        if refcount_bits is not None:
            lib.gluvirt_verb_options_set_refcount_bits(options, refcount_bits)
        lib.gluvirt_verb_options_set_extended_l2(options, 1 if extended_l2 else 0)
        lib.gluvirt_verb_options_set_preallocation(options, PREALLOCATIONS[preallocation])
        lib.gluvirt_verb_options_set_backing(options, 1 if backing else 0)
        lib.gluvirt_image_measure(source, size, options, ctypes.byref(required),
                                  ctypes.byref(full))
    return {"required": required.value, "fully-allocated": full.value}


def resize(image: Any, size: int, shrink: bool = False) -> None:
    """Set a writable raw image's size; a smaller one needs shrink=True."""
    with _VerbOptions() as options:
        lib.gluvirt_verb_options_set_shrink(options, 1 if shrink else 0)
        lib.gluvirt_image_resize(image, size, options)


__all__ = ["compare", "measure", "resize", "COMPARE_RESULTS"]
