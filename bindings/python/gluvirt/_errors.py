"""gluvirt.Error and its OSError subclasses, one for each errno that Python
itself maps to a subclass of OSError.

A failed call raises an exception that is both a gluvirt.Error and the
standard library's class for its errno, as open() or socket.connect() would:

    try:
        gluvirt.open("gluster://node1/vmstore/missing.qcow2")
    except FileNotFoundError:          # errno ENOENT
        ...
    except ConnectionRefusedError:     # ECONNREFUSED: glusterd is not there
        ...
    except gluvirt.Error as e:         # every other failure of the library
        print(e.errno, e.message)

Error(number, message) picks the subclass itself, as OSError(number, message)
does; an errno that Python maps to no subclass (EINVAL, EIO, ENOTSUP,
EROFS, ENOSPC ...) gives a plain gluvirt.Error.
"""

import builtins
import errno as _errno
from typing import Dict, Type

__all__ = ["Error", "BlockingIOError", "ChildProcessError", "BrokenPipeError",
           "ConnectionAbortedError", "ConnectionRefusedError", "ConnectionResetError",
           "FileExistsError", "FileNotFoundError", "InterruptedError", "IsADirectoryError",
           "NotADirectoryError", "PermissionError", "ProcessLookupError", "TimeoutError",
           "error_class"]


class Error(OSError):
    """A libgluvirt call failed.

    errno holds the error number (errno.ENOENT, errno.ECONNREFUSED, ...),
    strerror and message the library's explanation: what failed, on what,
    and what to do about it.  The exception is also an instance of the
    standard OSError subclass for its errno (FileNotFoundError, ...).
    """

    def __new__(cls, *args: object) -> "Error":
        if cls is Error and len(args) >= 2 and isinstance(args[0], int):
            cls = error_class(args[0])
        return super().__new__(cls, *args)

    @property
    def message(self) -> str:
        return self.strerror


# Each the standard class and gluvirt.Error at once: "except
# FileNotFoundError" and "except gluvirt.Error" both catch it.
class BlockingIOError(Error, builtins.BlockingIOError):
    """EAGAIN, EWOULDBLOCK, EALREADY, EINPROGRESS."""


class ChildProcessError(Error, builtins.ChildProcessError):
    """ECHILD."""


class BrokenPipeError(Error, builtins.BrokenPipeError):
    """EPIPE, ESHUTDOWN."""


class ConnectionAbortedError(Error, builtins.ConnectionAbortedError):
    """ECONNABORTED."""


class ConnectionRefusedError(Error, builtins.ConnectionRefusedError):
    """ECONNREFUSED: nothing listens where the URI points (is glusterd
    running there?)."""


class ConnectionResetError(Error, builtins.ConnectionResetError):
    """ECONNRESET."""


class FileExistsError(Error, builtins.FileExistsError):
    """EEXIST."""


class FileNotFoundError(Error, builtins.FileNotFoundError):
    """ENOENT: no such image, volume or file."""


class InterruptedError(Error, builtins.InterruptedError):
    """EINTR."""


class IsADirectoryError(Error, builtins.IsADirectoryError):
    """EISDIR."""


class NotADirectoryError(Error, builtins.NotADirectoryError):
    """ENOTDIR."""


class PermissionError(Error, builtins.PermissionError):
    """EACCES, EPERM."""


class ProcessLookupError(Error, builtins.ProcessLookupError):
    """ESRCH."""


class TimeoutError(Error, builtins.TimeoutError):
    """ETIMEDOUT: the servers did not answer in time."""


_SUBCLASSES = (BlockingIOError, ChildProcessError, BrokenPipeError, ConnectionAbortedError,
               ConnectionRefusedError, ConnectionResetError, FileExistsError,
               FileNotFoundError, InterruptedError, IsADirectoryError, NotADirectoryError,
               PermissionError, ProcessLookupError, TimeoutError)


def _by_errno() -> Dict[int, Type[Error]]:
    """errno -> subclass, as this Python maps errnos to OSError subclasses:
    the table is read from OSError itself, so that it follows the running
    Python (3.11 added ENOTCAPABLE to PermissionError, for one)."""
    ours = {builtin_base(cls): cls for cls in _SUBCLASSES}
    table = {}
    for number in _errno.errorcode:
        standard = type(OSError(number, ""))
        if standard in ours:
            table[number] = ours[standard]
    return table


def builtin_base(cls: type) -> type:
    """The standard library class a subclass above stands for."""
    return next(base for base in cls.__mro__[1:]
                if base.__module__ == "builtins" and base is not OSError)


_BY_ERRNO = _by_errno()


def error_class(number: int) -> Type[Error]:
    """The class of a libgluvirt failure with this errno."""
    return _BY_ERRNO.get(number, Error)
