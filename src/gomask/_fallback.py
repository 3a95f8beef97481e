"""Pure-Python masking: what ``GOMASK_PURE=1`` selects, and what PyPy runs
where handing a buffer to Go would cost more than masking it in Python, or
would not be safe (see :mod:`gomask.mask`).

Two ways to XOR, one per kind of interpreter, both linear in the length:

- on CPython, the payload and the key repeated to its length are read as
  two big integers and XORed in one C-level operation, much faster there
  than any loop over bytes;
- on other implementations (PyPy), a loop over the bytes, which the JIT
  compiles to machine code, while its big integers are slow.

The arguments are already validated by :mod:`gomask.mask`: *key* is 4
bytes, rotated so that its first byte applies to the first byte of data.
"""

from __future__ import annotations

import sys

from gomask._typing import Buffer

#: True where XORing big integers beats a loop over the bytes: CPython.
XOR_AS_INTEGERS = sys.implementation.name == "cpython"


def mask(data: Buffer, key: bytes) -> bytes:
    """Return *data* XORed with *key* repeated."""
    if XOR_AS_INTEGERS:
        raw = data if type(data) is bytes else memoryview(data).tobytes()
        n = len(raw)
        stream = key * (n // 4 + 1)
        masked = int.from_bytes(raw, "little") ^ int.from_bytes(stream[:n], "little")
        return masked.to_bytes(n, "little")
    out = bytearray(data)
    _xor_loop(out, key)
    return bytes(out)


def mask_inplace(buffer: bytearray | memoryview, key: bytes) -> int:
    """Mask a bytearray, or a writable, C-contiguous, byte-format memoryview,
    in place; returns the number of bytes masked (a bytearray is measured
    once, by the masking itself: another thread may resize it around the
    call)."""
    if XOR_AS_INTEGERS:
        masked = mask(buffer, key)
        buffer[:] = masked
        return len(masked)
    if type(buffer) is bytearray:
        return _xor_loop(buffer, key)
    # The JIT compiles indexing a bytearray far better than a memoryview.
    copy = bytearray(buffer)
    _xor_loop(copy, key)
    buffer[:] = copy
    return len(copy)


def _xor_loop(buf: bytearray | memoryview, key: bytes) -> int:
    k0, k1, k2, k3 = key
    n = len(buf)
    whole = n - n % 4
    for i in range(0, whole, 4):
        buf[i] ^= k0
        buf[i + 1] ^= k1
        buf[i + 2] ^= k2
        buf[i + 3] ^= k3
    for i in range(whole, n):
        buf[i] ^= key[i - whole]
    return n
