"""gomask inside WebSocket libraries: ``install()`` and the frames they mask go to Go.

::

    from gomask import integrations

    integrations.install()              # every supported library that is installed
    integrations.install("wsproto")     # or only the ones named
    integrations.installed()            # -> ("wsproto",)
    integrations.uninstall()            # the libraries' own maskers again

Importing this module imports none of the libraries; :func:`install` imports
the ones it patches. What is patched, per library (the name each library
looks up at call time, so connections already open pick it up for their next
frame):

``websockets``
    ``websockets.frames.apply_mask(data, mask) -> bytes`` (both directions,
    every connection type: asyncio, sync, sans-I/O), and
    ``websockets.legacy.framing.apply_mask`` if that module is already
    imported (importing it warns, so :func:`install` never does).
``wsproto``
    ``wsproto.frame_protocol.XorMaskerSimple``: one masker object per frame,
    ``process(data)`` keeping the mask position across a frame's chunks.
    gomask's class masks wsproto's ``bytearray`` in place (both of wsproto's
    call sites hand over a fresh ``bytearray`` and keep only the result).
``tornado``
    ``tornado.websocket._websocket_mask(mask, data) -> bytes`` (key first).
    ``tornado.util._websocket_mask``, which ``tornado.web`` also uses for
    XSRF tokens, is left alone.
``aiohttp``
    The send side, ``aiohttp._websocket.writer.websocket_mask(mask,
    bytearray) -> None``, which masks the writer's own fresh ``bytearray`` in
    place. The receive side is patched only where aiohttp runs its
    pure-Python reader (``aiohttp._websocket.reader_py``: PyPy,
    ``AIOHTTP_NO_EXTENSIONS``); its compiled reader binds the Cython masker
    with a Cython ``cimport``, which no Python code can replace, so an aiohttp
    server keeps its own masker for what it receives.
``autobahn``
    ``autobahn.websocket.protocol.create_xor_masker(mask, length=None)``,
    returning a masker with ``process(data) -> bytes``, ``reset()`` and
    ``pointer()`` (bytes processed since creation or ``reset()``).

Routing by size: websockets, tornado, aiohttp and autobahn may mask in C
(``websockets.speedups``, ``tornado.speedups``, aiohttp's Cython
``aiohttp._websocket.mask``, autobahn's NVX). :func:`install` checks which
masker each library actually uses. Where it is the C one, frames shorter than
that library's threshold (the ``*_MIN_SIZE`` constants) stay with it and
longer ones go to gomask, so that no frame is masked slower than before.
Where the library masks in pure Python (wsproto always; the others on PyPy,
or when their speedups are absent or disabled), frames from
:data:`PURE_PYTHON_MIN_SIZE` go to gomask: below it, a call into Go that
follows an idle gap costs more CPU time than the library's own masker.

Every patch point is checked before anything is patched: its signature where
Python can see one, and a call on known input whose result must be RFC 6455's
(that also catches swapped arguments and wrong return types). A library whose
patch point differs is refused with :class:`IntegrationError` and left as it
was. Install, uninstall and the queries hold one lock, so they are safe from
any thread, also while connections run; the patched functions keep no state,
and each masker object belongs to one frame of one connection, as the
library's own does.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final, NamedTuple

from gomask._typing import Buffer
from gomask.mask import KEY_SIZE, implementation
from gomask.mask import mask as _mask
from gomask.mask import mask_inplace as _mask_inplace

__all__ = [
    "AIOHTTP_MIN_SIZE",
    "AUTOBAHN_MIN_SIZE",
    "PURE_PYTHON_MIN_SIZE",
    "SUPPORTED",
    "TORNADO_MIN_SIZE",
    "WEBSOCKETS_MIN_SIZE",
    "AutobahnMasker",
    "IntegrationError",
    "IntegrationWarning",
    "Plan",
    "WsprotoMasker",
    "describe",
    "install",
    "installed",
    "uninstall",
]

#: The libraries :func:`install` knows, in the order it patches them.
SUPPORTED: Final = ("websockets", "wsproto", "tornado", "aiohttp", "autobahn")

# Thresholds: where a library masks with its own C code, frames of at least
# this many bytes go to gomask and shorter ones stay with the library; None:
# every frame stays with the library, so install() leaves it unpatched unless
# given a min_size. Each is the smallest size from which gomask, called
# through the patched function, was measured no slower than that C masker at
# every larger size, both in calls back to back (wall time) and in calls
# after an idle gap (CPU time of the whole process, which includes what a
# call costs in the Go runtime's threads), the larger of the two. Re-measure
# with
#     python scripts/measure_thresholds.py
# which prints both timings and the suggested value for each library, and
# check the result end to end with ``python -m gomask._bench_apps``.

#: websockets.speedups.apply_mask (C, SSE2) against gomask.mask.mask.
WEBSOCKETS_MIN_SIZE: Final[int | None] = 16 << 20
#: tornado.speedups.websocket_mask (C) against gomask.mask.mask.
TORNADO_MIN_SIZE: Final[int | None] = 4 << 20
#: aiohttp's Cython websocket_mask (in place) against gomask.mask.mask_inplace:
#: gomask was not measured faster at any size.
AIOHTTP_MIN_SIZE: Final[int | None] = None
#: autobahn's NVX masker objects (CFFI) against :class:`AutobahnMasker`.
AUTOBAHN_MIN_SIZE: Final[int | None] = 4 << 20
#: Every library's pure-Python masker (wsproto's; websockets', tornado's,
#: aiohttp's and autobahn's without their C code, as on PyPy) against
#: gomask. Back to back, gomask is faster from the smallest frames; but a
#: call into Go that follows an idle gap costs about 20 µs of CPU in the Go
#: runtime's threads (it wakes its monitor thread), more than such a masker
#: spends on frames of a few KiB, so small frames stay with it.
PURE_PYTHON_MIN_SIZE: Final = 64 << 10


class IntegrationError(RuntimeError):
    """A library cannot be patched as asked; nothing of it was patched.

    Raised for a name that is not in :data:`SUPPORTED`, a library that is not
    installed, or a patch point whose shape or behaviour is not what gomask
    expects (another version of the library).
    """


class IntegrationWarning(RuntimeWarning):
    """:func:`install` with no argument skipped an installed library it cannot patch."""


class Plan(NamedTuple):
    """What :func:`install` does (or did) for one library; see :func:`describe`."""

    #: The library's import name, one of :data:`SUPPORTED`.
    library: str
    #: Its installed version, or ``""`` when its metadata cannot be read.
    version: str
    #: The patch points, as ``module.attribute``.
    points: tuple[str, ...]
    #: Name of the C masker the library uses where it has one (for example
    #: ``"websockets.speedups"``), or ``None`` where it masks in pure Python.
    native: str | None
    #: Frames of at least this many bytes go to gomask, shorter ones to the
    #: library's own masker (``0``: every frame goes to gomask). ``None``:
    #: every frame would stay with the library's C masker, so
    #: :func:`install` leaves the library unpatched.
    min_size: int | None
    #: What gomask cannot patch in this library, or ``""``.
    note: str


# --------------------------------------------------------------------------
# Replacements. They call gomask through the module globals ``_mask`` and
# ``_mask_inplace`` (looked up per call), so every patched library uses the
# same two functions, and their parameters have the names of the functions
# they replace.


class WsprotoMasker:
    """Replacement for ``wsproto.frame_protocol.XorMaskerSimple``.

    One object masks the payload of one frame, which may arrive in several
    chunks: ``process`` continues the mask stream where the previous call
    stopped. A ``bytearray`` given to ``process`` is masked in place and
    returned (wsproto's own calls pass a fresh ``bytearray`` and keep only the
    result); any other bytes-like object is copied to a new ``bytearray``
    first, as wsproto's masker always does.
    """

    __slots__ = ("_key",)

    def __init__(self, masking_key: Buffer) -> None:
        key = bytes(masking_key)
        if len(key) != KEY_SIZE:
            raise ValueError(f"masking key must be {KEY_SIZE} bytes, got {len(key)}")
        # The key rotated to the position of the next byte: every call masks
        # from position 0 of it, gomask's fastest call.
        self._key = key

    def process(self, data: Buffer) -> bytearray:
        """Mask the next chunk of the frame's payload; returns it as a bytearray."""
        buffer = data if type(data) is bytearray else bytearray(data)
        n = len(buffer)
        if n:
            _mask_inplace(buffer, self._key)
            shift = n % KEY_SIZE
            if shift:
                key = self._key
                self._key = key[shift:] + key[:shift]
        return buffer


def _routed_wsproto_masker(original: type, min_size: int) -> type[WsprotoMasker]:
    """A :class:`WsprotoMasker` that masks chunks shorter than *min_size*
    with wsproto's own masker, made for that chunk with the key rotated to
    the chunk's position."""

    class RoutedWsprotoMasker(WsprotoMasker):
        __slots__ = ()

        def process(self, data: Buffer) -> bytearray:
            """Mask the next chunk of the frame's payload; returns it as a bytearray."""
            n = len(data)  # type: ignore[arg-type]
            if n >= min_size:
                return super().process(data)
            out: bytearray = original(self._key).process(data)
            shift = n % KEY_SIZE
            if shift:
                self._key = self._key[shift:] + self._key[:shift]
            return out

    RoutedWsprotoMasker.__qualname__ = RoutedWsprotoMasker.__name__ = "WsprotoMasker"
    return RoutedWsprotoMasker


class AutobahnMasker:
    """Replacement for the maskers of ``autobahn.websocket.xormasker``.

    ``process(data)`` returns the next chunk of a frame's payload masked, as
    new ``bytes`` (autobahn passes slices of its receive buffer and of the
    caller's payload, which stay the caller's); ``pointer()`` is the number of
    bytes processed since creation or the last ``reset()``, which autobahn
    compares with the frame length; ``reset()`` starts the mask stream again
    at position 0.
    """

    __slots__ = ("_key", "_next", "_pointer")

    def __init__(self, mask: Buffer) -> None:
        key = bytes(mask)
        if len(key) != KEY_SIZE:
            raise ValueError(f"mask must be {KEY_SIZE} bytes, got {len(key)}")
        self._key = key
        self._next = key  # the key rotated to the position of the next byte
        self._pointer = 0

    def pointer(self) -> int:
        """Bytes processed since creation or the last :meth:`reset`."""
        return self._pointer

    def reset(self) -> None:
        """Start again at position 0 of the mask stream."""
        self._pointer = 0
        self._next = self._key

    def process(self, data: Buffer) -> bytes:
        """Mask the next chunk; returns new bytes."""
        out = _mask(data, self._next)
        self._advance(len(out))
        return out

    def _advance(self, n: int) -> None:
        if n:
            self._pointer += n
            shift = self._pointer % KEY_SIZE
            key = self._key
            self._next = key[shift:] + key[:shift] if shift else key


class _RoutedAutobahnMasker(AutobahnMasker):
    """An :class:`AutobahnMasker` that masks chunks shorter than *min_size*
    with a masker from autobahn's own *factory*, made for that chunk with the
    key rotated to the chunk's position. autobahn hands over a large frame in
    as many chunks as reads delivered, so the frame's length alone does not
    tell how large each call is."""

    __slots__ = ("_factory", "_min_size")

    def __init__(self, mask: Buffer, factory: Callable[..., Any], min_size: int) -> None:
        super().__init__(mask)
        self._factory = factory
        self._min_size = min_size

    def process(self, data: Buffer) -> bytes:
        """Mask the next chunk; returns new bytes."""
        n = len(data)  # type: ignore[arg-type]
        if n >= self._min_size:
            out = _mask(data, self._next)
        else:
            out = self._factory(self._next, n).process(data)
        self._advance(len(out))
        return out


def _websockets_apply_mask(
    original: Callable[[Any, Any], bytes], min_size: int
) -> Callable[[Any, Any], bytes]:
    """websockets' ``apply_mask(data, mask) -> bytes``, routed by size."""
    if min_size <= 0:

        def apply_mask(data: Buffer, mask: bytes) -> bytes:
            return _mask(data, mask)

    else:

        def apply_mask(data: Buffer, mask: bytes) -> bytes:
            if len(data) < min_size:  # type: ignore[arg-type]
                return original(data, mask)
            return _mask(data, mask)

    return apply_mask


def _tornado_websocket_mask(
    original: Callable[[Any, Any], bytes], min_size: int
) -> Callable[[Any, Any], bytes]:
    """tornado's ``_websocket_mask(mask, data) -> bytes`` (key first), routed by size."""
    if min_size <= 0:

        def _websocket_mask(mask: bytes, data: Buffer) -> bytes:
            return _mask(data, mask)

    else:

        def _websocket_mask(mask: bytes, data: Buffer) -> bytes:
            if len(data) < min_size:  # type: ignore[arg-type]
                return original(mask, data)
            return _mask(data, mask)

    return _websocket_mask


def _aiohttp_websocket_mask(
    original: Callable[[Any, Any], None], min_size: int
) -> Callable[[Any, Any], None]:
    """aiohttp's ``websocket_mask(mask, data: bytearray) -> None``, in place, routed by size."""
    if min_size <= 0:

        def websocket_mask(mask: bytes, data: bytearray) -> None:
            _mask_inplace(data, mask)

    else:

        def websocket_mask(mask: bytes, data: bytearray) -> None:
            if len(data) < min_size:
                original(mask, data)
            else:
                _mask_inplace(data, mask)

    return websocket_mask


def _autobahn_create_xor_masker(original: Callable[..., Any], min_size: int) -> Callable[..., Any]:
    """autobahn's ``create_xor_masker(mask, length=None)``, routed by the frame's
    length hint, then by the size of each chunk."""
    if min_size <= 0:

        def create_xor_masker(mask: Buffer, length: int | None = None) -> Any:
            return AutobahnMasker(mask)

    else:

        def create_xor_masker(mask: Buffer, length: int | None = None) -> Any:
            if length is not None and length < min_size:
                return original(mask, length)
            return _RoutedAutobahnMasker(mask, original, min_size)

    return create_xor_masker


# --------------------------------------------------------------------------
# Checking a patch point: a known payload, key and result (RFC 6455 masking
# computed here byte by byte, independently of gomask).

_PROBE_KEY: Final = bytes.fromhex("37fa213d")
_PROBE_DATA: Final = bytes(range(7, 7 + 11))  # not a multiple of 4, not a key's length
_PROBE_MASKED: Final = bytes(b ^ _PROBE_KEY[i % 4] for i, b in enumerate(_PROBE_DATA))


def _refuse(library: str, point: str, why: str) -> IntegrationError:
    version = _version(library)
    found = f"{library} {version}" if version else library
    return IntegrationError(
        f"gomask.integrations: cannot patch {found}: {point} {why}; nothing was patched"
    )


def _check_parameters(
    library: str, point: str, function: object, names: tuple[str, ...], defaults: int = 0
) -> None:
    """Where Python can see *function*'s signature, it must take exactly the
    positional parameters *names*, the last *defaults* of them with a default.
    C functions without a visible signature are left to the probe call."""
    try:
        signature = inspect.signature(function)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    parameters = list(signature.parameters.values())
    found = [(p.name, p.kind in positional, p.default is not p.empty) for p in parameters]
    expected = [(n, True, i >= len(names) - defaults) for i, n in enumerate(names)]
    if found != expected:
        raise _refuse(
            library, point, f"has the signature {signature}, expected ({', '.join(names)})"
        )


def _probe(library: str, point: str, run: Callable[[], object]) -> None:
    """Run *run* (a call of the patch point on the probe input); it must return True."""
    try:
        ok = run()
    except Exception as exc:
        raise _refuse(
            library, point, f"fails on a test call ({type(exc).__name__}: {exc})"
        ) from exc
    if ok is not True:
        raise _refuse(library, point, "does not mask a test payload as RFC 6455 specifies")


def _attribute(library: str, module: ModuleType, name: str) -> Any:
    point = f"{module.__name__}.{name}"
    if not hasattr(module, name):
        raise _refuse(library, point, "does not exist")
    value = getattr(module, name)
    if not callable(value):
        raise _refuse(library, point, f"is a {type(value).__name__}, not callable")
    return value


def _import(library: str, module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise IntegrationError(
            f"gomask.integrations: cannot import {module} ({exc}); {library} was not patched"
        ) from exc


def _native(module: str, name: str) -> object:
    """*module*.*name*, or None when the module cannot be imported (no C masker)."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(found, name, None)


@dataclass
class _Point:
    """One attribute to set: where, gomask's value, and the value it replaces."""

    module: ModuleType
    name: str
    original: Any
    replacement: Any

    @property
    def label(self) -> str:
        return f"{self.module.__name__}.{self.name}"

    def is_ours(self) -> bool:
        return getattr(self.module, self.name, None) is self.replacement


@dataclass
class _Prepared:
    plan: Plan
    points: list[_Point]


def _check_mask_function(library: str, point: str, function: Any, key_first: bool) -> None:
    """A ``(data, mask) -> bytes`` function (``(mask, data)`` if *key_first*)."""
    names = ("mask", "data") if key_first else ("data", "mask")
    _check_parameters(library, point, function, names)

    def run() -> bool:
        args = (_PROBE_KEY, _PROBE_DATA) if key_first else (_PROBE_DATA, _PROBE_KEY)
        result = function(*args)
        return type(result) is bytes and result == _PROBE_MASKED

    _probe(library, point, run)


def _prepare_websockets(min_size: int | None) -> _Prepared:
    library = "websockets"
    frames = _import(library, "websockets.frames")
    modules = [frames]
    legacy = sys.modules.get("websockets.legacy.framing")
    if legacy is not None:
        modules.append(legacy)
    speedups = _native("websockets.speedups", "apply_mask")
    points = []
    native = None
    for module in modules:
        original = _attribute(library, module, "apply_mask")
        label = f"{module.__name__}.apply_mask"
        _check_mask_function(library, label, original, key_first=False)
        uses_c = speedups is not None and original is speedups
        if uses_c:
            native = "websockets.speedups"
        size = _min_size(min_size, WEBSOCKETS_MIN_SIZE, uses_c) or 0
        points.append(
            _Point(module, "apply_mask", original, _websockets_apply_mask(original, size))
        )
    plan_size = _min_size(min_size, WEBSOCKETS_MIN_SIZE, native is not None)
    return _Prepared(_plan(library, points, native, plan_size, ""), points)


def _prepare_tornado(min_size: int | None) -> _Prepared:
    library = "tornado"
    module = _import(library, "tornado.websocket")
    original = _attribute(library, module, "_websocket_mask")
    _check_mask_function(library, "tornado.websocket._websocket_mask", original, key_first=True)
    speedups = _native("tornado.speedups", "websocket_mask")
    native = "tornado.speedups" if speedups is not None and original is speedups else None
    size = _min_size(min_size, TORNADO_MIN_SIZE, native is not None)
    replacement = _tornado_websocket_mask(original, size or 0)
    point = _Point(module, "_websocket_mask", original, replacement)
    return _Prepared(_plan(library, [point], native, size, ""), [point])


def _check_inplace_function(library: str, point: str, function: Any) -> None:
    """aiohttp's ``(mask, data: bytearray) -> None``, masking *data* in place."""
    _check_parameters(library, point, function, ("mask", "data"))

    def run() -> bool:
        buffer = bytearray(_PROBE_DATA)
        result = function(_PROBE_KEY, buffer)
        return result is None and buffer == _PROBE_MASKED

    _probe(library, point, run)


def _prepare_aiohttp(min_size: int | None) -> _Prepared:
    library = "aiohttp"
    writer = _import(library, "aiohttp._websocket.writer")
    reader = _import(library, "aiohttp._websocket.reader")
    cython = _native("aiohttp._websocket.mask", "_websocket_mask_cython")
    targets = [writer]
    # The pure-Python reader looks its masker up at call time; the compiled
    # one (reader_c) binds it at compile time.
    reader_class = getattr(reader, "WebSocketReader", None)
    pure_reader = getattr(reader_class, "__module__", None) == "aiohttp._websocket.reader_py"
    if pure_reader:
        targets.append(_import(library, "aiohttp._websocket.reader_py"))
        note = ""
    else:
        note = (
            "receive side not patched: aiohttp's compiled reader calls its Cython masker "
            "through a cimport, which cannot be replaced"
        )
    points = []
    native = None
    for module in targets:
        original = _attribute(library, module, "websocket_mask")
        _check_inplace_function(library, f"{module.__name__}.websocket_mask", original)
        uses_c = cython is not None and original is cython
        if uses_c:
            native = "aiohttp._websocket.mask"
        size = _min_size(min_size, AIOHTTP_MIN_SIZE, uses_c) or 0
        points.append(
            _Point(module, "websocket_mask", original, _aiohttp_websocket_mask(original, size))
        )
    plan_size = _min_size(min_size, AIOHTTP_MIN_SIZE, native is not None)
    return _Prepared(_plan(library, points, native, plan_size, note), points)


def _check_masker_object(
    library: str, point: str, make: Callable[[], Any], result_type: type, pointer: bool
) -> None:
    """A masker object: ``process`` in two chunks continues the mask stream;
    with *pointer*, also ``pointer()`` counts bytes and ``reset()`` restarts."""

    def run() -> bool:
        masker = make()
        for method in ("process", *(("pointer", "reset") if pointer else ())):
            if not callable(getattr(masker, method, None)):
                raise TypeError(f"its masker has no {method}() method")
        first = masker.process(bytearray(_PROBE_DATA[:5]))
        second = masker.process(bytearray(_PROBE_DATA[5:]))
        if type(first) is not result_type or type(second) is not result_type:
            return False
        ok: bool = first + second == _PROBE_MASKED
        if pointer:
            ok = ok and masker.pointer() == len(_PROBE_DATA)
            masker.reset()
            ok = ok and masker.pointer() == 0 and masker.process(_PROBE_DATA) == _PROBE_MASKED
        return ok

    _probe(library, point, run)


def _prepare_wsproto(min_size: int | None) -> _Prepared:
    library = "wsproto"
    module = _import(library, "wsproto.frame_protocol")
    label = "wsproto.frame_protocol.XorMaskerSimple"
    original = _attribute(library, module, "XorMaskerSimple")
    if not isinstance(original, type):
        raise _refuse(library, label, "is not a class")
    init: Any = getattr(original, "__init__", None)
    _check_parameters(library, label + ".__init__", init, ("self", "masking_key"))
    _check_parameters(
        library, label + ".process", getattr(original, "process", None), ("self", "data")
    )
    _check_masker_object(library, label, lambda: original(_PROBE_KEY), bytearray, pointer=False)
    size = _min_size(min_size, None, native=False) or 0
    replacement = _routed_wsproto_masker(original, size) if size else WsprotoMasker
    point = _Point(module, "XorMaskerSimple", original, replacement)
    return _Prepared(_plan(library, [point], None, size, ""), [point])


def _prepare_autobahn(min_size: int | None) -> _Prepared:
    library = "autobahn"
    module = _import(library, "autobahn.websocket.protocol")
    label = "autobahn.websocket.protocol.create_xor_masker"
    original = _attribute(library, module, "create_xor_masker")
    _check_parameters(library, label, original, ("mask", "length"), defaults=1)
    for length in (None, 4, 1 << 20):

        def make(length: int | None = length) -> Any:
            return original(_PROBE_KEY, length)

        _check_masker_object(library, label, make, bytes, pointer=True)
    nvx = _native("autobahn.nvx._xormasker", "create_xor_masker")
    uses_nvx = bool(getattr(sys.modules.get("autobahn.websocket"), "USES_NVX", False))
    native = "autobahn.nvx" if uses_nvx and nvx is not None and original is nvx else None
    size = _min_size(min_size, AUTOBAHN_MIN_SIZE, native is not None)
    replacement = _autobahn_create_xor_masker(original, size or 0)
    point = _Point(module, "create_xor_masker", original, replacement)
    return _Prepared(_plan(library, [point], native, size, ""), [point])


_PREPARE: Final[dict[str, Callable[[int | None], _Prepared]]] = {
    "websockets": _prepare_websockets,
    "wsproto": _prepare_wsproto,
    "tornado": _prepare_tornado,
    "aiohttp": _prepare_aiohttp,
    "autobahn": _prepare_autobahn,
}


def _min_size(asked: int | None, default: int | None, native: bool) -> int | None:
    """The routing threshold: *asked*, else the library's measured *default*
    where it masks in C (None: never gomask), else PURE_PYTHON_MIN_SIZE."""
    if asked is not None:
        return asked
    return default if native else PURE_PYTHON_MIN_SIZE


def _plan(
    library: str, points: list[_Point], native: str | None, size: int | None, note: str
) -> Plan:
    return Plan(library, _version(library), tuple(p.label for p in points), native, size, note)


def _version(library: str) -> str:
    try:
        return importlib.metadata.version(library)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return ""


# --------------------------------------------------------------------------
# State: what is patched, under one lock.

_lock = threading.RLock()
_patched: dict[str, _Prepared] = {}


def _names(libraries: Iterable[object]) -> tuple[str, ...]:
    names: list[str] = []
    for library in libraries:
        if not isinstance(library, str):
            raise TypeError(f"library names are strings, not {type(library).__name__}")
        if library not in SUPPORTED:
            raise IntegrationError(
                f"gomask.integrations: unknown library {library!r}; supported: "
                + ", ".join(SUPPORTED)
            )
        if library not in names:
            names.append(library)
    return tuple(sorted(names, key=SUPPORTED.index))


def _available(library: str) -> bool:
    try:
        return importlib.util.find_spec(library) is not None
    except (ImportError, ValueError):
        return False


def _forget_replaced() -> None:
    """Drop libraries whose patch points someone else has replaced since."""
    for library in list(_patched):
        if not all(point.is_ours() for point in _patched[library].points):
            del _patched[library]


def describe(library: str, min_size: int | None = None) -> Plan:
    """What :func:`install` does, or did, for *library* (importing it).

    For an installed library, its plan as installed; otherwise the plan that
    ``install(library, min_size=min_size)`` would carry out now, checked as
    that would check it. Raises :class:`IntegrationError` as :func:`install`
    would.
    """
    (name,) = _names([library])
    with _lock:
        _forget_replaced()
        if name in _patched:
            return _patched[name].plan
        return _PREPARE[name](_checked_min_size(min_size)).plan


def _checked_min_size(min_size: object) -> int | None:
    if min_size is None:
        return None
    if isinstance(min_size, bool) or not isinstance(min_size, int):
        raise TypeError(f"min_size must be an int or None, not {type(min_size).__name__}")
    if min_size < 0:
        raise ValueError(f"min_size must be non-negative, got {min_size}")
    return min_size


def install(*libraries: str, min_size: int | None = None) -> tuple[str, ...]:
    """Patch *libraries* to mask with gomask; returns the libraries patched.

    With no names: every library of :data:`SUPPORTED` that is installed; one
    whose patch point is not what gomask expects is skipped with an
    :class:`IntegrationWarning`. With names: those libraries; if any of them
    cannot be patched (unknown name, not installed, unexpected patch point)
    :class:`IntegrationError` is raised and none of them is patched.

    *min_size* applies to libraries that mask with C code of their own:
    ``None`` (default) keeps the library's measured threshold (the
    ``*_MIN_SIZE`` constants), any other size routes frames of at least that
    many bytes to gomask (``0``: every frame). A library whose threshold is
    ``None`` (gomask was measured no faster than its C masker at any size:
    aiohttp with its Cython masker) is left unpatched unless *min_size* is
    given, and then not in the result. Libraries that mask in pure Python
    always send every frame to gomask.

    When gomask runs its pure-Python fallback (``GOMASK_PURE=1``:
    :func:`gomask.mask.implementation` is ``"python"``), which is slower than
    every library's own masker, ``install()`` with no names patches nothing;
    named libraries are still patched (for tests).

    Idempotent: a library already patched stays patched and is returned
    again; asked with another *min_size*, it is patched again with that one
    (the library's original stays the one restored by :func:`uninstall`).
    Returns the patched libraries in :data:`SUPPORTED` order.
    """
    size = _checked_min_size(min_size)
    explicit = bool(libraries)
    if explicit:
        names = _names(libraries)
    elif implementation() == "python":
        names = ()  # gomask's pure-Python fallback is slower than every library's masker
    else:
        names = tuple(n for n in SUPPORTED if _available(n))
    with _lock:
        _forget_replaced()
        prepared: dict[str, _Prepared] = {}
        for name in names:
            current = _patched.get(name)
            if current is not None and (
                size is None or not current.plan.native or current.plan.min_size == size
            ):
                continue  # patched already, as asked
            if explicit and not _available(name):
                raise IntegrationError(
                    f"gomask.integrations: {name} is not installed; nothing was patched"
                )
            try:
                plan = _prepare_again(name, size) if current else _PREPARE[name](size)
            except IntegrationError as exc:
                if explicit:
                    raise
                warnings.warn(str(exc), IntegrationWarning, stacklevel=2)
                continue
            if plan.plan.min_size is None:
                continue  # every frame would stay with the library's C masker
            prepared[name] = plan
        # Everything is checked: now patch, all of it.
        for name, plan in prepared.items():
            for point in plan.points:
                setattr(point.module, point.name, point.replacement)
            _patched[name] = plan
        return tuple(n for n in SUPPORTED if n in _patched and (n in names))


def _prepare_again(name: str, size: int | None) -> _Prepared:
    """A new plan for a library that gomask has patched, from its originals."""
    old = _patched[name]
    for point in old.points:
        setattr(point.module, point.name, point.original)
    try:
        return _PREPARE[name](size)
    finally:
        for point in old.points:
            setattr(point.module, point.name, point.replacement)


def uninstall(*libraries: str) -> tuple[str, ...]:
    """Restore the original maskers of *libraries* (default: every patched one).

    An attribute is restored only where it still holds gomask's value: if
    something else has replaced it since :func:`install`, it is left as it
    is. Names that are supported but not patched are ignored. Returns the
    libraries that were unpatched.
    """
    names = _names(libraries) if libraries else SUPPORTED
    with _lock:
        done = []
        for name in names:
            prepared = _patched.pop(name, None)
            if prepared is None:
                continue
            for point in prepared.points:
                if point.is_ours():
                    setattr(point.module, point.name, point.original)
            done.append(name)
        return tuple(done)


def installed() -> tuple[str, ...]:
    """The libraries currently patched by gomask, in :data:`SUPPORTED` order.

    A library counts only while all of its patch points still hold gomask's
    values.
    """
    with _lock:
        _forget_replaced()
        return tuple(n for n in SUPPORTED if n in _patched)
