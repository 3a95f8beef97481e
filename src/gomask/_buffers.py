"""Raw access to Python buffers for handing them to Go.

CPython only: it uses the buffer protocol and ``PyBytes_FromStringAndSize``
through ``ctypes.pythonapi``, which is what lets gomask write a result into
a new ``bytes`` object in one pass and pin a caller's buffer (so it cannot be
resized or freed) for exactly the duration of a Go call.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import POINTER, Structure, c_char_p, c_int, c_ssize_t, c_void_p, py_object
from types import TracebackType

if sys.implementation.name != "cpython":  # pragma: no cover
    raise ImportError("gomask supports CPython only: it uses CPython's buffer API through ctypes")

_PyBUF_WRITABLE = 0x0001
_PyBUF_C_CONTIGUOUS = 0x0038  # PyBUF_STRIDES | C contiguity


class _PyBuffer(Structure):
    # Py_buffer, part of the stable ABI since Python 3.11 and unchanged since 3.3.
    _fields_ = (
        ("buf", c_void_p),
        ("obj", c_void_p),
        ("len", c_ssize_t),
        ("itemsize", c_ssize_t),
        ("readonly", c_int),
        ("ndim", c_int),
        ("format", c_char_p),
        ("shape", c_void_p),
        ("strides", c_void_p),
        ("suboffsets", c_void_p),
        ("internal", c_void_p),
    )


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = (py_object, POINTER(_PyBuffer), c_int)
_get_buffer.restype = c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = (POINTER(_PyBuffer),)
_release_buffer.restype = None

_bytes_from_size = ctypes.pythonapi.PyBytes_FromStringAndSize
_bytes_from_size.argtypes = (c_void_p, c_ssize_t)
_bytes_from_size.restype = py_object


def new_bytes(size: int) -> bytes:
    """A new, uninitialised ``bytes`` of *size* >= 1 bytes for Go to fill.

    It is not shared with anything until it is returned (a size of 0 would
    return the shared empty bytes, hence >= 1), so writing into it before
    anyone else sees it is the same thing a C extension does.
    """
    out: bytes = _bytes_from_size(None, size)
    return out


class Pinned:
    """Context manager holding a C-contiguous buffer export of an object.

    While it is held the object cannot be resized or freed (bytearray and
    array.array raise BufferError on resize), so Go may read or write
    ``address`` .. ``address + size`` for the duration of the ``with``.
    """

    __slots__ = ("_view", "address", "size")

    def __init__(self, obj: object, writable: bool) -> None:
        view = _PyBuffer()
        flags = _PyBUF_C_CONTIGUOUS | (_PyBUF_WRITABLE if writable else 0)
        _get_buffer(obj, view, flags)  # raises TypeError / BufferError
        self._view = view
        self.address: int = view.buf or 0
        self.size: int = view.len

    def __enter__(self) -> Pinned:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _release_buffer(self._view)
