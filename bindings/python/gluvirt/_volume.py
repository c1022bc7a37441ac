"""gluvirt.check_volume(): is a volume ready for VM images (gluvirt_volume_check)."""

from typing import Any, Dict, List, Optional, Tuple, Union

from gluvirt._capi import decode, lib
from gluvirt._pool import Pool
from gluvirt._uri import Text, Uri

STATUSES = ("pass", "warn", "fail")          # enum gluvirt_check_status
FIELDS = ("id", "subject", "detail", "fix")  # enum gluvirt_check_field


def check_volume(where: Union[Uri, Text], pool: Optional[Pool] = None,
                 owner: Optional[Tuple[int, int]] = None, min_free: Optional[int] = None,
                 timeout_ms: Optional[int] = None) -> Dict[str, Any]:
    """Check the volume of where (a Uri or URI text; its image path is not
    used) as a hypervisor would use it.  Returns the report as a dict:

        {"status": "pass"|"warn"|"fail",
         "items": [{"id", "subject", "status", "detail", "fix"}, ...]}

    where "fix" is None for a passing item.  Options:

    owner       (uid, gid) that should own the volume's root (default qemu's
                107:107)
    min_free    free bytes below which the check warns (default 10 GiB)
    timeout_ms  how long to wait for each server (default 3000)

    A volume that cannot be reached is not an error: the report says so.
    """
    if pool is not None and not isinstance(pool, Pool):
        raise TypeError("pool must be a gluvirt.Pool, not %s" % type(pool).__name__)
    uri = where if isinstance(where, Uri) else Uri.parse(where)
    options = lib.gluvirt_volume_check_options_new()
    report = None
    try:
        if owner is not None:
            lib.gluvirt_volume_check_options_set_owner(options, *owner)
        if min_free is not None:
            lib.gluvirt_volume_check_options_set_min_free(options, min_free)
        if timeout_ms is not None:
            lib.gluvirt_volume_check_options_set_timeout(options, timeout_ms)
        report = lib.gluvirt_volume_check(pool._live() if pool is not None else None,
                                          uri._live(), options)
        items: List[Dict[str, Optional[str]]] = []
        for i in range(lib.gluvirt_volume_report_count(report)):
            item = {name: decode(lib.gluvirt_volume_report_item(report, i, field))
                    for field, name in enumerate(FIELDS)}
            item["status"] = STATUSES[lib.gluvirt_volume_report_item_status(report, i)]
            items.append(item)
        return {"status": STATUSES[lib.gluvirt_volume_report_status(report)], "items": items}
    finally:
        lib.gluvirt_volume_report_free(report)
        lib.gluvirt_volume_check_options_free(options)
        if uri is not where:
            uri.close()


__all__ = ["check_volume"]
