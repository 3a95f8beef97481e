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
goroutines. :func:`mask_batch` masks many payloads, each with its own key,
in one call.

How calls reach Go (the README's performance section has the
measurements): ``mask()`` of ``bytes`` and ``mask_inplace()`` of a
``bytearray``, with a ``bytes`` key and no offset, are one ctypes call each
to a small C layer of the library (gosrc/pyapi.c) that checks the exact
types of the arguments, makes the result object or finds the bytearray's
memory through CPython's C API, releases the GIL for large buffers, and
calls the Go kernel. Other arguments are validated in Python; a short
bytearray given to ``mask()`` is copied to bytes first, and every other
buffer is pinned with a buffer export (:mod:`gomask._buffers`) for the
duration of the call.

Set ``GOMASK_PURE=1`` before importing to use the pure-Python
implementation instead of Go (for platforms without the library, or to
debug); results are identical.
"""

from __future__ import annotations

import operator
import os
import sys
from collections.abc import Iterable, Sequence
from ctypes import c_void_p, cast, pythonapi
from typing import TYPE_CHECKING, Any, NamedTuple

from gomask import _buffers, _fallback, _native

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = [
    "GIL_RELEASE_THRESHOLD",
    "KEY_SIZE",
    "Masker",
    "Parallelism",
    "get_parallelism",
    "implementation",
    "mask",
    "mask_batch",
    "mask_inplace",
    "set_parallelism",
    "unmask",
    "wstx",
]

#: Length of a masking key in bytes.
KEY_SIZE = 4

#: Buffers of at least this many bytes are masked with the GIL released,
#: so other Python threads run meanwhile; shorter ones keep it, which is
#: cheaper per call. Measured (README, performance section): from 256 KiB,
#: two threads masking their own buffers get 1.7-1.8 times the throughput
#: of the same calls with the GIL held, while releasing costs one thread
#: 0.1 µs (2-4 %); at 64 KiB releasing loses for two threads as well.
GIL_RELEASE_THRESHOLD = 256 * 1024

_PURE = os.environ.get("GOMASK_PURE", "").strip() not in ("", "0")

# How calls run. _gil_max: buffers of at least this many bytes are masked
# without the GIL (gosrc/pyapi.c gets it with the parallel settings, see
# _push_policy). With GOMASK_PURE everything goes to Python.
_gil_max = 0 if _PURE else GIL_RELEASE_THRESHOLD
_copy_max = _gil_max  # mask() copies a bytearray shorter than this to bytes first
if not _PURE and getattr(sys, "_is_gil_enabled", lambda: True)() is False:
    # Free-threaded CPython running without a GIL (see _native): nothing
    # would stop another thread from resizing a bytearray during a call, so
    # every bytearray is pinned, whatever its size.
    _gil_max = 0
_ZERO = 0  # the int 0 object (CPython caches it), for an identity test

# Measured (README, performance section), calls back to back: with a
# helper already polling, two goroutines mask a new copy faster from 512 KiB
# (0.7 of the time of one) and in place from 1 MiB (0.75-0.85); a call that
# finds no helper polling costs what one goroutine does.
_parallel_threshold = 1024 * 1024
_parallel_workers = os.cpu_count() or 1
_parallel_spin = 50e-6


def implementation() -> str:
    """``"go"``, or ``"python"`` when ``GOMASK_PURE`` selected the fallback."""
    return "python" if _PURE else "go"


class Parallelism(NamedTuple):
    """The settings of :func:`set_parallelism`."""

    #: Buffers of at least this many bytes are split over goroutines.
    threshold: int
    #: At most this many goroutines share one buffer (the caller's included).
    workers: int
    #: Seconds a helper goroutine waits, polling, for the next call.
    spin: float


def set_parallelism(
    threshold: int | None = None, workers: int | None = None, spin: float | None = None
) -> None:
    """Tune how one large buffer is split over goroutines.

    Buffers of at least *threshold* bytes (1 MiB by default) are masked by
    up to *workers* goroutines (by default the number of CPUs; never more
    than the CPUs Go sees, and never less than 256 KiB each): the calling
    thread and helper goroutines that the library keeps from call to call.
    The caller masks 64 KiB chunks from the front of the buffer and the
    helpers from the back, so a helper that joins late just takes fewer
    chunks. ``workers=1`` turns the splitting off.

    After a call, a helper polls for the next one for *spin* seconds (50 µs
    by default; at most 1 s), then sleeps. A polling helper joins a call at
    once; waking a sleeping one takes 0.1 ms to milliseconds on a virtual
    machine, too late to help with a few MiB, so a call finds helpers only
    if it follows another within *spin* seconds (or is at least 32 MiB).
    Polling keeps a CPU busy for that long after each split call: ``spin=0``
    never polls, and then only calls of 32 MiB or more are split.

    Arguments left as ``None`` keep their current value.
    """
    global _parallel_threshold, _parallel_workers, _parallel_spin
    if threshold is not None:
        threshold = _non_negative(threshold, "threshold")
    if workers is not None:
        workers = _non_negative(workers, "workers")
        if not 1 <= workers <= 1024:
            raise ValueError(f"workers must be between 1 and 1024, got {workers}")
    if spin is not None:
        if isinstance(spin, bool) or not isinstance(spin, (int, float)):
            raise TypeError(f"spin must be a number of seconds, not {type(spin).__name__}")
        if not 0 <= spin <= 1:  # also rejects NaN
            raise ValueError(f"spin must be between 0 and 1 second, got {spin!r}")
    if threshold is not None:
        _parallel_threshold = threshold
    if workers is not None:
        _parallel_workers = workers
    if spin is not None:
        _parallel_spin = float(spin)
    lib = _bound
    if lib is not None:
        _push_policy(lib)


def get_parallelism() -> Parallelism:
    """The current settings of :func:`set_parallelism`."""
    return Parallelism(_parallel_threshold, _parallel_workers, _parallel_spin)


def mask(data: Buffer, key: Buffer, offset: int = 0) -> bytes:
    """Return *data* masked with *key*, as new ``bytes``.

    *data* is any bytes-like object (bytes, bytearray, memoryview, also
    non-contiguous, array.array, numpy arrays; multi-byte items are masked as
    their raw bytes). *key* is 4 bytes. *offset* is the position of
    ``data[0]`` in the mask stream: for a payload masked in pieces, the
    number of payload bytes before this piece (only ``offset % 4`` matters).

    Masking is an involution: ``mask(mask(d, k), k) == d``.
    """
    # At small sizes every Python-level step costs about as much as masking
    # a kilobyte in Go, so the common case (bytes, a 4-byte bytes key, offset
    # 0) is one call: gosrc/pyapi.c checks the exact types and the key's
    # size, makes the result and has Go fill it, releasing the GIL for large
    # data. For any other arguments it returns None, having done nothing
    # (and b"" is falsy: the general path returns it just as well).
    if offset is _ZERO:
        return _new(id(data), id(key)) or _mask(data, key, offset)
    return _mask(data, key, offset)


def _mask(data: object, key: object, offset: object) -> bytes:
    """mask() of everything the one-call path declines (validated here)."""
    key = _key_at(key, offset)
    if type(data) is bytearray and len(data) < _copy_max:
        data = bytes(data)  # cheaper than pinning it, at these sizes
    if type(data) is not bytes:
        return _mask_buffer(data, key)
    if _PURE:
        return _fallback.mask(data, key, 0)
    # Now the one-call path takes them.
    out: bytes = _new(id(data), id(key))
    return out


def _mask_buffer(data: object, key: bytes) -> bytes:
    """mask() of anything but bytes and short bytearrays; key is rotated."""
    with _pin(data, writable=False, name="data") as pinned:
        n = pinned.size
        if _PURE:
            return _fallback.mask(data, key, 0)  # type: ignore[arg-type]
        if n == 0:
            return b""
        if n < _gil_max:
            out = bytes(n)  # a new object (n >= 1), filled by Go before anyone sees it
            error = _copy_gil(out, pinned.address, n, key)
            if error:
                _raise(error)
        else:
            out = _buffers.new_bytes(n)
            _go_mask_nogil(out, pinned.address, n, key)
        return out


unmask = mask


def mask_inplace(buffer: Buffer, key: Buffer, offset: int = 0) -> None:
    """Mask a writable, C-contiguous *buffer* in place with *key*.

    *buffer* is a bytearray, a writable memoryview (for instance a slice of
    a bytearray), an array.array, a numpy array or any other writable
    C-contiguous buffer. *offset* is as for :func:`mask`.
    """
    # As in mask(): a bytearray with a 4-byte bytes key at offset 0 is one
    # call; gosrc/pyapi.c finds the bytearray's memory, keeps the GIL (short
    # ones: nothing can resize it meanwhile) or pins it and releases the GIL
    # (long ones), and Go masks it. It returns 1, having done nothing, for
    # any other arguments.
    if offset is not _ZERO or _bytearray(id(buffer), id(key)):
        _mask_inplace(buffer, _key_at(key, offset))


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
    n = _mask_inplace(buffer, key.to_bytes(4, "big"))
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
        n = _mask_inplace(chunk, _rotated(self._key, self._position))
        self._position = (self._position + n) % KEY_SIZE

    def reset(self, offset: int = 0) -> None:
        """Start a new payload (same key) at *offset*."""
        self._position = _position(offset)

    def __repr__(self) -> str:
        return f"Masker(key={self._key!r}, position={self._position})"


def mask_batch(payloads: Iterable[Buffer], keys: Buffer | Iterable[Buffer]) -> list[bytes]:
    """Mask many payloads, each with its own key, in one call into Go.

    Returns ``[mask(p, k) for p, k in zip(payloads, keys)]`` (each payload
    masked from mask position 0), several times faster per payload than that
    loop for payloads of up to a few kilobytes, where the fixed cost of a
    call dominates.

    *payloads* is an iterable of bytes-like objects. *keys* is either one
    bytes-like object holding the keys back to back (4 bytes per payload,
    for instance ``os.urandom(4 * len(payloads))``: the fastest form), or an
    iterable of 4-byte keys, one per payload. Raises :class:`TypeError` for
    payloads or keys that are not bytes-like, :class:`ValueError` when the
    number of keys is not the number of payloads or a key is not 4 bytes;
    nothing reaches Go before all of it is checked. The GIL is released while
    Go masks payloads that add up to at least :data:`GIL_RELEASE_THRESHOLD`
    bytes.
    """
    # A tuple: it holds every payload, unchanged, for the whole call, even
    # while the GIL is released.
    items = payloads if type(payloads) is tuple else tuple(payloads)
    count = len(items)
    if isinstance(keys, (str, int)) or keys is None:
        raise TypeError(
            f"keys must be a bytes-like object or an iterable of keys, not {type(keys).__name__}"
        )
    key_bytes = _batch_keys(keys, count)
    if count and set(map(type, items)) != _BYTES_ONLY:
        items = _batch_payloads(items)
    if _PURE:
        return [_fallback.mask(p, key_bytes[4 * i : 4 * i + 4], 0) for i, p in enumerate(items)]
    result: list[bytes] = _batch(id(items), key_bytes, len(key_bytes))
    return result


def _batch_keys(keys: object, count: int) -> bytes:
    """The keys of mask_batch as 4 * count bytes, validated."""
    if type(keys) is bytes:
        key_bytes = keys
    else:
        try:
            # One bytes-like object holding every key (copied: a bytearray
            # could be resized by another thread while Go reads it).
            key_bytes = memoryview(keys).tobytes()  # type: ignore[arg-type]
        except TypeError:
            return _batch_key_list(keys, count)
    if len(key_bytes) != KEY_SIZE * count:
        raise ValueError(
            f"keys must hold {KEY_SIZE} bytes per payload ({KEY_SIZE * count} bytes for {count}), "
            f"got {len(key_bytes)} bytes"
        )
    return key_bytes


def _batch_key_list(keys: object, count: int) -> bytes:
    """An iterable of count 4-byte keys, validated, as one bytes object."""
    try:
        key_list = keys if type(keys) is list or type(keys) is tuple else list(keys)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(
            f"keys must be a bytes-like object or an iterable of keys, not {type(keys).__name__}"
        ) from None
    if len(key_list) != count:
        raise ValueError(f"got {len(key_list)} keys for {count} payloads")
    if set(map(type, key_list)) <= _BYTES_ONLY and set(map(len, key_list)) <= _KEY_SIZE_ONLY:
        return b"".join(key_list)
    checked = []
    for i, k in enumerate(key_list):
        try:
            checked.append(_key(k))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"keys[{i}]: {exc}") from None
    return b"".join(checked)


_BYTES_ONLY = {bytes}
_KEY_SIZE_ONLY = {KEY_SIZE}


def _batch_payloads(items: Sequence[object]) -> tuple[bytes, ...]:
    """Every payload of mask_batch as bytes (the slow path), validated."""
    out = []
    for i, item in enumerate(items):
        if type(item) is bytes:
            out.append(item)
            continue
        if isinstance(item, (str, int, float)) or item is None:
            raise TypeError(f"payloads[{i}] must be a bytes-like object, not {type(item).__name__}")
        try:
            view = memoryview(item)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(
                f"payloads[{i}] must be a bytes-like object, not {type(item).__name__}"
            ) from None
        with view:
            out.append(view.tobytes())
    return tuple(out)


def _mask_inplace(buffer: object, key: bytes) -> int:
    """Mask *buffer* in place with *key* (already rotated); the general path.

    Returns the size of *buffer* in bytes.
    """
    if type(buffer) is bytearray and not _PURE:
        n = len(buffer)
        _bytearray(id(buffer), id(key))  # a bytearray and a 4-byte key: never declined
        return n
    with _pin(buffer, writable=True, name="buffer") as pinned:
        n = pinned.size
        if n:
            if _PURE:
                _fallback.mask_inplace(buffer, key, 0)  # type: ignore[arg-type]
            elif n < _gil_max:
                error = _inplace_gil(pinned.address, n, key)
                if error:
                    _raise(error)
            else:
                _go_mask_nogil(pinned.address, pinned.address, n, key)
        return n


def _go_mask_nogil(dst: Any, src: Any, n: int, key: bytes) -> None:
    """Mask with the GIL released, on several goroutines for large buffers.

    The caller guarantees that dst and src stay valid without the GIL:
    a new bytes object, an immutable bytes, or a pinned buffer.
    """
    lib = _native.library()
    workers = _parallel_workers if n >= _parallel_threshold else 1
    error = lib.nogil.gomask_mask(dst, src, n, key, workers)
    if error:
        lib.check(error)


# The hot-path functions of the loaded library, all called through the
# PyDLL (those of gosrc/pyapi.c release the GIL themselves when they should).
# Until the first call they are stand-ins that load the library, bind the
# real functions in their place and call them; a forked child puts the
# stand-ins back (see _native: it loads its own copy of the library).

#: The CPython functions gosrc/pyapi.c calls, in the order of its
#: gomask_python_api table (all in the stable ABI).
_PYTHON_API = (
    "PyByteArray_AsString",
    "PyByteArray_Size",
    "PyBytes_FromStringAndSize",
    "PyBytes_AsString",
    "PyBytes_Size",
    "PyErr_SetString",
    "PyErr_NoMemory",
    "Py_DecRef",
    "PyObject_GetBuffer",
    "PyBuffer_Release",
    "PyEval_SaveThread",
    "PyEval_RestoreThread",
    "PyTuple_Size",
    "PyTuple_GetItem",
    "PyList_New",
    "PyList_SetItem",
    "PyObject_Type",
    "Py_IncRef",
)

_bound: _native.Library | None = None


def _bind() -> None:
    """Hand the library CPython's API table and the size policy, then bind
    the hot-path calls."""
    global _bound, _new, _bytearray, _batch, _copy_gil, _inplace_gil
    lib = _native.library()
    entries = [cast(getattr(pythonapi, name), c_void_p).value for name in _PYTHON_API]
    # The exception classes it raises, and the types and object it compares
    # with; built-in objects and module-level classes live as long as the
    # process.
    entries += [id(ValueError), id(_native.GoPanicError), id(bytes), id(bytearray), id(None)]
    table = (c_void_p * len(entries))(*entries)
    if lib.gil.gomask_set_python_api(table, len(entries)) != 0:
        raise ImportError(f"gomask: the Go library {lib.path} rejected the Python API table")
    _push_policy(lib)
    _new, _bytearray = lib.gil.gomask_mask_new, lib.gil.gomask_mask_bytearray
    _batch = lib.gil.gomask_mask_batch
    _copy_gil, _inplace_gil = lib.gil.gomask_mask_copy, lib.gil.gomask_mask_inplace
    _bound = lib


def _push_policy(lib: _native.Library) -> None:
    """Tell gosrc/pyapi.c when to release the GIL and split over goroutines,
    and Go how long its helpers poll."""
    lib.gil.gomask_set_mask_policy(_gil_max, _parallel_threshold, _parallel_workers)
    lib.gil.gomask_set_spin(round(_parallel_spin * 1e9))


def _unbound_new(data: int, key: int) -> bytes | None:
    _bind()
    out: bytes | None = _new(data, key)
    return out


def _unbound_bytearray(buffer: int, key: int) -> int:
    _bind()
    declined: int = _bytearray(buffer, key)
    return declined


def _declined_new(data: int, key: int) -> None:
    """GOMASK_PURE's _new: the general path does all the work."""
    return None


def _declined_bytearray(buffer: int, key: int) -> int:
    """GOMASK_PURE's _bytearray: the general path does all the work."""
    return 1


def _unbound_batch(payloads: int, keys: bytes, keys_len: int) -> list[bytes]:
    _bind()
    result: list[bytes] = _batch(payloads, keys, keys_len)
    return result


def _unbound_copy(dst: bytes, src: int, n: int, key: bytes) -> int | None:
    _bind()
    error: int | None = _copy_gil(dst, src, n, key)
    return error


def _unbound_inplace(address: int, n: int, key: bytes) -> int | None:
    _bind()
    error: int | None = _inplace_gil(address, n, key)
    return error


def _unbind() -> None:
    global _bound, _new, _bytearray, _batch, _copy_gil, _inplace_gil
    _new, _bytearray, _batch = _unbound_new, _unbound_bytearray, _unbound_batch
    _copy_gil, _inplace_gil = _unbound_copy, _unbound_inplace
    if _PURE:
        _new, _bytearray = _declined_new, _declined_bytearray
    _bound = None


_new: Any
_bytearray: Any
_batch: Any
_copy_gil: Any
_inplace_gil: Any
_unbind()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_unbind)


def _raise(error: int) -> None:
    _native.library().check(error)


def _key_at(key: object, offset: object) -> bytes:
    """*key* (validated) rotated to start at mask position *offset*; any
    offset but the int 0 object itself, even another int 0, is checked."""
    valid = _key(key)
    return valid if offset is _ZERO else _rotated(valid, offset)


def _rotated(key: bytes, offset: object) -> bytes:
    """*key* rotated to start at mask position *offset* (validated)."""
    pos = _position(offset)
    return key[pos:] + key[:pos] if pos else key


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


def _non_negative(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not bool")
    try:
        number = operator.index(value)
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
