"""Image.check(): gluvirt_image_check (check.h) as the dict qemu-img check
--output=json prints."""

import ctypes

from gluvirt._capi import CHECK_RESULT, decode, lib

#: JSON key -> enum gluvirt_check_value
VALUES = {
    "corruptions": 0,
    "leaks": 1,
    "check-errors": 2,
    "corruptions-fixed": 3,
    "leaks-fixed": 4,
    "image-end-offset": 5,
    "total-clusters": 6,
    "allocated-clusters": 7,
    "fragmented-clusters": 8,
    "compressed-clusters": 9,
}

#: Image.check(repair=...) -> GLUVIRT_CHECK_REPAIR_*
REPAIRS = {"leaks": 1, "all": 3}


def check(handle, filename, format, repair, messages):
    if repair is not None and repair not in REPAIRS:
        raise ValueError("repair must be None, 'leaks' or 'all', not %r" % (repair,))
    result = CHECK_RESULT()
    lib.gluvirt_image_check(handle, REPAIRS.get(repair, 0), ctypes.byref(result))
    try:
        # As qemu-img: the numbers that are 0 are left out, but check-errors.
        out = {"filename": filename, "format": format}
        for key, value in VALUES.items():
            number = lib.gluvirt_check_result_value(result, value)
            if number or key == "check-errors":
                out[key] = number
        if messages is not None:
            for i in range(lib.gluvirt_check_result_message_count(result)):
                messages.append(decode(lib.gluvirt_check_result_message(result, i)))
    finally:
        lib.gluvirt_check_result_free(result)
    return out
