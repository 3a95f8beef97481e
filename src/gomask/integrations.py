"""gomask inside WebSocket libraries: ``install()`` and their frames are masked in Go.

::

    from gomask import integrations

    integrations.install()              # every supported library that is installed
    integrations.install("wsproto")     # or only the ones named
    integrations.stats()                # frames and bytes masked by gomask, by the library
    integrations.uninstall()            # the libraries' own maskers again

Importing this module imports none of the libraries. :func:`install` checks
each patch point of :data:`PATCH_POINTS` (its signature, and a call on known
input that must come back masked as RFC 6455 says), then replaces the names
the library looks up when it masks, so connections already open use gomask
from their next frame; a library whose patch point differs is refused whole.
Frames go to whichever masker costs less at their size: frames shorter than
the library's threshold stay with its own masker. Each threshold is the
smallest size from which gomask was measured no worse than that masker at
every larger size, in latency and in the process's CPU time (all threads,
the Go runtime's included) with frames arriving with pauses; the numbers are
in docs/performance.md, the patch points in docs/integrations.md.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final, NamedTuple

from gomask._patch_checks import (
    RefusedError,
    check_data_key,
    check_inplace,
    check_key_data,
    check_masker_class,
    check_masker_factory,
)
from gomask._typing import Buffer
from gomask.mask import KEY_SIZE, implementation
from gomask.mask import _masked_length_inplace as _mask_inplace
from gomask.mask import mask as _mask

__all__ = [
    "AIOHTTP_MIN_SIZE",
    "AUTOBAHN_MIN_SIZE",
    "PATCH_POINTS",
    "PURE_PYTHON_MIN_SIZE",
    "SUPPORTED",
    "TORNADO_MIN_SIZE",
    "WEBSOCKETS_MIN_SIZE",
    "AutobahnMasker",
    "Counts",
    "IntegrationError",
    "IntegrationWarning",
    "PatchPoint",
    "Plan",
    "WsprotoMasker",
    "describe",
    "install",
    "installed",
    "stats",
    "uninstall",
]

#: The libraries :func:`install` knows, in the order it patches them.
SUPPORTED: Final = ("websockets", "wsproto", "tornado", "aiohttp", "autobahn")

# Thresholds (see the module's docstring for the rule; the numbers behind
# them are in docs/performance.md). None: gomask was not measured faster
# than that masker at any size, so install() leaves the library unpatched
# unless given a min_size.

#: websockets.speedups.apply_mask (C).
WEBSOCKETS_MIN_SIZE: Final[int | None] = None
#: tornado.speedups.websocket_mask (C).
TORNADO_MIN_SIZE: Final[int | None] = None
#: aiohttp's Cython websocket_mask (in place).
AIOHTTP_MIN_SIZE: Final[int | None] = None
# On PyPy the JIT runs pure-Python maskers several times faster than CPython
# does, and autobahn's NVX masker is a cheap CFFI call there: each has a
# threshold of its own.
_PYPY = sys.implementation.name == "pypy"

#: autobahn's NVX maskers (CFFI).
AUTOBAHN_MIN_SIZE: Final[int | None] = None if _PYPY else 64 << 10
#: Every library's pure-Python masker: wsproto's, and the others' where
#: they run without their compiled parts (as on PyPy). The largest of their
#: thresholds on this interpreter.
PURE_PYTHON_MIN_SIZE: Final = (64 if _PYPY else 16) << 10


class IntegrationError(RuntimeError):
    """A library cannot be patched as asked; nothing of it was patched.

    Raised for a name that is not in :data:`SUPPORTED`, a library that is not
    installed, or a patch point whose shape or behaviour is not what gomask
    expects (another version of the library).
    """


class IntegrationWarning(RuntimeWarning):
    """:func:`install` skipped a library: it cannot patch it, or patching it
    would gain nothing (the warning says which)."""


class PatchPoint(NamedTuple):
    """One name that :func:`install` replaces in a library: ``module.attribute``;
    how it masks (which decides how it is checked and replaced); the
    ``module:attribute`` of the library's compiled masker that it holds when
    the library masks in C, with that masker's threshold; and when it is
    patched: "always", "if imported" (importing its module would warn), or "if
    pure reader" (aiohttp's receive side, where its pure-Python reader runs)."""

    library: str
    name: str
    kind: str
    compiled: str | None
    min_size: int | None
    when: str = "always"


#: Every patch point, per library in :data:`SUPPORTED` order. The kinds:
#: ``data, mask -> bytes`` and ``mask, data -> bytes`` (functions that return
#: the masked data), ``mask, bytearray -> None`` (masks in place), ``masker
#: class`` (``XorMaskerSimple(masking_key).process(data) -> bytearray``) and
#: ``masker factory`` (``create_xor_masker(mask, length=None)``, whose maskers
#: have ``process(data) -> bytes``, ``pointer()`` and ``reset()``).
# fmt: off
PATCH_POINTS: Final = (
    PatchPoint("websockets", "websockets.frames.apply_mask", "data, mask -> bytes",
               "websockets.speedups:apply_mask", WEBSOCKETS_MIN_SIZE),
    PatchPoint("websockets", "websockets.legacy.framing.apply_mask", "data, mask -> bytes",
               "websockets.speedups:apply_mask", WEBSOCKETS_MIN_SIZE, "if imported"),
    PatchPoint("wsproto", "wsproto.frame_protocol.XorMaskerSimple", "masker class", None, None),
    PatchPoint("tornado", "tornado.websocket._websocket_mask", "mask, data -> bytes",
               "tornado.speedups:websocket_mask", TORNADO_MIN_SIZE),
    PatchPoint("aiohttp", "aiohttp._websocket.writer.websocket_mask", "mask, bytearray -> None",
               "aiohttp._websocket.mask:_websocket_mask_cython", AIOHTTP_MIN_SIZE),
    PatchPoint("aiohttp", "aiohttp._websocket.reader_py.websocket_mask", "mask, bytearray -> None",
               "aiohttp._websocket.mask:_websocket_mask_cython", AIOHTTP_MIN_SIZE,
               "if pure reader"),
    PatchPoint("autobahn", "autobahn.websocket.protocol.create_xor_masker", "masker factory",
               "autobahn.nvx._xormasker:create_xor_masker", AUTOBAHN_MIN_SIZE),
)
# fmt: on

_AIOHTTP_RECEIVE_NOTE: Final = (
    "receive side not patched: aiohttp's compiled reader calls its Cython masker "
    "through a cimport, which cannot be replaced"
)


class Plan(NamedTuple):
    """What :func:`install` does (or did) for one library; see :func:`describe`.

    *points* are the patch points as ``module.attribute``; *native* the
    module of the C masker the library uses, or ``None`` where it masks in
    pure Python; frames of at least *min_size* bytes go to gomask (``0``:
    every frame; ``None``: none, and the library is left unpatched); *note*
    says what gomask cannot patch in this library, or is ``""``.
    """

    library: str
    version: str
    points: tuple[str, ...]
    native: str | None
    min_size: int | None
    note: str


class Counts(NamedTuple):
    """Masking calls (frames, or chunks of frames) of one library since it
    was installed, and their bytes, by who masked them; see :func:`stats`."""

    gomask_calls: int
    gomask_bytes: int
    library_calls: int
    library_bytes: int


# --------------------------------------------------------------------------
# The router: where each frame goes, counted.


class _Route:
    """Frames of at least *min_size* bytes go to gomask, the others to the
    library's masker. The counts are plain attributes, cheap enough to stay
    on; threads updating them at the same moment may lose an increment."""

    __slots__ = ("gomask_bytes", "gomask_calls", "library_bytes", "library_calls", "min_size")

    def __init__(self, min_size: int) -> None:
        self.min_size = min_size
        self.gomask_calls = self.gomask_bytes = self.library_calls = self.library_bytes = 0

    def to_gomask(self, n: int) -> bool:
        if n >= self.min_size:
            self.gomask_calls += 1
            self.gomask_bytes += n
            return True
        self.library_calls += 1
        self.library_bytes += n
        return False


# --------------------------------------------------------------------------
# Replacements, one builder per kind of patch point. They call gomask through
# the module globals _mask and _mask_inplace (looked up per call; the latter
# returns the length it masked, as exported for its call into Go), and take
# the parameter names of the functions they replace. A length they measure
# only chooses the masker: gomask's functions take the pointer and the length
# they hand to Go from one buffer export of their own, so nothing measured
# here reaches Go.


def _apply_mask(original: Callable[..., bytes], route: _Route) -> Callable[..., bytes]:
    def apply_mask(data: Buffer, mask: bytes) -> bytes:
        if route.to_gomask(len(data)):  # type: ignore[arg-type]
            return _mask(data, mask)
        return original(data, mask)

    return apply_mask


def _websocket_mask(original: Callable[..., bytes], route: _Route) -> Callable[..., bytes]:
    def _websocket_mask(mask: bytes, data: Buffer) -> bytes:
        if route.to_gomask(len(data)):  # type: ignore[arg-type]
            return _mask(data, mask)
        return original(mask, data)

    return _websocket_mask


def _websocket_mask_inplace(original: Callable[..., None], route: _Route) -> Callable[..., None]:
    def websocket_mask(mask: bytes, data: bytearray) -> None:
        if route.to_gomask(len(data)):
            _mask_inplace(data, mask)
        else:
            original(mask, data)

    return websocket_mask


class WsprotoMasker:
    """Replacement for ``wsproto.frame_protocol.XorMaskerSimple``.

    One object masks the payload of one frame, which may arrive in several
    chunks: ``process`` continues the mask stream where the previous call
    stopped. A ``bytearray`` given to ``process`` is masked in place and
    returned (wsproto's own calls pass a fresh ``bytearray`` and keep only the
    result); any other bytes-like object is copied to a new ``bytearray``
    first, as wsproto's masker always does. Chunks shorter than the route's
    threshold go to wsproto's own masker, made for the chunk.
    """

    __slots__ = ("_key", "_theirs")
    _original: Any = None
    _route: _Route = _Route(0)

    def __init__(self, masking_key: Buffer) -> None:
        key = masking_key if type(masking_key) is bytes else bytes(masking_key)
        if len(key) != KEY_SIZE:
            raise ValueError(f"masking key must be {KEY_SIZE} bytes, got {len(key)}")
        self._key = key  # rotated to the position of the next byte
        self._theirs: Any = None  # wsproto's masker, while every chunk went to it

    def process(self, data: Buffer) -> bytearray:
        """Mask the next chunk of the frame's payload; returns it as a bytearray."""
        # The length measured here only routes the chunk; the stream moves on
        # by the length masked: gomask's, as exported for its call into Go
        # (another thread may resize the caller's bytearray right after it),
        # or that of the fresh bytearray wsproto's masker returns.
        if self._route.to_gomask(len(data)):  # type: ignore[arg-type]
            out = data if type(data) is bytearray else bytearray(data)
            n = _mask_inplace(out, self._key)
            self._theirs = None
        else:
            if self._theirs is None:
                self._theirs = self._original(self._key)
            out = self._theirs.process(data)
            n = len(out)
        shift = n % KEY_SIZE
        if shift:
            self._key = self._key[shift:] + self._key[:shift]
        return out


def _wsproto_masker(original: type, route: _Route) -> type[WsprotoMasker]:
    attributes = {"__slots__": (), "_original": original, "_route": route}
    return type("WsprotoMasker", (WsprotoMasker,), attributes)


class AutobahnMasker:
    """Replacement for the maskers of ``autobahn.websocket.xormasker``.

    ``process(data)`` returns the next chunk of a frame's payload masked, as
    new ``bytes``; ``pointer()`` is the number of bytes processed since
    creation or the last ``reset()``, which autobahn compares with the frame
    length; ``reset()`` starts the mask stream again at position 0. autobahn
    hands over a large frame in as many chunks as reads delivered, so each
    chunk is routed by its own size: chunks shorter than the threshold go to
    a masker of autobahn's own, made for the chunk.
    """

    __slots__ = ("_factory", "_key", "_pointer", "_route")

    def __init__(
        self, mask: Buffer, factory: Callable[..., Any] | None = None, route: _Route | None = None
    ) -> None:
        key = bytes(mask)
        if len(key) != KEY_SIZE:
            raise ValueError(f"mask must be {KEY_SIZE} bytes, got {len(key)}")
        self._key = key
        self._pointer = 0
        self._factory = factory
        self._route = route or _Route(0)

    def pointer(self) -> int:
        """Bytes processed since creation or the last :meth:`reset`."""
        return self._pointer

    def reset(self) -> None:
        """Start again at position 0 of the mask stream."""
        self._pointer = 0

    def process(self, data: Buffer) -> bytes:
        """Mask the next chunk; returns new bytes."""
        # The length measured here only routes the chunk (and is autobahn's
        # hint); the masker measures the buffer itself, and the pointer moves
        # on by what it returns.
        n = len(data)  # type: ignore[arg-type]
        shift = self._pointer % KEY_SIZE
        key = self._key[shift:] + self._key[:shift] if shift else self._key
        if self._route.to_gomask(n) or self._factory is None:
            out = _mask(data, key)
        else:
            out = self._factory(key, n).process(data)
        self._pointer += len(out)
        return out


def _create_xor_masker(original: Callable[..., Any], route: _Route) -> Callable[..., Any]:
    def create_xor_masker(mask: Buffer, length: int | None = None) -> Any:
        if length is not None and length < route.min_size:
            route.to_gomask(length)  # counted as the library's
            return original(mask, length)
        return AutobahnMasker(mask, original, route)

    return create_xor_masker


# --------------------------------------------------------------------------
# Checking a patch point (gomask._patch_checks), one check per kind.


def _refuse(point: str, why: str) -> IntegrationError:
    library = point.split(".")[0]
    version = _version(library)
    found = f"{library} {version}" if version else library
    return IntegrationError(
        f"gomask.integrations: cannot patch {found}: {point} {why}; nothing was patched"
    )


#: kind -> (build the replacement, check the original).
_KINDS: Final[dict[str, tuple[Callable[[Any, _Route], Any], Callable[[str, Any], None]]]] = {
    "data, mask -> bytes": (_apply_mask, check_data_key),
    "mask, data -> bytes": (_websocket_mask, check_key_data),
    "mask, bytearray -> None": (_websocket_mask_inplace, check_inplace),
    "masker class": (_wsproto_masker, check_masker_class),
    "masker factory": (_create_xor_masker, check_masker_factory),
}


# --------------------------------------------------------------------------
# Preparing a library: every point found, checked and its replacement built.


@dataclass
class _Patch:
    """One attribute to set: where, gomask's value, and the value it replaces."""

    module: ModuleType
    attribute: str
    original: Any
    replacement: Any

    @property
    def label(self) -> str:
        return f"{self.module.__name__}.{self.attribute}"

    def is_ours(self) -> bool:
        return getattr(self.module, self.attribute, None) is self.replacement


@dataclass
class _Prepared:
    plan: Plan
    patches: list[_Patch]
    route: _Route | None

    def is_complete(self) -> bool:
        """Whether the plan still covers every point it would patch now: a
        module of an "if imported" point imported since (websockets.legacy
        .framing) bound the library's own masker when it was imported, and
        install() patches it only when asked again."""
        return not any(
            point.library == self.plan.library
            and point.when == "if imported"
            and point.name not in self.plan.points
            and point.name.rsplit(".", 1)[0] in sys.modules
            for point in PATCH_POINTS
        )


def _prepare(library: str, asked: int | None) -> _Prepared:
    """The plan and patches for *library*, every point checked; raises
    IntegrationError for a point that is not what gomask expects."""
    found: list[tuple[PatchPoint, ModuleType, Any, bool]] = []
    note = ""
    for point in PATCH_POINTS:
        if point.library != library:
            continue
        module_name, attribute = point.name.rsplit(".", 1)
        if point.when == "if imported" and module_name not in sys.modules:
            continue
        if point.when == "if pure reader" and not _aiohttp_reader_is_pure(library):
            note = _AIOHTTP_RECEIVE_NOTE
            continue
        module = _import(library, module_name)
        original = getattr(module, attribute, None)
        if original is None:
            raise _refuse(point.name, "does not exist")
        if not callable(original):
            raise _refuse(point.name, f"is a {type(original).__name__}, not callable")
        try:
            _KINDS[point.kind][1](point.name, original)
        except RefusedError as exc:
            raise _refuse(exc.point, exc.why) from exc.__cause__
        found.append((point, module, original, _is_compiled(point, original)))
    compiled = next((p.compiled for p, _, _, c in found if c), None)
    threshold = next((p.min_size for p, _, _, c in found if c), None)
    min_size = asked if asked is not None else threshold if compiled else PURE_PYTHON_MIN_SIZE
    native = compiled.split(":")[0] if compiled else None
    plan = Plan(
        library, _version(library), tuple(p.name for p, *_ in found), native, min_size, note
    )
    if min_size is None:
        return _Prepared(plan, [], None)
    route = _Route(min_size)
    patches = [
        _Patch(module, p.name.rsplit(".", 1)[1], original, _KINDS[p.kind][0](original, route))
        for p, module, original, _ in found
    ]
    return _Prepared(plan, patches, route)


def _is_compiled(point: PatchPoint, original: object) -> bool:
    """Whether *original* is the library's compiled masker."""
    if point.compiled is None:
        return False
    module, attribute = point.compiled.split(":")
    try:
        compiled = getattr(importlib.import_module(module), attribute, None)
    except ImportError:
        return False
    return original is compiled


def _aiohttp_reader_is_pure(library: str) -> bool:
    """Whether aiohttp receives with its pure-Python reader, which looks its
    masker up at call time (the compiled one binds it at compile time)."""
    reader = _import(library, "aiohttp._websocket.reader")
    cls = getattr(reader, "WebSocketReader", None)
    return getattr(cls, "__module__", None) == "aiohttp._websocket.reader_py"


def _import(library: str, module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise IntegrationError(
            f"gomask.integrations: cannot import {module} ({exc}); {library} was not patched"
        ) from exc


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
        if not all(patch.is_ours() for patch in _patched[library].patches):
            del _patched[library]


def _checked_min_size(min_size: object) -> int | None:
    if min_size is None:
        return None
    if isinstance(min_size, bool) or not isinstance(min_size, int):
        raise TypeError(f"min_size must be an int or None, not {type(min_size).__name__}")
    if min_size < 0:
        raise ValueError(f"min_size must be non-negative, got {min_size}")
    return min_size


def describe(library: str, min_size: int | None = None) -> Plan:
    """What :func:`install` does, or did, for *library* (importing it).

    For an installed library, its plan as installed; otherwise the plan that
    ``install(library, min_size=min_size)`` would carry out now, checked as
    that would check it. Raises :class:`IntegrationError` as :func:`install`
    would.
    """
    (name,) = _names([library])
    size = _checked_min_size(min_size)
    with _lock:
        _forget_replaced()
        if name in _patched:
            return _patched[name].plan
        return _prepare(name, size).plan


def install(*libraries: str, min_size: int | None = None) -> tuple[str, ...]:
    """Patch *libraries* to mask with gomask; returns the libraries patched.

    With no names: every library of :data:`SUPPORTED` that is installed, one
    whose patch point is not what gomask expects skipped with an
    :class:`IntegrationWarning`; with the pure-Python implementation
    (slower than every library's own masker), none. With names: those
    libraries; if any cannot be patched (unknown, not installed, unexpected
    patch point), :class:`IntegrationError` and none is patched.

    *min_size* sends frames of at least that many bytes to gomask (``0``:
    every frame); ``None`` keeps the thresholds (the ``*_MIN_SIZE``
    constants). A library whose threshold is ``None`` (gomask is not faster
    than its C masker at any size: websockets', tornado's and aiohttp's, and
    autobahn's on PyPy) is left unpatched unless *min_size* is given, with a
    warning where it was named.
    Idempotent; asked again with another *min_size*, a library is patched
    again with it, and asked again after a module with a patch point was
    imported (websockets.legacy.framing binds websockets' masker when it is
    imported), that module is patched too: whatever install() returns is in
    place when it returns. Returns the patched libraries in :data:`SUPPORTED`
    order.
    """
    size = _checked_min_size(min_size)
    explicit = bool(libraries)
    if explicit:
        names = _names(libraries)
    elif implementation() == "python":
        names = ()  # gomask's pure-Python implementation is slower than every library's
    else:
        names = tuple(n for n in SUPPORTED if _available(n))
    with _lock:
        _forget_replaced()
        prepared: dict[str, _Prepared] = {}
        for name in names:
            current = _patched.get(name)
            if (
                current is not None
                and size in (None, current.plan.min_size)
                and current.is_complete()
            ):
                continue  # patched already, as asked
            if explicit and not _available(name):
                raise IntegrationError(
                    f"gomask.integrations: {name} is not installed; nothing was patched"
                )
            try:
                if current is None:
                    plan = _prepare(name, size)
                else:  # with another min_size, or completed with the one it has
                    plan = _prepare_again(name, current.plan.min_size if size is None else size)
            except IntegrationError as exc:
                if explicit:
                    raise
                warnings.warn(str(exc), IntegrationWarning, stacklevel=2)
                continue
            if plan.route is None:
                if explicit:
                    warnings.warn(
                        f"gomask.integrations: {name} left unpatched: it masks with "
                        f"{plan.plan.native}, which gomask was not measured faster than at any "
                        f"size; install({name!r}, min_size=N) sends frames from N bytes to "
                        "gomask anyway",
                        IntegrationWarning,
                        stacklevel=2,
                    )
                continue
            prepared[name] = plan
        # Everything is checked: now patch, all of it.
        for name, plan in prepared.items():
            for patch in plan.patches:
                setattr(patch.module, patch.attribute, patch.replacement)
            _patched[name] = plan
        return tuple(n for n in SUPPORTED if n in _patched and n in names)


def _prepare_again(name: str, size: int | None) -> _Prepared:
    """A new plan for a library that gomask has patched, from its originals."""
    old = _patched[name]
    for patch in old.patches:
        setattr(patch.module, patch.attribute, patch.original)
    try:
        return _prepare(name, size)
    finally:
        for patch in old.patches:
            setattr(patch.module, patch.attribute, patch.replacement)


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
            for patch in prepared.patches:
                if patch.is_ours():
                    setattr(patch.module, patch.attribute, patch.original)
            done.append(name)
        return tuple(done)


def installed() -> tuple[str, ...]:
    """The libraries currently patched by gomask, in :data:`SUPPORTED` order.

    A library counts only while all of its patch points still hold gomask's
    values, and while it has no patch point that install() would patch now
    but has not: a module imported since (websockets.legacy.framing) holds
    the library's own masker until :func:`install` is called again.
    """
    with _lock:
        _forget_replaced()
        return tuple(n for n in SUPPORTED if n in _patched and _patched[n].is_complete())


def stats() -> dict[str, Counts]:
    """For each patched library, its masking calls and bytes since
    :func:`install`, masked by gomask and left to the library's own masker.

    A call is one frame for websockets, tornado and aiohttp, and one chunk of
    a frame for wsproto and autobahn (a frame received in several reads is
    masked in as many chunks). Counts are kept without a lock: threads that
    mask at the same moment may lose an increment.
    """
    with _lock:
        _forget_replaced()
        return {
            name: Counts(r.gomask_calls, r.gomask_bytes, r.library_calls, r.library_bytes)
            for name, prepared in _patched.items()
            if (r := prepared.route) is not None
        }
