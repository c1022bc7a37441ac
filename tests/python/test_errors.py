"""gluvirt.Error and the standard OSError subclasses: a failure is both,
as the standard library's own OSError(errno, message) is."""

import builtins
import errno
import os
import pickle

import pytest

import gluvirt


def test_every_errno_python_maps_gives_that_class_too():
    for number in errno.errorcode:
        standard = type(OSError(number, "x"))
        ours = gluvirt.Error(number, "x")
        assert isinstance(ours, gluvirt.Error)
        assert isinstance(ours, standard), (errno.errorcode[number], type(ours))
        assert ours.errno == number and ours.message == "x"


@pytest.mark.parametrize("number", [errno.EINVAL, errno.EIO, errno.ENOTSUP, errno.EROFS])
def test_an_errno_without_a_subclass_is_a_plain_error(number):
    assert type(gluvirt.Error(number, "x")) is gluvirt.Error


def test_exported_classes_are_the_builtin_ones_too():
    for name in ("FileNotFoundError", "PermissionError", "ConnectionRefusedError",
                 "TimeoutError", "FileExistsError", "IsADirectoryError"):
        ours = getattr(gluvirt, name)
        assert issubclass(ours, gluvirt.Error) and issubclass(ours, getattr(builtins, name))


def test_library_failures_raise_the_subclass(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        gluvirt.open(os.fspath(tmp_path / "absent.raw"))
    assert isinstance(caught.value, gluvirt.Error) and caught.value.errno == errno.ENOENT
    assert "absent.raw" in caught.value.message
    with pytest.raises(IsADirectoryError):
        gluvirt.open(os.fspath(tmp_path))
    (tmp_path / "exists.raw").write_bytes(b"")
    with pytest.raises(FileExistsError):
        gluvirt.create(os.fspath(tmp_path / "exists.raw"), 1 << 20)
    with pytest.raises(gluvirt.Error) as caught:
        gluvirt.Uri.parse("gluster://host:99999/v/i")
    assert type(caught.value) is gluvirt.Error and caught.value.errno == errno.EINVAL


def test_errors_survive_pickling():
    error = gluvirt.Error(errno.ECONNREFUSED, "volume 'v' on h:24007: connection refused")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and again.errno == error.errno
    assert isinstance(again, ConnectionRefusedError)


def test_version_is_the_library_version():
    assert gluvirt.__version__ == gluvirt.library_version()
