"""Pure-Python masking: the implementation ``GOMASK_PURE=1`` selects.

It is written for clarity and for linear time: the payload and the key
repeated to the payload's length are read as two big integers and XORed
in one C-level operation, which is much faster in CPython than a loop over
bytes. The arguments are already validated by :mod:`gomask.mask`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Buffer


def mask(data: Buffer, key: bytes, pos: int) -> bytes:
    """Return *data* XORed with *key* repeated, starting at key byte *pos*."""
    raw = data if type(data) is bytes else memoryview(data).tobytes()
    n = len(raw)
    stream = (key[pos:] + key[:pos]) * (n // 4 + 1)
    masked = int.from_bytes(raw, "little") ^ int.from_bytes(stream[:n], "little")
    return masked.to_bytes(n, "little")


def mask_inplace(buffer: Buffer, key: bytes, pos: int) -> None:
    """Mask a writable, C-contiguous *buffer* in place."""
    view = memoryview(buffer).cast("B")
    view[:] = mask(view, key, pos)
