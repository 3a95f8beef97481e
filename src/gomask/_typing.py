"""``Buffer``, the type of bytes-like arguments, on every supported Python.

Python 3.12 has :class:`collections.abc.Buffer`. Older ones get an ABC that
bytes, bytearray, memoryview and array.array are registered with, as
``typing_extensions.Buffer`` does, so that annotations that name it
evaluate at run time (``typing.get_type_hints``) without a dependency.
Other buffer types (numpy arrays, mmap) are accepted by gomask on every
Python; only a run-time type checker on Python < 3.12 would not know them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # type checkers know typing_extensions without installing it
    from typing_extensions import Buffer
elif sys.version_info >= (3, 12):
    from collections.abc import Buffer
else:  # pragma: no cover - exercised on 3.10 and 3.11
    import abc
    import array

    class Buffer(abc.ABC):  # noqa: B024 - an ABC with registered classes only
        """An object that supports the buffer protocol (bytes-like)."""

    for _kind in (bytes, bytearray, memoryview, array.array):
        Buffer.register(_kind)

__all__ = ["Buffer"]
