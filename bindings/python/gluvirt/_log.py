"""gluvirt.set_log_handler(): the library's and gfapi's messages in Python
(gluvirt_set_log_handler)."""

import atexit
import logging
import threading

from gluvirt._capi import LOG_FN, LOG_FREE_FN, decode, lib

#: Level names -> enum gluvirt_log_level.
LOG_LEVELS = {"error": 1, "warning": 2, "info": 3, "debug": 4}
# enum gluvirt_log_level -> the logging module's levels, and back.
_TO_LOGGING = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG}

_lock = threading.Lock()
_installed = None  # the ctypes callback C may call: kept alive while installed
_NO_FREE = LOG_FREE_FN()


def _library_level(level):
    if isinstance(level, str) and level in LOG_LEVELS:
        return LOG_LEVELS[level]
    if isinstance(level, int) and not isinstance(level, bool):
        # The logging module's numbers: the most verbose of ours at or above.
        for ours in (4, 3, 2, 1):
            if level <= _TO_LOGGING[ours]:
                return ours
        return 1
    raise ValueError("level %r: say one of %s, or a logging level"
                     % (level, ", ".join(LOG_LEVELS)))


def set_log_handler(handler, level="warning"):
    """Send libgluvirt's messages, gfapi's among them, of level or more
    severe to handler(level, message): level is the logging module's
    (logging.ERROR, WARNING, INFO, DEBUG), message one line of text.
    level: "error", "warning", "info", "debug" or a logging level.
    handler "logging": the logger named "gluvirt" (logging.getLogger).
    handler None: quiet again (the default).  The handler may run on any
    thread, also the library's own; it must not call set_log_handler."""
    global _installed
    number = _library_level(level)
    if handler == "logging":
        logger = logging.getLogger("gluvirt")
        handler = logger.log
    if handler is not None and not callable(handler):
        raise TypeError("handler must be callable, \"logging\" or None")

    def call(library_level, message, opaque):
        handler(_TO_LOGGING.get(library_level, logging.ERROR), decode(message))

    callback = LOG_FN(call) if handler is not None else LOG_FN()
    with _lock:
        # When this returns, the old handler runs no more: it may go.
        lib.gluvirt_set_log_handler(callback, None, _NO_FREE, number)
        _installed = callback if handler is not None else None


@atexit.register
def _quiet_at_exit():
    # The library's threads may log while the interpreter shuts down: no
    # Python code may run then.
    if _installed is not None:
        lib.gluvirt_set_log_handler(LOG_FN(), None, _NO_FREE, 1)
