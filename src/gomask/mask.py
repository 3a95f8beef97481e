"""WebSocket masking (RFC 6455 section 5.3), implemented in Go.

A frame sent by a WebSocket client is masked with a 4-byte key: payload
byte *i* is XORed with key byte ``i % 4``. Masking is its own inverse, so
the same functions unmask; :func:`unmask` is :func:`mask` under the name a
reader of server code expects.

Every function validates its arguments before any pointer reaches Go and
raises :class:`TypeError` or :class:`ValueError` for bad input. Calls on
buffers of at least :data:`GIL_RELEASE_THRESHOLD` bytes release the GIL, so
other Python threads run (and mask) in parallel; buffers of at least the
parallel threshold (see :func:`set_parallelism`) are split over several
goroutines.

Set ``GOMASK_PURE=1`` before importing to use the pure-Python
implementation instead of Go (for platforms without the library, or to
debug); results are identical.
"""

from __future__ import annotations

import operator
import os
from typing import TYPE_CHECKING, Any

from gomask import _buffers, _fallback, _native

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = [
    "GIL_RELEASE_THRESHOLD",
    "KEY_SIZE",
    "Masker",
    "get_parallelism",
    "implementation",
    "mask",
    "mask_inplace",
    "set_parallelism",
    "unmask",
    "wstx",
]

#: Length of a masking key in bytes.
KEY_SIZE = 4

#: Buffers of at least this many bytes are masked with the GIL released;
#: shorter ones keep it, because releasing and re-taking the GIL costs more
#: than masking them.
GIL_RELEASE_THRESHOLD = 16 * 1024

_PURE = os.environ.get("GOMASK_PURE", "").strip() not in ("", "0")

_parallel_threshold = 4 * 1024 * 1024
_parallel_workers = os.cpu_count() or 1


def implementation() -> str:
    """``"go"``, or ``"python"`` when ``GOMASK_PURE`` selected the fallback."""
    return "python" if _PURE else "go"


def set_parallelism(threshold: int | None = None, workers: int | None = None) -> None:
    """Tune how one large buffer is split over goroutines.

    Buffers of at least *threshold* bytes are masked by up to *workers*
    goroutines (never more than the CPUs Go sees, and never less than
    256 KiB each). ``workers=1`` turns the splitting off. Arguments left as
    ``None`` keep their current value.
    """
    global _parallel_threshold, _parallel_workers
    if threshold is not None:
        threshold = _non_negative(threshold, "threshold")
    if workers is not None:
        workers = _non_negative(workers, "workers")
        if not 1 <= workers <= 1024:
            raise ValueError(f"workers must be between 1 and 1024, got {workers}")
    if threshold is not None:
        _parallel_threshold = threshold
    if workers is not None:
        _parallel_workers = workers


def get_parallelism() -> tuple[int, int]:
    """The current ``(threshold, workers)`` of :func:`set_parallelism`."""
    return _parallel_threshold, _parallel_workers


def mask(data: Buffer, key: Buffer, offset: int = 0) -> bytes:
    """Return *data* masked with *key*, as new ``bytes``.

    *data* is any bytes-like object (bytes, bytearray, memoryview, also
    non-contiguous, array.array, numpy arrays; multi-byte items are masked as
    their raw bytes). *key* is 4 bytes. *offset* is the position of
    ``data[0]`` in the mask stream: for a payload masked in pieces, the
    number of payload bytes before this piece (only ``offset % 4`` matters).

    Masking is an involution: ``mask(mask(d, k), k) == d``.
    """
    key_bytes = _key(key)
    pos = _position(offset)
    if type(data) is bytes:
        n = len(data)
        if _PURE:
            return _fallback.mask(data, key_bytes, pos)
        if n == 0:
            return b""
        out = _buffers.new_bytes(n)
        _go_mask(out, data, n, key_bytes, pos)
        return out
    with _pin(data, writable=False, name="data") as pinned:
        n = pinned.size
        if _PURE:
            return _fallback.mask(data, key_bytes, pos)
        if n == 0:
            return b""
        out = _buffers.new_bytes(n)
        _go_mask(out, pinned.address, n, key_bytes, pos)
        return out


unmask = mask


def mask_inplace(buffer: Buffer, key: Buffer, offset: int = 0) -> None:
    """Mask a writable, C-contiguous *buffer* in place with *key*.

    *buffer* is a bytearray, a writable memoryview (for instance a slice of
    a bytearray), an array.array, a numpy array or any other writable
    C-contiguous buffer. *offset* is as for :func:`mask`.
    """
    _mask_inplace(buffer, _key(key), _position(offset))


def wstx(key: int, buffer: Buffer) -> int:
    """Mask *buffer* in place with *key* as a big-endian 32-bit integer.

    The first byte is XORed with the key's most significant byte. Returns
    the key rotated left by 8 bits per byte beyond the last whole 4-byte
    group, i.e. the key that continues the mask stream in the next call:
    ``k = wstx(k, chunk1); k = wstx(k, chunk2)`` masks ``chunk1 + chunk2``.
    This is the API of the demo gomask grew from, with its bugs fixed.
    """
    if isinstance(key, bool) or not isinstance(key, int):
        raise TypeError(f"key must be an int, not {type(key).__name__}")
    if not 0 <= key <= 0xFFFF_FFFF:
        raise ValueError(f"key must be between 0 and 0xFFFFFFFF, got {key:#x}")
    n = _mask_inplace(buffer, key.to_bytes(4, "big"), 0)
    shift = 8 * (n % 4)
    return ((key << shift) | (key >> (32 - shift))) & 0xFFFF_FFFF


class Masker:
    """Masks one payload that arrives (or leaves) in chunks.

    Keeps the position in the mask stream between calls, so that masking
    the chunks one after the other equals masking their concatenation::

        masker = Masker(key)
        for chunk in chunks:
            send(masker.process(chunk))
    """

    __slots__ = ("_key", "_position")

    def __init__(self, key: Buffer, offset: int = 0) -> None:
        self._key = _key(key)
        self._position = _position(offset)

    @property
    def key(self) -> bytes:
        """The masking key."""
        return self._key

    @property
    def position(self) -> int:
        """Position (0 to 3) of the next byte in the mask stream."""
        return self._position

    def process(self, chunk: Buffer) -> bytes:
        """Return the next *chunk* of the payload, masked, as new bytes."""
        out = mask(chunk, self._key, self._position)
        self._position = (self._position + len(out)) % KEY_SIZE
        return out

    def process_inplace(self, chunk: Buffer) -> None:
        """Mask the next *chunk* of the payload in place (writable, C-contiguous)."""
        n = _mask_inplace(chunk, self._key, self._position)
        self._position = (self._position + n) % KEY_SIZE

    def reset(self, offset: int = 0) -> None:
        """Start a new payload (same key) at *offset*."""
        self._position = _position(offset)

    def __repr__(self) -> str:
        return f"Masker(key={self._key!r}, position={self._position})"


def _mask_inplace(buffer: object, key_bytes: bytes, pos: int) -> int:
    with _pin(buffer, writable=True, name="buffer") as pinned:
        n = pinned.size
        if n:
            if _PURE:
                _fallback.mask_inplace(buffer, key_bytes, pos)
            else:
                _go_mask(pinned.address, pinned.address, n, key_bytes, pos)
        return n


def _go_mask(dst: Any, src: Any, n: int, key_bytes: bytes, pos: int) -> None:
    lib = _native.library()
    if n < GIL_RELEASE_THRESHOLD:
        fn, workers = lib.gil.gomask_mask, 1
    else:
        fn = lib.nogil.gomask_mask
        workers = _parallel_workers if n >= _parallel_threshold else 1
    error = fn(dst, src, n, int.from_bytes(key_bytes, "little"), pos, workers)
    if error:
        lib.check(error)


def _key(key: object) -> bytes:
    if type(key) is bytes and len(key) == KEY_SIZE:
        return key
    if isinstance(key, (str, int)) or key is None:
        raise TypeError(f"key must be 4 bytes (a bytes-like object), not {type(key).__name__}")
    try:
        key_bytes = memoryview(key).tobytes()  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"key must be 4 bytes (a bytes-like object), not {type(key).__name__}"
        ) from None
    if len(key_bytes) != KEY_SIZE:
        raise ValueError(f"key must be exactly 4 bytes, got {len(key_bytes)}")
    return key_bytes


def _position(offset: object) -> int:
    return _non_negative(offset, "offset") % KEY_SIZE


def _non_negative(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not bool")
    try:
        number = operator.index(value)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None
    if number < 0:
        raise ValueError(f"{name} must be non-negative, got {number}")
    return number


def _pin(obj: object, writable: bool, name: str) -> _buffers.Pinned:
    if isinstance(obj, str) or obj is None or isinstance(obj, (int, float)):
        raise TypeError(f"{name} must be a bytes-like object, not {type(obj).__name__}")
    try:
        return _buffers.Pinned(obj, writable)
    except (TypeError, BufferError, ValueError):
        pass
    # Say precisely what is wrong with it.
    try:
        view = memoryview(obj)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be a bytes-like object, not {type(obj).__name__}") from None
    with view:
        if writable and view.readonly:
            raise TypeError(
                f"{name} must be writable to be masked in place; {type(obj).__name__} is "
                "read-only (use mask(), which returns new bytes)"
            )
        if not view.c_contiguous:
            if writable:
                raise ValueError(f"{name} must be C-contiguous to be masked in place")
            # mask() accepts any layout: gather it into contiguous bytes first.
            return _buffers.Pinned(view.tobytes(), writable=False)
    raise TypeError(f"{name} cannot be exported as a contiguous buffer ({type(obj).__name__})")

