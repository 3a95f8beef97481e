"""WebSocket masking (RFC 6455 section 5.3), implemented in Go.

Payload byte *i* is XORed with key byte ``i % 4``; masking is its own
inverse, so :func:`unmask` is :func:`mask` under the name a reader of server
code expects. Every function validates its arguments before any pointer
reaches Go (:class:`TypeError`, :class:`ValueError`), then makes one call.
How a buffer reaches Go depends on its kind and the interpreter:

- CPython: ``bytes`` are passed as they are; the result is a new ``bytes``
  that Go fills before anyone else sees it. Other buffers are pinned for the
  call (``ctypes.c_char.from_buffer``: a buffer export, which keeps a
  ``bytearray`` from being resized or freed, with or without the GIL), or
  copied where they cannot be (read-only, not contiguous).
- PyPy: Go reads ``bytes`` where they are (``memoryview._pypy_raw_address``)
  and writes into a buffer of the thread's. PyPy cannot pin a resizable
  buffer, so Go never gets the address of one: other buffers are copied,
  and buffers masked in place, like payloads shorter than
  :data:`PYPY_GO_MIN_SIZE`, are masked by PyPy's JIT.
- The pure-Python build, ``GOMASK_PURE=1``, or another interpreter: the
  pure-Python implementation (:func:`implementation`; ``python -m gomask
  info`` says why).
"""

from __future__ import annotations

import operator
import sys
import threading
import types
from array import array
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

#: Whether (and how) Go masks in this process: the interpreter, unless the
#: pure-Python implementation was chosen or built.
_GO_CPYTHON = _native.PURE_REASON is None and sys.implementation.name == "cpython"
_GO_PYPY = _native.PURE_REASON is None and sys.implementation.name == "pypy"

_pin = c_char.from_buffer  # an export of a writable buffer, held until released


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
    return _mask(data, _key_at(key, offset), "data")


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
        out = _mask(chunk, _rotated(self._key, self._position), "chunk")
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
    loop for payloads of up to a few kilobytes, where the fixed cost of a
    call dominates.

    *payloads* is an iterable of bytes-like objects (a list, a tuple, a
    generator; not one bytes object). *keys* is either one bytes-like object
    holding the keys back to back (4 bytes per payload, for instance
    ``os.urandom(4 * len(payloads))``: the fastest form), or an iterable of
    4-byte keys, one per payload. Raises :class:`TypeError` for payloads or
    keys that are not bytes-like, :class:`ValueError` when the number of
    keys is not the number of payloads or a key is not 4 bytes; nothing
    reaches Go before all of it is checked.
    """
    items = _batch_payloads(payloads)
    key_bytes = _batch_keys(keys, len(items))
    if not _GO_CPYTHON:  # PyPy's JIT inlines mask(): one call each costs nothing more
        return [_mask(p, key_bytes[4 * i : 4 * i + 4], "data") for i, p in enumerate(items)]
    source = b"".join(items)
    n = len(source)
    lengths = array(_SIZE_T_CODE, map(len, items))  # size_t[count], this call's own
    out = bytes(n) if n < _ZEROED_MAX else _native.new_bytes(None, n)
    lib = _native.library()
    call = lib.mask_batch_gil if n < GIL_RELEASE_THRESHOLD else lib.mask_batch
    pinned = _pin(lengths) if lengths else None
    count = len(lengths)
    error = call(
        out,
        source,
        n,
        addressof(pinned) if pinned is not None else None,
        count,
        key_bytes,
        4 * count,
    )
    del pinned
    lib.check(error)
    ends = list(accumulate(lengths))
    return [out[start:end] for start, end in zip([0, *ends], ends, strict=False)]


#: The array typecode of a C size_t.
_SIZE_T_CODE = next(code for code in "LQ" if array(code).itemsize == sizeof(c_size_t))


# --- the calls ---------------------------------------------------------------------------


def _mask(data: object, key: bytes, name: str) -> bytes:
    """mask() with a validated key, already rotated to the position of data[0]."""
    if _GO_CPYTHON:
        if type(data) is bytes:
            n = len(data)
            out = bytes(n) if n < _ZEROED_MAX else _native.new_bytes(None, n)
            lib = _native.loaded or _native.load()
            call = lib.mask_gil if n < GIL_RELEASE_THRESHOLD else lib.mask
            error = call(out, data, n, key)
            if error:
                lib.raise_error(error)
            return out
        with _view(data, name) as view:
            if view.readonly or not view.c_contiguous:
                return _mask(view.tobytes(), key, name)  # no export to pin: a copy
            n = view.nbytes
            out = bytes(n) if n < _ZEROED_MAX else _native.new_bytes(None, n)
            lib = _native.loaded or _native.load()
            call = lib.mask_gil if n < GIL_RELEASE_THRESHOLD else lib.mask
            pinned = _pin(view) if n else None
            error = call(out, addressof(pinned) if pinned is not None else None, n, key)
            del pinned  # releases the export, before the view is released
        lib.check(error)
        return out
    if type(data) is not bytes:
        with _view(data, name) as view:
            data = view.tobytes()
    if _GO_PYPY and len(data) >= PYPY_GO_MIN_SIZE:
        n = len(data)
        out = _scratch(n)
        lib = _native.library()
        raw = _native.pointer_to
        lib.check(lib.mask(addressof(out), raw(data), n, raw(key)))
        return string_at(out, n)
    return _fallback.mask(data, key)


def _mask_inplace(buffer: object, key: bytes, name: str, instead: str) -> int:
    """mask_inplace() with a validated, rotated key; returns the size of
    *buffer* in bytes. *instead* names the copying function to suggest for a
    read-only buffer."""
    if _GO_CPYTHON and type(buffer) is bytearray:  # writable, contiguous, of bytes
        n = len(buffer)
        if n:
            lib = _native.loaded or _native.load()
            call = lib.mask_inplace_gil if n < GIL_RELEASE_THRESHOLD else lib.mask_inplace
            pinned = _pin(buffer)
            error = call(addressof(pinned), n, key)
            del pinned  # releases the export: the buffer may be resized again
            if error:
                lib.raise_error(error)
        return n
    with _view(buffer, name) as view:
        if view.readonly:
            raise TypeError(
                f"{name} must be writable to be masked in place; {type(buffer).__name__} is "
                f"read-only (use {instead}, which returns new bytes)"
            )
        if not view.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous to be masked in place")
        n = view.nbytes
        if n == 0:
            return 0
        if not _GO_CPYTHON:  # PyPy cannot pin it: the JIT masks it
            with view.cast("B") as octets:
                _fallback.mask_inplace(buffer if type(buffer) is bytearray else octets, key)
            return n
        lib = _native.loaded or _native.load()
        call = lib.mask_inplace_gil if n < GIL_RELEASE_THRESHOLD else lib.mask_inplace
        pinned = _pin(view)
        error = call(addressof(pinned), n, key)
        del pinned  # releases the export, before the view is released
    lib.check(error)
    return n


class _Scratch(threading.local):
    buffer: Any = None


_scratch_of_thread = _Scratch()


def _scratch(n: int) -> Any:
    """A ctypes buffer of at least *n* bytes that only this thread uses (PyPy)."""
    if n > _PYPY_SCRATCH_MAX:
        return (c_char * n)()
    buffer = _scratch_of_thread.buffer
    if buffer is None or len(buffer) < n:
        buffer = _scratch_of_thread.buffer = (c_char * max(n, 64 * 1024))()
    return buffer


# --- parallelism ---------------------------------------------------------------------------


class Parallelism(NamedTuple):
    """The settings in effect of :func:`set_parallelism`."""

    #: Buffers of at least this many bytes are split over goroutines.
    threshold: int
    #: At most this many goroutines share one buffer (the caller's
    #: included); 1 when nothing is split.
    workers: int


def set_parallelism(threshold: int | None = None, workers: int | None = None) -> None:
    """Set how one large buffer is split over goroutines, process-wide.

    Buffers of at least *threshold* bytes are masked by up to *workers*
    goroutines: the calling thread's and helpers started for the call.
    *workers* counts at most the CPUs Go uses (:func:`get_parallelism`
    reports the value in effect); ``workers=1`` turns the split off.
    Arguments left as ``None`` keep their current value;
    :func:`reset_parallelism` restores the defaults (16 MiB, every CPU).
    With the pure-Python implementation nothing is split.
    """
    if threshold is not None:
        threshold = _non_negative(threshold, "threshold")
        if threshold < 1:
            raise ValueError(f"threshold must be at least 1 byte, got {threshold}")
    if workers is not None:
        workers = _non_negative(workers, "workers")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
    _native.set_parallelism(threshold, workers)


def reset_parallelism() -> None:
    """Restore the default settings of :func:`set_parallelism`."""
    _native.reset_parallelism()


def get_parallelism() -> Parallelism:
    """The settings of :func:`set_parallelism` in effect (loads the library)."""
    if implementation() == "python":
        return Parallelism(_native.split_request()[0] or 0, 1)
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
    fmt = view.format
    if _holds_objects(fmt):
        view.release()
        raise TypeError(
            f"{name} holds Python objects (buffer format {fmt!r}), not bytes: "
            "masking them would corrupt the objects"
        )
    return view


def _holds_objects(fmt: str) -> bool:
    """Whether a struct-module buffer format has Python object items ('O').

    Field names of structured formats (``T{<i:name:}``) are skipped, so a
    name that contains an O is not taken for an object item.
    """
    return "O" in fmt and "O" in "".join(fmt.split(":")[::2])


def _batch_payloads(payloads: object) -> list[bytes] | tuple[bytes, ...]:
    """The payloads of mask_batch, as bytes, validated."""
    if isinstance(payloads, (bytes, bytearray, memoryview, str)) or payloads is None:
        raise TypeError(
            "payloads must be an iterable of bytes-like objects (a list of payloads), "
            f"not {type(payloads).__name__}"
        )
    try:
        items: list[Any] | tuple[Any, ...] = (
            payloads if isinstance(payloads, (list, tuple)) else list(payloads)  # type: ignore[call-overload]
        )
    except TypeError:
        raise TypeError(
            f"payloads must be an iterable of bytes-like objects, not {type(payloads).__name__}"
        ) from None
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
    try:
        key_list: list[Any] | tuple[Any, ...] = (
            keys if isinstance(keys, (list, tuple)) else list(keys)  # type: ignore[call-overload]
        )
    except TypeError:
        raise TypeError(
            f"keys must be a bytes-like object or an iterable of keys, not {type(keys).__name__}"
        ) from None
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
    if type(key) is bytes and len(key) == KEY_SIZE and offset.__class__ is int and not offset:
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


def _integer(value: object, name: str) -> int:
    """*value* as an int, for anything operator.index accepts."""
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None


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
