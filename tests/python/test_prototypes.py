"""The ctypes prototypes of the binding (gluvirt/_capi.py) against the
public headers: every GLUVIRT_API function is declared, with the same number
of arguments, argument types and result type; the callback types, the
opaque handle types and the enum values the binding uses agree too.  A C
signature changed without the binding fails here, not at run time."""

import ctypes
import glob
import os
import re
from ctypes import (POINTER, c_char_p, c_int, c_int64, c_size_t, c_ssize_t, c_uint, c_uint32,
                    c_uint64, c_void_p)

import pytest

import header_api
from conftest import TOP_SRCDIR
from gluvirt import _capi, _check, _create, _describe, _image, _pool, _uri, _volume

HEADERS = sorted(glob.glob(os.path.join(TOP_SRCDIR, "include", "gluvirt", "*.h")))
PARSED = [header_api.parse(path) for path in HEADERS]


def collect(kind):
    return {item.name: item for header in PARSED for item in header.of(kind)}


FUNCTIONS = collect(header_api.Function)
ENUMS = collect(header_api.Enum)
OPAQUES = collect(header_api.Opaque)
CALLBACKS = collect(header_api.Callback)
DEFINES = collect(header_api.Define)

# How each C type of the headers travels through ctypes.
SCALARS = {
    "void": None,
    "int": c_int,
    "unsigned": c_uint,
    "uint32_t": c_uint32,
    "size_t": c_size_t,
    "ssize_t": c_ssize_t,
    "int64_t": c_int64,
    "uint64_t": c_uint64,
    "void *": c_void_p,
    "const void *": c_void_p,
    "const char *": c_char_p,
    "unsigned *": POINTER(c_uint),
    "int *": POINTER(c_int),
    "int64_t *": POINTER(c_int64),
    "uint64_t *": POINTER(c_uint64),
    "const struct iovec *": POINTER(_capi.Iovec),
}


def expected_ctype(c_type, as_result):
    if as_result and c_type == "char *":
        return c_void_p  # a string to free with gluvirt_free: keep the address
    if c_type in SCALARS:
        return SCALARS[c_type]
    if c_type in ENUMS:
        return c_int
    if c_type in CALLBACKS:
        return _capi.CALLBACKS[c_type]
    match = re.match(r"^(\w+) \* ?\*$", c_type)
    if match and match.group(1) in OPAQUES:
        return POINTER(POINTER(_capi.OPAQUE[match.group(1)]))
    match = re.match(r"^(?:const )?(\w+) \*$", c_type)
    if match and match.group(1) in OPAQUES:
        assert match.group(1) in _capi.OPAQUE, \
            "the binding has no handle type for %s" % match.group(1)
        return POINTER(_capi.OPAQUE[match.group(1)])
    raise AssertionError("no ctypes mapping for the C type %r: teach the binding "
                         "(gluvirt/_capi.py) and this test" % c_type)


def test_headers_were_read():
    assert len(HEADERS) >= 4 and len(FUNCTIONS) >= 70, (HEADERS, len(FUNCTIONS))


def test_every_function_of_the_headers_is_declared():
    missing = sorted(set(FUNCTIONS) - set(_capi.PROTOTYPES))
    assert not missing, "declared in include/gluvirt/ but not in gluvirt/_capi.py: %s" % missing


def test_no_prototype_without_a_function():
    stale = sorted(set(_capi.PROTOTYPES) - set(FUNCTIONS))
    assert not stale, "in gluvirt/_capi.py but in no header: %s" % stale


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_prototype_matches_header(name):
    function = FUNCTIONS[name]
    restype, argtypes, _ = _capi.PROTOTYPES[name]
    assert len(argtypes) == len(function.params), (
        "%s: the header has %d arguments (%s), the binding %d"
        % (name, len(function.params), function.declaration, len(argtypes)))
    for i, ((c_type, c_name), declared) in enumerate(zip(function.params, argtypes)):
        wanted = expected_ctype(c_type, as_result=False)
        assert declared is wanted, "%s: argument %d (%s %s) is declared %s, wants %s" % (
            name, i + 1, c_type, c_name, declared, wanted)
    wanted = expected_ctype(function.returns, as_result=True)
    assert restype is wanted, "%s: returns %s, declared %s, wants %s" % (
        name, function.returns, restype, wanted)


@pytest.mark.parametrize("name", sorted(CALLBACKS))
def test_callback_type_matches_header(name):
    callback = CALLBACKS[name]
    declared = _capi.CALLBACKS[name]
    assert declared._restype_ is expected_ctype(callback.returns, as_result=True) or (
        callback.returns == "void" and declared._restype_ is None)
    assert list(declared._argtypes_) == [expected_ctype(t, False) for t, _ in callback.params]


def test_handle_types_are_distinct():
    assert set(OPAQUES) == set(_capi.OPAQUE)
    classes = list(_capi.OPAQUE.values())
    assert len(set(classes)) == len(classes)
    # Passing one handle type where another is wanted is refused, as in C.
    pool = ctypes.cast(ctypes.c_void_p(8), POINTER(_capi.OPAQUE["gluvirt_pool"]))
    with pytest.raises(ctypes.ArgumentError):
        _capi.lib.gluvirt_uri_volume(pool)


def test_iovec_layout():
    assert ctypes.sizeof(_capi.Iovec) == 2 * ctypes.sizeof(c_void_p)
    assert _capi.Iovec.iov_len.offset == ctypes.sizeof(c_void_p)


def enum_values(enum_name):
    return {name: value for name, value, _ in ENUMS[enum_name].members}


def test_enum_values_the_binding_uses():
    def check(enum_name, prefix, table):
        values = enum_values(enum_name)
        for key, value in table.items():
            c_name = prefix + key.upper().replace("-", "_")
            assert values.get(c_name) == value, "%s: %s is %s in the header, %s in Python" % (
                enum_name, c_name, values.get(c_name), value)

    check("gluvirt_format", "GLUVIRT_FORMAT_", _image.FORMATS)
    check("gluvirt_backing_policy", "GLUVIRT_BACKING_", _image.BACKING_POLICIES)
    check("gluvirt_locking_mode", "GLUVIRT_LOCKING_", _image.LOCKING_MODES)
    check("gluvirt_preallocation", "GLUVIRT_PREALLOC_", _create.PREALLOCATIONS)
    check("gluvirt_pool_counter", "GLUVIRT_POOL_", {n: i for i, n in enumerate(_pool.COUNTERS)})
    check("gluvirt_transport", "GLUVIRT_TRANSPORT_", {v: k for k, v in _uri._TRANSPORTS.items()})
    check("gluvirt_check_status", "GLUVIRT_CHECK_", {n: i for i, n in enumerate(_volume.STATUSES)})
    check("gluvirt_check_field", "GLUVIRT_CHECK_", {n: i for i, n in enumerate(_volume.FIELDS)})
    check("gluvirt_check_value", "GLUVIRT_CHECK_", {k: v for k, v in _check.VALUES.items()})
    assert enum_values("gluvirt_completion_mode")["GLUVIRT_COMPLETION_POLL"] == \
        _image.COMPLETION_POLL
    # the enum counters cover every counter of the header
    assert len(_pool.COUNTERS) == len(ENUMS["gluvirt_pool_counter"].members)


def test_info_keys_and_block_flags():
    header_values = {}
    for enum_name in ("gluvirt_info_key", "gluvirt_snapshot_key"):
        header_values.update(enum_values(enum_name))
    for name, define in DEFINES.items():
        if name.startswith("GLUVIRT_BLOCK_"):
            header_values[name] = int(define.value.rstrip("uU"), 0)
    assert set(_describe.C_CONSTANTS) == set(header_values)
    for name, value in _describe.C_CONSTANTS.items():
        assert header_values[name] == value, name


def test_check_repair_flags():
    for word, flags in _check.REPAIRS.items():
        assert int(DEFINES["GLUVIRT_CHECK_REPAIR_" + word.upper()].value.rstrip("uU"), 0) == flags


def test_size_of_backing_constant():
    assert DEFINES["GLUVIRT_CREATE_SIZE_OF_BACKING"].value == "UINT64_MAX"
    assert _create.SIZE_OF_BACKING == 2 ** 64 - 1


def test_library_exports_nothing_the_binding_lacks():
    """Every gluvirt_* symbol of the version script has a prototype."""
    with open(os.path.join(TOP_SRCDIR, "lib", "libgluvirt.sym")) as f:
        script = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    exported = set(re.findall(r"\b(gluvirt_\w+)\s*;", script))
    assert exported, "no symbols read from lib/libgluvirt.sym"
    assert not exported - set(_capi.PROTOTYPES), sorted(exported - set(_capi.PROTOTYPES))


def test_declared_functions_resolve():
    """Every declared function the loaded library exports got its prototype
    (the loader skips only the ones it does not export)."""
    for name, (restype, argtypes, _) in _capi.PROTOTYPES.items():
        fn = getattr(_capi.lib, name)
        if _capi.lib.has(name):
            assert fn.restype is restype and list(fn.argtypes) == argtypes, name
