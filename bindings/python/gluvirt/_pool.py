"""gluvirt.Pool: shared gluster connections (gluvirt_pool)."""

from typing import Any, Dict, List, Tuple, Union

from gluvirt._capi import decode, encode, lib
from gluvirt._handle import HandleOwner
from gluvirt._uri import Text, Uri

#: Counter names of Pool.stat(), in the order of enum gluvirt_pool_counter.
COUNTERS = ("live", "idle", "hits", "misses", "inits", "failures", "finalised")


def _unsigned(value: Any, name: str, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise ValueError("%s must be a whole number of %s, not %r" % (name, unit, value))
    return value


class Pool(HandleOwner):
    """A pool of gluster connections that images on the same volume share.

    Pool(linger_ms=10000, max_idle=16, log=None, log_level=4,
         connect_timeout_ms=30000, exit_wait_ms=1500, xlator_options=())

    linger_ms           how long an unused connection stays open for reuse
    max_idle            how many unused connections may linger at once
    log, log_level      the file gfapi logs to (default: nowhere) and how much
                        (0 none ... 4 error ... 7 info ... 9 trace)
    connect_timeout_ms  bound on fetching the volfile and connecting
    exit_wait_ms        how long close() waits for connections that wrote
                        data to finish their last replication round trip
    xlator_options      (xlator glob, key, value) triples, or a dict
                        {(xlator glob, key): value}, set on every connection

    Give it to gluvirt.open(..., pool=pool).  close() (or the end of a with
    block) releases it: idle connections are finalised in the background,
    and images still open keep their connections until they are closed.
    """

    _NAME = "gluvirt.Pool"

    def __init__(self, **options: Any) -> None:
        self._handle = None
        settings = _settings(options)
        handle_options = lib.gluvirt_pool_options_new()
        try:
            for setter, arguments in settings:
                setter(handle_options, *arguments)
            self._handle = lib.gluvirt_pool_new(handle_options)
        finally:
            lib.gluvirt_pool_options_free(handle_options)

    def _free(self, handle: Any) -> None:
        lib.gluvirt_pool_free(handle)

    def stat(self) -> Dict[str, int]:
        """The pool's counters as a dict: live, idle, hits, misses, inits,
        failures, finalised (see gluvirt_pool_stat(3))."""
        handle = self._live()
        return {name: lib.gluvirt_pool_stat(handle, i) for i, name in enumerate(COUNTERS)}

    def connect(self, where: Union[Uri, Text]) -> "Connection":
        """A Connection to the volume of where (a Uri or URI text),
        connecting if the pool has none yet.  Raises gluvirt.Error:
        ECONNREFUSED, ENOENT (no such volume), EACCES, ETIMEDOUT, EIO."""
        if isinstance(where, Uri):
            handle = lib.gluvirt_pool_connect(self._live(), where._live())
        else:
            with Uri.parse(where) as uri:
                handle = lib.gluvirt_pool_connect(self._live(), uri._live())
        return Connection(handle, self)

    def __repr__(self) -> str:
        if not self._handle:
            return "<gluvirt.Pool (closed)>"
        return "<gluvirt.Pool %s>" % " ".join("%s=%d" % kv for kv in self.stat().items())


class Connection:
    """A counted reference to one connection of a pool; release() (or the end
    of a with block) drops it."""

    def __init__(self, handle: Any, pool: Pool) -> None:
        self._handle = handle
        self._pool = pool  # the pool outlives its references

    @property
    def volume(self) -> str:
        if not self._handle:
            raise ValueError("operation on a released gluvirt.Connection")
        return decode(lib.gluvirt_connection_volume(self._handle))

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle:
            lib.gluvirt_connection_release(handle)

    close = release

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            self.release()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _settings(options: Dict[str, Any]) -> List[Tuple[Any, Tuple[Any, ...]]]:
    """The option setters to call for Pool(**options), checked first."""
    options = dict(options)
    settings: List[Tuple[Any, Tuple[Any, ...]]] = []
    for name, setter in (("linger_ms", lib.gluvirt_pool_options_set_linger),
                         ("connect_timeout_ms", lib.gluvirt_pool_options_set_connect_timeout),
                         ("exit_wait_ms", lib.gluvirt_pool_options_set_exit_wait)):
        if options.get(name) is not None:
            settings.append((setter, (_unsigned(options.pop(name), name, "milliseconds"),)))
        options.pop(name, None)
    max_idle = options.pop("max_idle", None)
    if max_idle is not None:
        settings.append((lib.gluvirt_pool_options_set_max_idle,
                         (_unsigned(max_idle, "max_idle", "connections"),)))
    log, level = options.pop("log", None), options.pop("log_level", None)
    if log is not None or level is not None:
        if level is None:
            level = 4
        if isinstance(level, bool) or not isinstance(level, int):
            raise ValueError("log_level must be an int 0..9, not %r" % (level,))
        settings.append((lib.gluvirt_pool_options_set_log,
                         (encode("/dev/null" if log is None else log, "log"), level)))
    xlator_options = options.pop("xlator_options", None) or ()
    if hasattr(xlator_options, "items"):
        xlator_options = [(x, k, v) for (x, k), v in xlator_options.items()]
    for triple in xlator_options:
        if len(triple) != 3:
            raise ValueError("an xlator option is (xlator, key, value), not %r" % (triple,))
        settings.append((lib.gluvirt_pool_options_set_xlator_option,
                         tuple(encode(part, "xlator option") for part in triple)))
    if options:
        raise TypeError("Pool() got unknown options: %s (known: linger_ms, max_idle, log, "
                        "log_level, connect_timeout_ms, exit_wait_ms, xlator_options)"
                        % ", ".join(sorted(options)))
    return settings


__all__ = ["Pool", "Connection", "COUNTERS"]
