"""Every public entry point stopped at every line gomask executes, with the
buffer resized, released or re-entered there: the child side of
tests/test_interleavings.py (run as ``python -c "import interleavings;
interleavings.main(ENTRY)"`` with tests/ on sys.path).

A call into gomask is made once without stopping, to count the line events
it executes (``sys.settrace``, filtered to gomask's own files); then once per
line event, and at that event something happens to the buffer: it is
shrunk, to a few bytes and to nothing, grown, the memoryview passed is
released and the buffer behind it shrunk, or gomask is called again, on this
buffer or on other payloads. That happens either in the trace function
itself (as a GC finalizer or a signal handler would) or in another thread
while the masking thread waits in the trace function (as on a free-threaded
build, or while a call releases the GIL). sys.settrace's line events run on
CPython with and without the GIL and on PyPy.

Whatever happens, the call must give the result for the data as it was when
gomask took it (checked against tests/conftest.py's fast_spec, an
independent implementation), or raise a clean Python exception; it must
never write outside the buffer (the child runs with PYTHONMALLOC=debug,
whose allocator aborts on a damaged block) nor return another call's bytes.
A line is a stop on its first two visits of the call (the first two rounds
of a loop, the first two payloads of a batch); a frame that reaches a line a
third time is traced no further.
"""

from __future__ import annotations

import array
import gc
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, NamedTuple

from conftest import fast_spec

import gomask
from gomask import integrations
from gomask.examples import parse_person
from gomask.mask import Masker, mask, mask_batch, mask_inplace, unmask, wstx

GOMASK_DIR = os.path.dirname(os.path.abspath(gomask.__file__)) + os.sep

KEY = bytes.fromhex("37fa213d")
KEY2 = bytes.fromhex("5a0c9e61")
OFFSET = 1  # a rotated key, so that a wrong position in the mask stream shows
GROWTH = (bytes(range(256)) * 4)[:1023]  # not a multiple of 4: a wrong position shows
#: Masked by re-entrant calls: longer than PyPy's cut-off for Go (8 KiB).
OTHER = bytes((i * 7 + 3) % 251 for i in range(12 << 10))
#: The next chunk of a payload, for maskers that keep a position.
TAIL = bytes(range(1, 12))

#: Exceptions a call may raise when its buffer changes under it. ctypes'
#: "Buffer size too small" is not one: it describes an argument the caller
#: never passed (the export of a buffer shrunk after gomask measured it).
CLEAN = (BufferError, ValueError, TypeError, OverflowError, IndexError)


def rotated(key: bytes, position: int) -> bytes:
    p = position % 4
    return key[p:] + key[:p]


_SPECS: dict[tuple[bytes, bytes, int], bytes] = {}


def spec(data: bytes, key: bytes = KEY, offset: int = OFFSET) -> bytes:
    """conftest.fast_spec, remembered: the same data is masked in many runs."""
    args = (bytes(data), key, offset % 4)
    if args not in _SPECS:
        if len(_SPECS) > 1024:
            _SPECS.clear()
        _SPECS[args] = fast_spec(*args)
    return _SPECS[args]


def clean(exc: BaseException) -> bool:
    return isinstance(exc, CLEAN) and "Buffer size too small" not in str(exc)


# --- stopping at a line ------------------------------------------------------------------


class LineStop:
    """A trace function that runs *action* at line event number *at* (from 1)
    of gomask's code; at=0 only counts the events."""

    def __init__(self, at: int, action: Callable[[], object]) -> None:
        self.at = at
        self.action = action
        self.count = 0
        self.where = ""
        #: Visits of each line of the call, over all frames: a line reached
        #: again (the next payload of a batch, the next round of a loop)
        #: is a stop only on its first two visits.
        self.visits: dict[tuple[str, int], int] = {}

    def call(self, frame: Any, event: str, arg: object) -> Any:
        if frame.f_code.co_filename.startswith(GOMASK_DIR):
            seen: dict[int, int] = {}
            return lambda f, e, a: self.line(f, e, seen)
        return None

    def line(self, frame: Any, event: str, seen: dict[int, int]) -> Any:
        if event != "line":
            return lambda f, e, a: self.line(f, e, seen)
        visits = seen[frame.f_lineno] = seen.get(frame.f_lineno, 0) + 1
        if visits > 2:
            return None  # a loop: its first two rounds stand for the others
        where = (frame.f_code.co_filename, frame.f_lineno)
        self.visits[where] = self.visits.get(where, 0) + 1
        if self.visits[where] > 2:
            return lambda f, e, a: self.line(f, e, seen)
        self.count += 1
        if self.count == self.at:
            self.where = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
            self.action()
        return lambda f, e, a: self.line(f, e, seen)


def traced(call: Callable[[], Any], stop: LineStop) -> tuple[Any, BaseException | None]:
    sys.settrace(stop.call)
    try:
        return call(), None
    except Exception as exc:  # judged by the caller
        return None, exc
    finally:
        sys.settrace(None)


class Helper:
    """Another thread that runs a job while the masking thread waits for it
    (two locks as a handshake: cheaper than events on free-threaded builds)."""

    def __init__(self) -> None:
        self.go = threading.Lock()
        self.done = threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.job: Callable[[], object] | None = None
        self.outcome: object = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            self.go.acquire()
            try:
                self.outcome = self.job() if self.job is not None else None
            except BaseException as exc:  # handed to the masking thread
                self.outcome = exc
            self.done.release()

    def run(self, job: Callable[[], object]) -> object:
        self.job = job
        self.go.release()
        if not self.done.acquire(timeout=60):
            raise AssertionError("the helper thread did not finish its job in 60 s")
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class Tally:
    def __init__(self) -> None:
        self.runs = 0
        self.applied = 0
        self.refused = 0
        self.failures: list[str] = []

    def fail(self, what: str) -> None:
        if len(self.failures) < 30:
            self.failures.append(what)


class Stopped(NamedTuple):
    """What a call stopped at one line gave: its result or exception, and
    what the change made at the stop did."""

    result: Any
    exc: BaseException | None
    applied: bool
    refused: bool
    error: BaseException | None  # of the change itself (a re-entrant call's check)
    where: str


def stopped_call(
    call: Callable[[], Any],
    at: int,
    change: Callable[[], None],
    perform: Callable[[Callable[[], object]], object],
    tally: Tally,
) -> Stopped:
    """*call()* with *change()* made at gomask's line event *at*, by *perform*."""
    record: dict[str, Any] = {}

    def job() -> None:
        try:
            change()
        except BufferError:
            record["refused"] = True  # the buffer is exported: gomask holds it
        else:
            record["applied"] = True

    def act() -> None:
        try:
            perform(job)
        except BaseException as exc:  # a wrong result of a re-entrant call, mostly
            record["error"] = exc

    stop = LineStop(at, act)
    result, exc = traced(call, stop)
    tally.runs += 1
    tally.applied += "applied" in record
    tally.refused += "refused" in record
    return Stopped(
        result, exc, "applied" in record, "refused" in record, record.get("error"), stop.where
    )


# --- buffers and what happens to them ----------------------------------------------------


class Subclass(bytearray):
    pass


class Held:
    """A buffer as passed to gomask (*arg*) and the resizable object behind it."""

    def __init__(self, kind: str, data: bytes) -> None:
        self.kind = kind
        if kind == "array":
            self.base: Any = array.array("B", data)
        elif kind == "bytearray subclass":
            self.base = Subclass(data)
        else:
            self.base = bytearray(data)
        self.arg: Any = memoryview(self.base) if kind == "memoryview" else self.base

    def content(self) -> bytes:
        return self.base.tobytes() if isinstance(self.base, array.array) else bytes(self.base)


class Mutation(NamedTuple):
    """Something done to a held buffer; *predict* is its effect on the bytes."""

    name: str
    act: Callable[[Held], None]
    predict: Callable[[bytes], bytes]
    kinds: tuple[str, ...] = ("bytearray", "bytearray subclass", "memoryview", "array")
    in_place_only: bool = False


def _grow(held: Held) -> None:
    if isinstance(held.base, array.array):
        held.base.frombytes(GROWTH)
    else:
        held.base.extend(GROWTH)


def _shrink_to(n: int) -> Callable[[Held], None]:
    def shrink(held: Held) -> None:
        del held.base[n:]

    return shrink


def _release_and_shrink(held: Held) -> None:
    held.arg.release()
    del held.base[3:]


def _mask_it_again(held: Held) -> None:
    mask_inplace(held.base, KEY2)


def reenter_with_others() -> None:
    """Masks other payloads with every route, each checked: a call made while
    another is in progress must neither get nor leave the other's bytes."""
    assert mask(OTHER, KEY2) == spec(OTHER, KEY2, 0)
    assert unmask(bytearray(OTHER), KEY2, 3) == spec(OTHER, KEY2, 3)
    buf = bytearray(OTHER)
    mask_inplace(buf, KEY2)
    assert buf == spec(OTHER, KEY2, 0)
    assert Masker(KEY2, 2).process(OTHER) == spec(OTHER, KEY2, 2)
    batch = mask_batch([OTHER, OTHER[:5], b""], KEY2 + KEY + KEY2)
    assert batch == [spec(OTHER, KEY2, 0), spec(OTHER[:5], KEY, 0), b""]


MUTATIONS = [
    Mutation("shrink to 3 bytes", _shrink_to(3), lambda d: d[:3]),
    Mutation("shrink to 0 bytes", _shrink_to(0), lambda d: b""),
    Mutation("grow", _grow, lambda d: d + GROWTH),
    Mutation("release the view, shrink", _release_and_shrink, lambda d: d[:3], ("memoryview",)),
    Mutation("mask it again", _mask_it_again, lambda d: spec(d, KEY2, 0), in_place_only=True),
    Mutation("mask other payloads", lambda held: reenter_with_others(), lambda d: d),
]


# --- the entry points --------------------------------------------------------------------


class Entry(NamedTuple):
    """An entry point: *start(arg)* -> (call, follow). *call()* makes the call;
    *follow(result, ns)* checks what it returned, and the state it left for
    the next chunk, given that it masked one of the numbers of bytes *ns*
    (the buffer's contents cannot always tell which)."""

    name: str
    in_place: bool
    kinds: tuple[str, ...]
    sizes: tuple[int, ...]
    start: Callable[[Any], tuple[Callable[[], Any], Callable[[Any, set[int]], None]]]


def _no_follow(result: object, ns: set[int]) -> None:
    assert result is None, f"returned {result!r}"


def _returns_bytes(result: object, ns: set[int]) -> None:
    assert type(result) is bytes, f"returned a {type(result).__name__}"


def _next_chunk(process: Callable[[bytes], Any], ns: set[int]) -> None:
    got = bytes(process(TAIL))
    assert got in {spec(TAIL, KEY, OFFSET + n) for n in ns}, (
        f"the next chunk is masked from the wrong position (after {sorted(ns)} bytes)"
    )


def _wstx(arg: Any) -> tuple[Callable[[], Any], Callable[[Any, set[int]], None]]:
    key = int.from_bytes(rotated(KEY, OFFSET), "big")

    def follow(result: object, ns: set[int]) -> None:
        expected = {int.from_bytes(rotated(KEY, OFFSET + n), "big") for n in ns}
        assert result in expected, f"returned {result:#x}, not the key after {sorted(ns)} bytes"

    return lambda: wstx(key, arg), follow


def _masker_inplace(arg: Any) -> tuple[Callable[[], Any], Callable[[Any, set[int]], None]]:
    masker = Masker(KEY, OFFSET)

    def follow(result: object, ns: set[int]) -> None:
        assert result is None
        assert masker.position in {(OFFSET + n) % 4 for n in ns}, (
            f"position {masker.position} after {sorted(ns)} bytes"
        )

        def process(chunk: bytes) -> bytearray:
            buf = bytearray(chunk)
            masker.process_inplace(buf)
            return buf

        _next_chunk(process, ns)

    return lambda: masker.process_inplace(arg), follow


def _masker(arg: Any) -> tuple[Callable[[], Any], Callable[[Any, set[int]], None]]:
    masker = Masker(KEY, OFFSET)

    def follow(result: object, ns: set[int]) -> None:
        _returns_bytes(result, ns)
        _next_chunk(masker.process, ns)

    return lambda: masker.process(arg), follow


_INSTALLED: dict[str, Any] = {}


def installed(point: str) -> Any:
    """The masker gomask.integrations put at *point* (module.attribute), or
    None where that library is not installed or that point is not patched."""
    if point not in _INSTALLED:
        _INSTALLED[point] = _install(point)
    return _INSTALLED[point]


def _install(point: str) -> Any:
    library = point.split(".")[0]
    module_name, attribute = point.rsplit(".", 1)
    try:
        __import__(library)
        if module_name == "websockets.legacy.framing":
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                __import__(module_name)
        module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
    except ImportError:
        return None
    before = getattr(module, attribute, None)
    integrations.install(library, min_size=0)
    after = getattr(module, attribute, None)
    return after if after is not before else None


def _integration(
    point: str, how: str
) -> Callable[[Any], tuple[Callable[[], Any], Callable[[Any, set[int]], None]]]:
    key = rotated(KEY, OFFSET)

    def start(arg: Any) -> tuple[Callable[[], Any], Callable[[Any, set[int]], None]]:
        fn = installed(point)
        assert fn is not None
        if how == "data, mask":
            return lambda: fn(arg, key), _returns_bytes
        if how == "mask, data":
            return lambda: fn(key, arg), _returns_bytes
        if how == "mask, bytearray":
            return lambda: fn(key, arg), _no_follow
        if how == "masker class":
            masker = fn(key)

            def follow_class(result: object, ns: set[int]) -> None:
                assert type(result) is bytearray, f"returned a {type(result).__name__}"
                if type(arg) is bytearray:
                    assert result is arg, "a bytearray is masked in place and returned"
                _next_chunk(lambda chunk: masker.process(bytearray(chunk)), ns)

            return lambda: masker.process(arg), follow_class
        assert how == "masker factory"
        masker = fn(key)

        def follow_factory(result: object, ns: set[int]) -> None:
            _returns_bytes(result, ns)
            assert masker.pointer() in ns, (
                f"pointer() is {masker.pointer()} after {sorted(ns)} bytes"
            )
            _next_chunk(masker.process, ns)

        return lambda: masker.process(arg), follow_factory

    return start


ALL_KINDS = ("bytearray", "bytearray subclass", "memoryview", "array")
#: Above PyPy's cut-off for Go and gomask.mask's for zero-filled results.
PYPY = sys.implementation.name == "pypy"
SIZES = (20 << 10,)
#: Also above GIL_RELEASE_THRESHOLD: the call that releases the GIL (for a
#: bytearray only).
BOTH_ROUTES = (20 << 10, 300 << 10)
#: For masking in place: on PyPy the JIT's loop does it, never Go, and a
#: trace function keeps the JIT off: a short buffer.
IN_PLACE_SIZES = (100,) if PYPY else SIZES
if PYPY:  # above PYPY_GO_MIN_SIZE: Go's route on PyPy
    SIZES = BOTH_ROUTES = (9 << 10,)

ENTRIES = {
    e.name: e
    for e in [
        Entry(
            "mask_inplace",
            True,
            ALL_KINDS,
            IN_PLACE_SIZES if PYPY else BOTH_ROUTES,
            lambda a: (lambda: mask_inplace(a, KEY, OFFSET), _no_follow),
        ),
        Entry("wstx", True, ALL_KINDS, IN_PLACE_SIZES, _wstx),
        Entry("Masker.process_inplace", True, ALL_KINDS, IN_PLACE_SIZES, _masker_inplace),
        Entry(
            "mask",
            False,
            ("bytes", *ALL_KINDS),
            BOTH_ROUTES,
            lambda a: (lambda: mask(a, KEY, OFFSET), _returns_bytes),
        ),
        Entry(
            "unmask",
            False,
            ("bytes", *ALL_KINDS),
            SIZES,
            lambda a: (lambda: unmask(a, KEY, OFFSET), _returns_bytes),
        ),
        Entry("Masker.process", False, ("bytes", *ALL_KINDS), SIZES, _masker),
        Entry(
            "websockets.frames.apply_mask",
            False,
            ("bytes", *ALL_KINDS),
            SIZES,
            _integration("websockets.frames.apply_mask", "data, mask"),
        ),
        Entry(
            "websockets.legacy.framing.apply_mask",
            False,
            ("bytes", "bytearray", "memoryview"),
            SIZES,
            _integration("websockets.legacy.framing.apply_mask", "data, mask"),
        ),
        Entry(
            "tornado.websocket._websocket_mask",
            False,
            ("bytes", *ALL_KINDS),
            SIZES,
            _integration("tornado.websocket._websocket_mask", "mask, data"),
        ),
        Entry(
            "aiohttp._websocket.writer.websocket_mask",
            True,
            ("bytearray",),
            IN_PLACE_SIZES,
            _integration("aiohttp._websocket.writer.websocket_mask", "mask, bytearray"),
        ),
        Entry(
            "aiohttp._websocket.reader_py.websocket_mask",
            True,
            ("bytearray",),
            IN_PLACE_SIZES,
            _integration("aiohttp._websocket.reader_py.websocket_mask", "mask, bytearray"),
        ),
        Entry(
            "wsproto.frame_protocol.XorMaskerSimple (in place)",
            True,
            ("bytearray",),
            IN_PLACE_SIZES,
            _integration("wsproto.frame_protocol.XorMaskerSimple", "masker class"),
        ),
        Entry(
            "wsproto.frame_protocol.XorMaskerSimple (a copy)",
            False,
            ("bytes", "memoryview", "array"),
            SIZES,
            _integration("wsproto.frame_protocol.XorMaskerSimple", "masker class"),
        ),
        Entry(
            "autobahn.websocket.protocol.create_xor_masker",
            False,
            ("bytes", *ALL_KINDS),
            SIZES,
            _integration("autobahn.websocket.protocol.create_xor_masker", "masker factory"),
        ),
    ]
}

#: Entry points with their own checks: mask_batch, parse_person.
OTHER_ENTRIES = ("mask_batch", "examples.parse_person")

INTEGRATION_POINTS = {
    name: name.split(" ")[0] for name in ENTRIES if name.split(".")[0] in integrations.SUPPORTED
}


# --- running one entry point -------------------------------------------------------------


def stops_of(make_call: Callable[[], Callable[[], Any]]) -> int:
    """How many line events of gomask's a fresh call executes."""
    make_call()()  # warm: the library is loaded, the first call's lines are behind
    stop = LineStop(0, lambda: None)
    _, exc = traced(make_call(), stop)
    if exc is not None:
        raise AssertionError(f"the undisturbed call raised {exc!r}")
    return stop.count


def modes() -> Iterator[tuple[str, Callable[[Callable[[], object]], object]]]:
    helper = Helper()
    yield "in the trace function", lambda job: job()
    yield "in another thread", helper.run


def breadcrumb(text: str) -> None:
    """The run in progress, on stderr: the last one names the run that crashed."""
    os.write(2, (text + "\n").encode())


def _fresh_call(entry: Entry, kind: str, data: bytes) -> Callable[[], Any]:
    return entry.start(data if kind == "bytes" else Held(kind, data).arg)[0]


def run_buffer_entry(entry: Entry, tally: Tally) -> None:
    for mode, perform in modes():
        for kind in entry.kinds:
            for size in entry.sizes if kind == "bytearray" else entry.sizes[:1]:
                data = (bytes((i * 131 + 17) % 256 for i in range(256)) * (size // 256 + 1))[:size]
                mutations = [
                    m
                    for m in MUTATIONS
                    if kind in m.kinds and (entry.in_place or not m.in_place_only)
                ]
                if kind == "bytes":
                    mutations = [m for m in MUTATIONS if m.name == "mask other payloads"]
                count = stops_of(partial(_fresh_call, entry, kind, data))
                for mutation in mutations:
                    for at in range(1, count + 1):
                        label = (
                            f"{entry.name}, {kind} of {size} B, {mutation.name} {mode} "
                            f"at line event {at}"
                        )
                        breadcrumb(label)
                        one_run(entry, kind, data, mutation, at, perform, label, tally)
                    gc.collect()


def one_run(
    entry: Entry,
    kind: str,
    data: bytes,
    mutation: Mutation,
    at: int,
    perform: Callable[[Callable[[], object]], object],
    label: str,
    tally: Tally,
) -> None:
    held = None if kind == "bytes" else Held(kind, data)
    call, follow = entry.start(data if held is None else held.arg)
    run = stopped_call(call, at, partial(mutation.act, held), perform, tally)
    result, exc = run.result, run.exc
    label = f"{label} ({run.where})"
    if run.error is not None:
        tally.fail(f"{label}: the call made meanwhile failed: {run.error!r}")
        return
    applied = run.applied
    before = data
    after = mutation.predict(data) if applied else data
    if exc is not None:
        if not clean(exc):
            tally.fail(f"{label}: raised {exc!r}")
        return
    if run.where.startswith("_fallback.py") and mutation.name != "mask other payloads":
        # Inside the pure-Python loop (PyPy's route for masking in place):
        # no Go, no pointer; a change made there is the caller's race, as
        # with any Python code (gomask.mask.mask_inplace says so).
        return
    try:
        if entry.in_place:
            content = held.content()  # type: ignore[union-attr]
            # Masked before the change (which then applies to the masked
            # bytes), or after it (masking what the change left).
            candidates = [(mutation.predict(spec(before)), len(before)), (spec(after), len(after))]
            if not applied:
                candidates = [(spec(before), len(before))]
            matching = {n for expected, n in candidates if content == expected}
            assert matching, (
                f"the buffer holds {len(content)} bytes that are no masking of its contents"
            )
            follow(result, matching)
        else:
            expected = {spec(before), spec(after)}
            assert bytes(result) in expected, (
                f"returned {len(result)} bytes: not the data masked, before the change or after"
            )
            follow(result, {len(result)})
            if held is not None:
                assert held.content() == after, "the caller's buffer was written"
    except AssertionError as error:
        tally.fail(f"{label}: {error}")


# --- mask_batch --------------------------------------------------------------------------


def _split(state: dict[str, Any]) -> None:
    payloads = state["payloads"]
    payloads[1:2] = [payloads[1][:5], payloads[1][5:]]


def _append(state: dict[str, Any]) -> None:
    state["payloads"].append(b"an extra payload")


def _drop(state: dict[str, Any]) -> None:
    state["payloads"].pop()


def _resize_payload(n: int | None) -> Callable[[dict[str, Any]], None]:
    def resize(state: dict[str, Any]) -> None:
        resizable = next(p for p in state["payloads"] if type(p) is bytearray)
        if n is None:
            resizable.extend(GROWTH)
        else:
            del resizable[n:]

    return resize


def _resize_keys(grow: bool) -> Callable[[dict[str, Any]], None]:
    def resize(state: dict[str, Any]) -> None:
        keys = state["keys"]
        if isinstance(keys, list):
            if grow:
                keys.append(KEY2)
            else:
                keys.pop()
        elif grow:
            keys.extend(KEY2)
        else:
            del keys[4:]

    return resize


BATCH_MUTATIONS = {
    "split a payload in two": _split,
    "append a payload": _append,
    "drop a payload": _drop,
    "shrink a payload": _resize_payload(3),
    "grow a payload": _resize_payload(None),
    "drop keys": _resize_keys(False),
    "add a key": _resize_keys(True),
    "mask other payloads": lambda state: reenter_with_others(),
}


def _batch_state(payload_kind: str, keys_kind: str) -> dict[str, Any]:
    payloads: list[Any] = [OTHER[:4000], bytes(range(40)) * 3, OTHER, b"", bytes(9)]
    if payload_kind == "mixed":
        payloads[2] = bytearray(payloads[2])
    packed = bytes(range(100, 100 + 4 * len(payloads)))
    keys: Any = {
        "bytes": packed,
        "bytearray": bytearray(packed),
        "list": [packed[i : i + 4] for i in range(0, len(packed), 4)],
    }[keys_kind]
    return {"payloads": payloads, "keys": keys}


def _snapshot(state: dict[str, Any]) -> tuple[list[bytes], bytes]:
    keys = state["keys"]
    return [bytes(p) for p in state["payloads"]], b"".join(keys) if isinstance(
        keys, list
    ) else bytes(keys)


def _batch_expected(payloads: list[bytes], keys: bytes) -> list[bytes] | None:
    if 4 * len(payloads) != len(keys):
        return None
    return [spec(p, keys[4 * i : 4 * i + 4], 0) for i, p in enumerate(payloads)]


#: Payloads (all bytes: the caller's list itself; mixed: a copy) and keys.
#: PyPy runs traced code without its JIT: two of the six there.
BATCH_KINDS = [(p, k) for p in ("bytes", "mixed") for k in ("bytes", "bytearray", "list")]
if PYPY:
    BATCH_KINDS = [("bytes", "list"), ("mixed", "bytearray")]


def _fresh_batch(payload_kind: str, keys_kind: str) -> Callable[[], Any]:
    state = _batch_state(payload_kind, keys_kind)
    return lambda: mask_batch(state["payloads"], state["keys"])


def run_batch(tally: Tally) -> None:
    for mode, perform in modes():
        for payload_kind, keys_kind in BATCH_KINDS:
            count = stops_of(partial(_fresh_batch, payload_kind, keys_kind))
            for name, mutate in BATCH_MUTATIONS.items():
                if payload_kind == "bytes" and name in ("shrink a payload", "grow a payload"):
                    continue  # no bytearray to resize
                if keys_kind == "bytes" and name in ("drop keys", "add a key"):
                    continue  # bytes cannot change
                for at in range(1, count + 1):
                    label = (
                        f"mask_batch, {payload_kind} payloads, keys as {keys_kind}, {name} "
                        f"{mode} at line event {at}"
                    )
                    breadcrumb(label)
                    one_batch(payload_kind, keys_kind, mutate, at, perform, label, tally)


def one_batch(
    payload_kind: str,
    keys_kind: str,
    mutate: Callable[[dict[str, Any]], None],
    at: int,
    perform: Callable[[Callable[[], object]], object],
    label: str,
    tally: Tally,
) -> None:
    state = _batch_state(payload_kind, keys_kind)
    before = _snapshot(state)
    run = stopped_call(
        lambda: mask_batch(state["payloads"], state["keys"]),
        at,
        partial(mutate, state),
        perform,
        tally,
    )
    result, exc = run.result, run.exc
    label = f"{label} ({run.where})"
    if run.error is not None:
        tally.fail(f"{label}: the call made meanwhile failed: {run.error!r}")
        return
    if exc is not None:
        if not clean(exc):
            tally.fail(f"{label}: raised {exc!r}")
        return
    after = _snapshot(state)
    # The payloads and keys as gomask took them: before the change, or after it.
    candidates = [
        _batch_expected(p, k)
        for p, k in ((before[0], before[1]), (after[0], before[1]), (before[0], after[1]))
    ]
    if result not in [c for c in candidates if c is not None]:
        tally.fail(
            f"{label}: returned {len(result)} results that are not the masking of the payloads "
            f"({len(before[0])} before the change, {len(after[0])} after), with their keys"
        )


# --- parse_person ------------------------------------------------------------------------

DOC = b'{"name": "Ann", "age": 41, "cars": ["Fiat"]}'
OTHER_DOC = b'{"name": "Bartholomew", "age": 7, "friends": [{"name": "Cy", "age": 8}]}' + b" " * 200


def _replace_doc(held: Held) -> None:
    held.base[:] = OTHER_DOC


DOC_MUTATIONS = [
    Mutation("shrink to 3 bytes", _shrink_to(3), lambda d: d[:3]),
    Mutation("shrink to 0 bytes", _shrink_to(0), lambda d: b""),
    Mutation("replace the document", _replace_doc, lambda d: OTHER_DOC),
    Mutation("release the view, shrink", _release_and_shrink, lambda d: d[:3], ("memoryview",)),
    Mutation("mask other payloads", lambda held: reenter_with_others(), lambda d: d),
]


def _parsed(doc: bytes) -> Any:
    try:
        return parse_person(doc)
    except ValueError:
        return None


def _fresh_parse(kind: str) -> Callable[[], Any]:
    held = Held(kind, DOC)
    return lambda: parse_person(held.arg)


def run_parse_person(tally: Tally) -> None:
    for mode, perform in modes():
        for kind in ("bytearray", "memoryview"):
            count = stops_of(partial(_fresh_parse, kind))
            for mutation in DOC_MUTATIONS:
                if kind not in mutation.kinds:
                    continue
                for at in range(1, count + 1):
                    label = f"parse_person, {kind}, {mutation.name} {mode} at line event {at}"
                    breadcrumb(label)
                    held = Held(kind, DOC)
                    run = stopped_call(
                        partial(parse_person, held.arg),
                        at,
                        partial(mutation.act, held),
                        perform,
                        tally,
                    )
                    label += f" ({run.where})"
                    after = mutation.predict(DOC) if run.applied else DOC
                    if run.error is not None:
                        tally.fail(f"{label}: the call made meanwhile failed: {run.error!r}")
                    elif run.exc is not None:
                        if not clean(run.exc):
                            tally.fail(f"{label}: raised {run.exc!r}")
                    elif run.result not in (_parsed(DOC), _parsed(after)):
                        tally.fail(f"{label}: returned {run.result!r}")


# --- the child's main --------------------------------------------------------------------


def main(entry: str) -> None:
    """Run every interleaving of *entry*; print one RESULT line of JSON."""
    tally = Tally()
    skipped = ""
    if entry == "mask_batch":
        run_batch(tally)
    elif entry == "examples.parse_person":
        run_parse_person(tally)
    elif entry in INTEGRATION_POINTS and installed(INTEGRATION_POINTS[entry]) is None:
        skipped = f"{INTEGRATION_POINTS[entry]} is not installed or not patched here"
    else:
        run_buffer_entry(ENTRIES[entry], tally)
    print(
        "RESULT "
        + json.dumps(
            {
                "skipped": skipped,
                "runs": tally.runs,
                "applied": tally.applied,
                "refused": tally.refused,
                "failures": tally.failures,
            }
        ),
        flush=True,
    )
