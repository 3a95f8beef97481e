"""WebSocket masking (RFC 6455 section 5.3), implemented in Go.

Payload byte *i* is XORed with key byte ``i % 4``; masking is its own
inverse, so :func:`unmask` is :func:`mask` under the name a reader of server
code expects. Every function validates its arguments before any pointer
reaches Go (:class:`TypeError`, :class:`ValueError`), then makes one call.

The one rule of every call into Go: everything Go reads or writes is
described by a pointer and a length taken from one buffer export, taken
once and held until the call returns. Nothing measured before the export is
used after it, and the library is loaded before it (a first load runs
Python code and releases the GIL). Python code can run at any line: a
garbage-collector finalizer, a signal handler, a trace function, another
thread (always, without the GIL). An export keeps a buffer from being
resized or freed meanwhile; a length measured before it may be stale. No
reusable buffer is in use where code that re-enters could reach it. How
each kind of buffer follows the rule:

- CPython, ``bytes`` (data, keys, the joined payloads of
  :func:`mask_batch`): immutable, so their length never changes; ctypes
  passes a pointer to their bytes, and the caller's reference keeps them
  alive. A result is a new ``bytes`` that Go fills before anyone else sees
  it.
- CPython, a ``bytearray`` masked in place: pinned first
  (``ctypes.c_char.from_buffer``: a buffer export, which keeps it from
  being resized or freed, with or without the GIL), and measured after the
  pin: its length cannot change while it is exported.
- CPython, other buffers: one ``memoryview`` (the export); its ``nbytes``
  is the length, and ``c_char.from_buffer`` of that view pins the same
  export. Read-only and non-contiguous ones are copied (``tobytes()``, from
  the same view) and masked as ``bytes``.
- PyPy: Go reads ``bytes`` where they are (``memoryview._pypy_raw_address``)
  and writes into a buffer that the call takes for itself (a thread's
  reusable one is taken out of the thread's reach for the call, so a signal
  handler or finalizer that masks meanwhile makes its own). PyPy cannot pin
  a resizable buffer, so Go never gets the address of one: other buffers
  are copied, and buffers masked in place, like payloads shorter than
  :data:`PYPY_GO_MIN_SIZE`, are masked by PyPy's JIT.
- The pure-Python build, ``GOMASK_PURE=1``, or another interpreter: the
  pure-Python implementation (:func:`implementation`; ``python -m gomask
  info`` says why).

Integers other than such lengths (the settings of :func:`set_parallelism`)
are checked against their C type before they reach ctypes
(:func:`gomask._native.c_integer`). docs/reliability.md says which test
holds each of these.
"""

from __future__ import annotations

import sys
import threading
import types
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from ctypes import addressof, c_char, c_size_t, sizeof, string_at
from itertools import accumulate
from typing import Any, NamedTuple

from gomask import _fallback, _native
from gomask._typing import Buffer

__all__ = [
    "GIL_RELEASE_THRESHOLD",
    "KEY_SIZE",
    "PYPY_GO_MIN_SIZE",
    "Masker",
    "Parallelism",
    "get_parallelism",
    "implementation",
    "mask",
    "mask_batch",
    "mask_inplace",
    "reset_parallelism",
    "set_parallelism",
    "unmask",
    "wstx",
]

#: Length of a masking key in bytes.
KEY_SIZE = 4

#: Calls on buffers of at least this many bytes release the GIL, so that
#: other Python threads run meanwhile; shorter calls keep it, which costs
#: less than releasing and taking it back.
GIL_RELEASE_THRESHOLD = 256 * 1024

#: On PyPy, ``bytes`` shorter than this are masked by the JIT, which is
#: faster there than a call into Go.
PYPY_GO_MIN_SIZE = 8 * 1024

#: On PyPy, each thread keeps a buffer of up to this many bytes for Go to
#: write results into, rather than allocating one per call; larger results
#: get one of their own, so that no thread holds on to more memory.
_PYPY_SCRATCH_MAX = 4 * 1024 * 1024

#: Results shorter than this are made with ``bytes(n)``, which zero-fills
#: them; longer ones uninitialised (:data:`gomask._native.new_bytes`), which
#: costs a ctypes call but saves writing them twice.
_ZEROED_MAX = 16 * 1024

#: mask_batch() joins its payloads and makes one call while they average
#: fewer bytes than this; from there a call each costs less than copying
#: every byte twice more (into the joined payloads, out of the joined result).
_BATCH_MEAN_MAX = 8 * 1024

#: mask_batch() joins at most this many bytes of payloads for one call: a
#: larger join and result are fresh memory from the system on every call
#: (beyond glibc's mmap threshold, 128 KiB), which costs more than calls.
_BATCH_GROUP_MAX = 64 * 1024

#: Whether (and how) Go masks in this process: the interpreter, unless the
#: pure-Python implementation was chosen or built.
_GO_CPYTHON = _native.PURE_REASON is None and sys.implementation.name == "cpython"
_GO_PYPY = _native.PURE_REASON is None and sys.implementation.name == "pypy"

_pin = c_char.from_buffer  # an export of a writable buffer of at least 1 byte, held until released
_pin_any = (c_char * 0).from_buffer  # the same, of any length (an empty bytearray too)
_new_bytes = _native.new_bytes


def implementation() -> str:
    """``"go"``, or ``"python"`` where the pure-Python implementation runs.

    That is in the pure-Python build (for platforms without a Go build),
    with ``GOMASK_PURE=1``, and on interpreters other than CPython and PyPy.
    """
    return "go" if _GO_CPYTHON or _GO_PYPY else "python"


def mask(data: Buffer, key: Buffer, offset: int = 0) -> bytes:
    """Return *data* masked with *key*, as new ``bytes``.

    *data* is any bytes-like object (bytes, bytearray, memoryview, also
    non-contiguous, array.array, numpy arrays; multi-byte items are masked as
    their raw bytes). *key* is 4 bytes. *offset* is the position of
    ``data[0]`` in the mask stream: for a payload masked in pieces, the
    number of payload bytes before this piece (only ``offset % 4`` matters).

    Masking is an involution: ``mask(mask(d, k), k) == d``.
    """
    # The common call is checked here rather than in helpers, each of which
    # would cost a tenth of a small call: a 4-byte bytes key at offset 0.
    if key.__class__ is not bytes or len(key) != KEY_SIZE or offset.__class__ is not int or offset:
        key = _key_at(key, offset)
    if data.__class__ is not bytes or not _GO_CPYTHON:
        return _mask_buffer(data, key, "data")
    # The route of bytes on CPython: immutable, so n is its length for good.
    n = len(data)
    out = bytes(n) if n < _ZEROED_MAX else _new_bytes(None, n)
    lib = _native.loaded or _native.load()
    error = (lib.mask_gil if n < GIL_RELEASE_THRESHOLD else lib.mask)(out, data, n, key)
    if error:
        lib.raise_error(error)
    return out


unmask = mask


def mask_inplace(buffer: Buffer, key: Buffer, offset: int = 0) -> None:
    """Mask a writable, C-contiguous *buffer* in place with *key*.

    *buffer* is a bytearray, a writable memoryview (for instance a slice of
    a bytearray), an array.array, a numpy array or any other writable
    C-contiguous buffer. *offset* is as for :func:`mask`. The buffer cannot
    be resized while it is masked (resizing raises :class:`BufferError`);
    PyPy cannot pin a buffer, so there a resize from another thread
    meanwhile is a race, as with any Python code.
    """
    _mask_inplace(buffer, _key_at(key, offset), "buffer", "mask()")


def _masked_length_inplace(buffer: Buffer, key: bytes) -> int:
    """:func:`mask_inplace` at offset 0 with a 4-byte ``bytes`` *key*,
    returning the number of bytes masked: the length of the buffer export
    the call used, not one measured before or after it (another thread may
    resize a bytearray as soon as the call releases it). For maskers that
    carry the position in the mask stream over to the next chunk."""
    return _mask_inplace(buffer, _key(key, "key"), "buffer", "mask()")


def wstx(key: int, buffer: Buffer) -> int:
    """Mask *buffer* in place with *key* as a big-endian 32-bit integer.

    The first byte is XORed with the key's most significant byte. Returns
    the key rotated left by 8 bits per byte beyond the last whole 4-byte
    group, i.e. the key that continues the mask stream in the next call:
    ``k = wstx(k, chunk1); k = wstx(k, chunk2)`` masks ``chunk1 + chunk2``.
    This is the API of the demo gomask grew from, with its bugs fixed.
    """
    key = _integer(key, "key")
    if not 0 <= key <= 0xFFFF_FFFF:
        raise ValueError(f"key must be between 0 and 0xFFFFFFFF, got {key:#x}")
    n = _mask_inplace(buffer, key.to_bytes(4, "big"), "buffer", "mask()")
    shift = 8 * (n % 4)
    return ((key << shift) | (key >> (32 - shift))) & 0xFFFF_FFFF


class Masker:
    """Masks one payload that arrives (or leaves) in chunks.

    Keeps the position in the mask stream between calls, so that masking
    the chunks one after the other equals masking their concatenation::

        masker = Masker(key)
        for chunk in chunks:
            send(masker.process(chunk))

    A Masker is not meant to be shared between threads without a lock of
    the caller's: its position changes with every chunk.
    """

    __slots__ = ("_key", "_position")

    def __init__(self, key: Buffer, offset: int = 0) -> None:
        self._key = _key(key, "key")
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
        key = _rotated(self._key, self._position)
        out = mask(chunk, key) if chunk.__class__ is bytes else _mask_buffer(chunk, key, "chunk")
        self._position = (self._position + len(out)) % KEY_SIZE
        return out

    def process_inplace(self, chunk: Buffer) -> None:
        """Mask the next *chunk* of the payload in place (writable, C-contiguous)."""
        key = _rotated(self._key, self._position)
        n = _mask_inplace(chunk, key, "chunk", "process()")
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
    loop for payloads of up to a few hundred bytes, where the fixed cost of
    a call dominates, and no slower for larger ones, which it masks with a
    call each.

    *payloads* is an iterable of bytes-like objects (a list, a tuple, a
    generator; not one bytes object). *keys* is either one bytes-like object
    holding the keys back to back (4 bytes per payload, for instance
    ``os.urandom(4 * len(payloads))``: the fastest form), or an iterable of
    4-byte keys, one per payload. Raises :class:`TypeError` for payloads or
    keys that are not bytes-like, :class:`ValueError` when the number of
    keys is not the number of payloads or a key is not 4 bytes; nothing
    reaches Go before all of it is checked. An exception raised while
    iterating *payloads* or *keys* propagates as it is.
    """
    items = _batch_payloads(payloads)  # a snapshot, as bytes
    count = len(items)
    key_bytes = _batch_keys(keys, count)  # 4 * count bytes
    lengths = array(_SIZE_T_CODE, map(len, items))  # size_t[count], from the same snapshot
    n = sum(lengths)
    if n >= count * _BATCH_MEAN_MAX or not _GO_CPYTHON:
        # A call each (on PyPy, whose JIT inlines mask(), that costs nothing more).
        return list(map(mask, items, [key_bytes[i : i + 4] for i in range(0, 4 * count, 4)]))
    if n <= _BATCH_GROUP_MAX:
        return _mask_joined(items, lengths, n, key_bytes)
    # In groups of consecutive payloads of up to _BATCH_GROUP_MAX bytes
    # together (or one larger payload alone).
    ends = list(accumulate(lengths))
    out: list[bytes] = []
    first = 0
    while first < count:
        base = ends[first - 1] if first else 0
        last = max(bisect_right(ends, base + _BATCH_GROUP_MAX, first), first + 1)
        out += _mask_joined(
            items[first:last],
            lengths[first:last],
            ends[last - 1] - base,
            key_bytes[4 * first : 4 * last],
        )
        first = last
    return out


def _mask_joined(
    items: list[bytes] | tuple[bytes, ...], lengths: array[int], n: int, key_bytes: bytes
) -> list[bytes]:
    """Payloads of *n* bytes in all masked in one call, with their keys.

    Everything Go reads is this call's own, and immutable or out of other
    code's reach: the joined payloads and the keys (bytes), and *lengths*.
    """
    source = b"".join(items)  # n bytes: the same snapshot as lengths
    out = bytes(n) if n < _ZEROED_MAX else _new_bytes(None, n)
    lib = _native.loaded or _native.load()
    call = lib.mask_batch_gil if n < GIL_RELEASE_THRESHOLD else lib.mask_batch
    count = len(lengths)
    pinned = _pin(lengths) if count else None
    error = call(
        out,
        source,
        n,
        addressof(pinned) if pinned is not None else None,
        count,
        key_bytes,
        len(key_bytes),
    )
    del pinned
    lib.check(error)
    if count == 1:
        return [out]
    ends = list(accumulate(lengths))
    return [out[start:end] for start, end in zip([0, *ends], ends, strict=False)]


#: The array typecode of a C size_t.
_SIZE_T_CODE = next(code for code in "LQ" if array(code).itemsize == sizeof(c_size_t))


# --- the calls ---------------------------------------------------------------------------


def _mask_buffer(data: object, key: bytes, name: str) -> bytes:
    """mask() of anything but bytes on CPython, and of everything elsewhere,
    with a validated key, rotated to the position of data[0]."""
    if not _GO_CPYTHON:
        if data.__class__ is not bytes:
            with _view(data, name) as view:
                data = view.tobytes()
        if _GO_PYPY and len(data) >= PYPY_GO_MIN_SIZE:
            return _mask_on_pypy(data, key)
        return _fallback.mask(data, key)
    lib = _native.loaded or _load_after_checking(data, name)  # before the export
    with _view(data, name) as view:  # the export
        if view.readonly or not view.c_contiguous:
            copy = view.tobytes()  # no export to pin: a copy, from the same view
        else:
            n = view.nbytes
            out = bytes(n) if n < _ZEROED_MAX else _new_bytes(None, n)
            call = lib.mask_gil if n < GIL_RELEASE_THRESHOLD else lib.mask
            pinned = _pin(view) if n else None  # the same export
            error = call(out, addressof(pinned) if pinned is not None else None, n, key)
            del pinned  # releases the export, before the view is released
            lib.check(error)
            return out
    return mask(copy, key)


def _mask_on_pypy(data: bytes, key: bytes) -> bytes:
    """PyPy's route of bytes to Go: Go reads *data* where it is and writes
    into a buffer of this call's, copied out into the result."""
    n = len(data)
    lib = _native.loaded or _native.load()
    out = _take_scratch(n)
    raw = _native.pointer_to
    lib.check(lib.mask(addressof(out), raw(data), n, raw(key)))
    # string_at() takes a C int length on PyPy: a buffer of exactly n bytes
    # (beyond _STRING_AT_MAX, see _buffer_size) is copied out whole instead.
    result: bytes = out.raw if len(out) == n else string_at(out, n)
    _give_back_scratch(out)
    return result


def _mask_inplace(buffer: object, key: bytes, name: str, instead: str) -> int:
    """mask_inplace() with a validated, rotated key; returns the size of
    *buffer* in bytes, as exported for the call. *instead* names the
    copying function to suggest for a read-only buffer."""
    if not _GO_CPYTHON:
        return _mask_inplace_in_python(buffer, key, name, instead)
    lib = _native.loaded or _load_after_checking(buffer, name, instead)  # before the export
    if buffer.__class__ is bytearray:  # writable, contiguous, of bytes
        whole = _pin_any(buffer)  # the export
        n = len(buffer)  # after the export, which keeps it
        error = (
            (lib.mask_inplace_gil if n < GIL_RELEASE_THRESHOLD else lib.mask_inplace)(
                addressof(whole), n, key
            )
            if n
            else None
        )
        del whole  # releases the export: the buffer may be resized again
        if error:
            lib.raise_error(error)
        return n
    with _view(buffer, name) as view:  # the export
        _check_writable(view, buffer, name, instead)
        n = view.nbytes
        if n == 0:
            return 0
        call = lib.mask_inplace_gil if n < GIL_RELEASE_THRESHOLD else lib.mask_inplace
        pinned = _pin(view)  # the same export
        error = call(addressof(pinned), n, key)
        del pinned  # releases the export, before the view is released
    lib.check(error)
    return n


def _load_after_checking(buffer: object, name: str, instead: str | None = None) -> _native.Library:
    """The library, loaded by the first call of a process (or of a forked
    child) once *buffer* is known to be good: bad input says so, whether the
    library loads or not. The export the call uses is taken afterwards."""
    if buffer.__class__ is not bytearray:
        with _view(buffer, name) as view:
            if instead is not None:
                _check_writable(view, buffer, name, instead)
    return _native.load()


def _mask_inplace_in_python(buffer: object, key: bytes, name: str, instead: str) -> int:
    """_mask_inplace() where Python masks: PyPy (which cannot pin a buffer:
    its JIT masks it) and the pure-Python implementation."""
    with _view(buffer, name) as view:
        _check_writable(view, buffer, name, instead)
        if not view.nbytes:
            return 0
        with view.cast("B") as octets:
            # The length masked, as the masking measured it: a bytearray may
            # have been resized since the view was taken (PyPy pins nothing).
            return _fallback.mask_inplace(buffer if type(buffer) is bytearray else octets, key)


def _check_writable(view: memoryview, buffer: object, name: str, instead: str) -> None:
    if view.readonly:
        raise TypeError(
            f"{name} must be writable to be masked in place; {type(buffer).__name__} is "
            f"read-only (use {instead}, which returns new bytes)"
        )
    if not view.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous to be masked in place")


class _Scratch(threading.local):
    buffer: Any = None


_scratch_of_thread = _Scratch()


def _take_scratch(n: int) -> Any:
    """A ctypes buffer of at least *n* bytes for this call alone (PyPy).

    The thread's reusable buffer is taken out of its reach before use:
    a call that runs on this thread meanwhile (a signal handler, a
    finalizer) finds none and makes its own. Code that ran between reading
    and clearing it has returned before this call goes on.
    """
    if n > _PYPY_SCRATCH_MAX:
        return (c_char * _buffer_size(n))()
    buffer = _scratch_of_thread.buffer
    _scratch_of_thread.buffer = None
    if buffer is None or len(buffer) < n:
        buffer = (c_char * _buffer_size(max(n, 64 * 1024)))()
    return buffer


def _buffer_size(n: int) -> int:
    """The length of a new buffer for *n* bytes: *n* rounded up to one of
    8 lengths per power of two (at most 12.5 % more). PyPy's ctypes keeps
    every array type it has made (``c_char * n``) for the life of the
    process, about a kilobyte each: a type per payload length would grow
    without bound. Lengths beyond :data:`_STRING_AT_MAX` stay exact: such a
    buffer is copied out whole (``.raw``)."""
    if n > _STRING_AT_MAX:
        return n
    step = 1 << max(n.bit_length() - 4, 0)
    return -(-n // step) * step


#: The longest copy ``string_at`` makes on PyPy, where it takes a C int.
_STRING_AT_MAX = 2**31 - 1


def _give_back_scratch(buffer: Any) -> None:
    """Make *buffer*, no longer in use, the thread's reusable one."""
    if len(buffer) <= _PYPY_SCRATCH_MAX:
        _scratch_of_thread.buffer = buffer


# --- parallelism ---------------------------------------------------------------------------


class Parallelism(NamedTuple):
    """The settings in effect of :func:`set_parallelism`."""

    #: Buffers of at least this many bytes are split over goroutines.
    threshold: int
    #: At most this many goroutines share one buffer (the caller's
    #: included); 1 when nothing is split.
    workers: int


#: The library's default threshold of :func:`set_parallelism`
#: (wsmask.DefaultParallelThreshold in Go), which the pure-Python
#: implementation reports.
_DEFAULT_THRESHOLD = 16 * 1024 * 1024


def set_parallelism(threshold: int | None = None, workers: int | None = None) -> None:
    """Set how one large buffer is split over goroutines, process-wide.

    Buffers of at least *threshold* bytes are masked by up to *workers*
    goroutines: the calling thread's and helpers started for the call.
    *workers* counts at most the CPUs Go uses (:func:`get_parallelism`
    reports the value in effect); ``workers=1`` turns the split off.
    Arguments left as ``None`` keep their current value;
    :func:`reset_parallelism` restores the defaults (16 MiB, every CPU).
    Each is a C ``size_t`` of at least 1: :class:`ValueError` below,
    :class:`OverflowError` above, both naming the range. With the
    pure-Python implementation nothing is split.
    """
    _native.set_parallelism(threshold, workers)


def reset_parallelism() -> None:
    """Restore the default settings of :func:`set_parallelism`."""
    _native.reset_parallelism()


def get_parallelism() -> Parallelism:
    """The settings of :func:`set_parallelism` in effect (loads the library).

    With the pure-Python implementation: the threshold set (or the
    default) and 1 worker, values that :func:`set_parallelism` accepts.
    """
    if implementation() == "python":
        return Parallelism(_native.split_request()[0] or _DEFAULT_THRESHOLD, 1)
    return Parallelism(*_native.parallelism(_native.library()))


# --- arguments ----------------------------------------------------------------------------


def _view(obj: object, name: str) -> memoryview:
    """A memoryview of a bytes-like *obj* whose items are not Python objects."""
    if isinstance(obj, (str, int, float)) or obj is None:
        raise TypeError(f"{name} must be a bytes-like object, not {type(obj).__name__}")
    try:
        view = memoryview(obj)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be a bytes-like object, not {type(obj).__name__}") from None
    except ValueError as exc:
        _refuse_unexportable(obj, name, exc)
        raise
    fmt = view.format
    if _holds_objects(fmt):
        view.release()
        raise TypeError(
            f"{name} holds Python objects (buffer format {fmt!r}), not bytes: "
            "masking them would corrupt the objects"
        )
    return view


def _refuse_unexportable(obj: object, name: str, exc: ValueError) -> None:
    """Raise TypeError for an object that has a buffer interface but exports
    no buffer for its items: numpy arrays of datetime64 or timedelta64,
    whose memoryview() raises numpy's ValueError. Returns otherwise."""
    dtype = getattr(obj, "dtype", None)
    if getattr(dtype, "kind", None) in ("M", "m"):
        raise TypeError(
            f"{name} must be a bytes-like object, not a {type(obj).__name__} of {dtype}, "
            "which exports no buffer (mask its view as integers: arr.view('int64'))"
        ) from exc


def _holds_objects(fmt: str) -> bool:
    """Whether a struct-module buffer format has Python object items ('O').

    Field names of structured formats (``T{<i:name:}``) are skipped, so a
    name that contains an O is not taken for an object item.
    """
    return "O" in fmt and "O" in "".join(fmt.split(":")[::2])


def _snapshot(iterable: object, what: str) -> list[Any] | tuple[Any, ...]:
    """The items of *iterable* as one list (a tuple as it is), so that
    everything made from them comes from the same items, whatever another
    thread does to the caller's list meanwhile. A TypeError that means "not
    iterable" becomes gomask's message; any exception raised while
    iterating (inside a generator of the caller's) propagates as it is."""
    if isinstance(iterable, tuple):
        return iterable
    if type(iterable) is list:
        return list(iterable)
    try:
        iterator = iter(iterable)  # type: ignore[call-overload]
    except TypeError as exc:
        if getattr(type(iterable), "__iter__", None) is not None:
            raise  # its own __iter__ raised it
        raise TypeError(f"{what}, not {type(iterable).__name__}") from exc
    return list(iterator)


def _batch_payloads(payloads: object) -> list[bytes] | tuple[bytes, ...]:
    """The payloads of mask_batch, as bytes, validated: a snapshot."""
    what = "payloads must be an iterable of bytes-like objects (a list of payloads)"
    if isinstance(payloads, (bytes, bytearray, memoryview, str)) or payloads is None:
        raise TypeError(f"{what}, not {type(payloads).__name__}")
    items = _snapshot(payloads, what)
    if all(type(item) is bytes for item in items):
        return items
    out = []
    for i, item in enumerate(items):
        if type(item) is bytes:
            out.append(item)
        else:
            with _view(item, f"payloads[{i}]") as view:
                out.append(view.tobytes())
    return out


def _batch_keys(keys: object, count: int) -> bytes:
    """The keys of mask_batch as 4 * count bytes, validated."""
    if isinstance(keys, (str, int, float)) or keys is None:
        raise TypeError(
            f"keys must be a bytes-like object or an iterable of keys, not {type(keys).__name__}"
        )
    try:
        view = memoryview(keys)  # type: ignore[arg-type]
    except TypeError:
        return _batch_key_list(keys, count)
    except ValueError as exc:
        _refuse_unexportable(keys, "keys", exc)
        raise
    with view:
        if _holds_objects(view.format):
            raise TypeError(f"keys holds Python objects (buffer format {view.format!r})")
        key_bytes = view.tobytes()  # a copy: a bytearray could be resized meanwhile
    if len(key_bytes) != KEY_SIZE * count:
        raise ValueError(
            f"keys must hold {KEY_SIZE} bytes per payload: {KEY_SIZE * count} bytes for "
            f"{_count(count, 'payload')}, got {len(key_bytes)}"
        )
    return key_bytes


def _batch_key_list(keys: object, count: int) -> bytes:
    """An iterable of count 4-byte keys, validated, as one bytes object."""
    key_list = _snapshot(keys, "keys must be a bytes-like object or an iterable of keys")
    if len(key_list) != count:
        raise ValueError(
            f"keys must be one key per payload: {_count(count, 'payload')}, "
            f"{_count(len(key_list), 'key')}"
        )
    return b"".join([_key(k, f"keys[{i}]") for i, k in enumerate(key_list)])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _key_at(key: object, offset: object) -> bytes:
    """*key* (validated) rotated to start at mask position *offset* (validated)."""
    if key.__class__ is bytes and len(key) == KEY_SIZE and offset.__class__ is int and not offset:
        return key
    return _rotated(_key(key, "key"), _position(offset))


def _rotated(key: bytes, position: int) -> bytes:
    """*key* rotated so that its first byte is the one of mask *position* (0-3)."""
    return key[position:] + key[:position] if position else key


def _key(key: object, name: str) -> bytes:
    """*key* as 4 bytes, validated; *name* is the argument as the caller wrote it."""
    if type(key) is bytes and len(key) == KEY_SIZE:
        return key
    with _view(key, name) as view:
        if view.nbytes != KEY_SIZE:
            raise ValueError(f"{name} must be exactly 4 bytes, got {view.nbytes}")
        return view.tobytes()


def _position(offset: object) -> int:
    return _non_negative(offset, "offset") % KEY_SIZE


_integer = _native.integer


def _non_negative(value: object, name: str) -> int:
    number = _integer(value, name)
    if number < 0:
        raise ValueError(f"{name} must be non-negative, got {number}")
    return number


class _CallableModule(types.ModuleType):
    """This module, callable as its :func:`mask`.

    ``from gomask import mask`` gives this module (the package's submodule
    of that name; ``import gomask.mask`` and ``gomask.mask.Masker`` need it
    to stay one), so the module behaves as the function it looks like:
    calling it is calling :func:`mask`, it pickles by reference (process
    pools) and introspects as :func:`mask` (:data:`__signature__`,
    ``__qualname__``). Its ``__name__`` stays the module's: the import
    system, pydoc, doctest and ``inspect.getmodule`` know a module by it.
    """

    # The function itself, not a method that calls it: a call through the
    # module adds no frame of its own (the type's call slot gets mask from
    # the staticmethod and calls it), and a wrong call raises mask()'s own
    # TypeError ("mask() got an unexpected keyword argument 'offs'").
    __call__ = staticmethod(mask)

    @property
    def __signature__(self) -> Any:
        """mask()'s signature, for inspect.signature (which would take a
        staticmethod __call__'s first parameter for ``self``)."""
        import inspect  # only when asked: importing gomask stays light

        return inspect.signature(mask)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # By reference, as a function pickles: unpickling imports this module.
        import importlib

        return importlib.import_module, (__name__,)

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, callable as mask(data, key, offset=0)>"


#: What a function has, for the callable module: its name as mask()'s.
__qualname__ = "mask"


def _doc_with_the_call(module_doc: str, function_doc: str) -> str:
    """The module's doc with mask()'s after its first line: help(mask) is
    help on this module (pydoc documents any module as one), and shows first
    what calling it does."""
    first, *lines = function_doc.splitlines()
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    call = "\n".join(f"    {line[indent:]}".rstrip() for line in [" " * indent + first, *lines])
    synopsis, _, rest = module_doc.partition("\n\n")
    return (
        f"{synopsis}\n\nThis module is callable: ``from gomask import mask`` gives it, and\n"
        "calling it is calling its function ``mask(data, key, offset=0) -> bytes``:\n\n"
        f"{call.rstrip()}\n\n{rest}"
    )


if __doc__ is not None and mask.__doc__ is not None:  # None under python -OO
    __doc__ = _doc_with_the_call(__doc__, mask.__doc__)

sys.modules[__name__].__class__ = _CallableModule
