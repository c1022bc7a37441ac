"""The lifetime every gluvirt object that owns a C handle shares."""

from typing import TYPE_CHECKING, Any, TypeVar

from gluvirt._capi import Error

_Owner = TypeVar("_Owner", bound="HandleOwner")


class HandleOwner:
    """Owns one C handle in self._handle, until close().

    close() frees the handle once (a second close() does nothing); any other
    use afterwards raises ValueError rather than passing C a freed pointer.
    A with block closes the object at its end, and the garbage collector
    closes an object nobody closed.  A subclass names itself in _NAME and
    frees its handle in _free(handle).
    """

    __slots__ = ()  # a subclass may still use __slots__ (Uri does)
    _NAME = "gluvirt object"
    if TYPE_CHECKING:
        _handle: Any  # the subclass's slot or attribute

    def _free(self, handle: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Free the C object now; later uses raise ValueError."""
        handle, self._handle = self._handle, None
        if handle:
            self._free(handle)

    def __del__(self) -> None:
        # __init__ may have failed before setting _handle.
        if getattr(self, "_handle", None):
            try:
                self.close()
            except Error:
                pass  # nobody is left to tell

    def __enter__(self: _Owner) -> _Owner:
        self._live()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return not self._handle

    def _live(self) -> Any:
        """The handle, for a call into C; ValueError once closed."""
        if self.closed:
            raise ValueError("operation on a closed %s" % self._NAME)
        return self._handle


__all__ = ["HandleOwner"]
