"""No integer reaches ctypes unchecked: every integer argument of every
prototype gomask declares (gomask._native._PROTOTYPES, _DEBUG_PROTOTYPES)
is either a length taken from a buffer, or fed by a public function that is
walked here at the bounds of its C type (-1, 0, max, max + 1, 2**64,
10**30, ...). Each value is either accepted, and then exactly that value
takes effect (read back), or refused with OverflowError/ValueError whose
message states the allowed range; ctypes would otherwise reduce it modulo
2**64 without a word. The public integers that never reach ctypes
(offsets, wstx's key) are walked the same way.

Also: set_parallelism gives the same error for 0 and for negatives, and in
pure mode get_parallelism() reports values that set_parallelism() accepts.
"""

from __future__ import annotations

import ctypes
import re
import textwrap
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
from conftest import fast_spec
from reliability_helpers import result_of, run_python

from gomask import _native
from gomask import mask as gm
from gomask.examples import add
from gomask.mask import (
    Masker,
    get_parallelism,
    mask,
    mask_inplace,
    reset_parallelism,
    set_parallelism,
    wstx,
)

KEY = bytes.fromhex("37fa213d")
DATA = bytes(range(7, 90))

_INTEGER_CODES = set("bBhHiIlLqQnN")


def _is_integer(ctype: Any) -> bool:
    return getattr(ctype, "_type_", None) in _INTEGER_CODES


def _range_of(ctype: Any) -> tuple[int, int]:
    """The least and the greatest value of an integer ctypes type."""
    bits = 8 * ctypes.sizeof(ctype)
    if ctype(-1).value == -1:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


class Walk(NamedTuple):
    """A public function that feeds an integer argument: *call(v)* passes v
    there and *effect(v)* says whether exactly v took effect (read back)."""

    name: str
    low: int  # the range of values the function must accept
    high: int
    call: Callable[[int], Any]
    effect: Callable[[int, Any], bool]


class Length(NamedTuple):
    """An integer argument that no caller passes: a length or count taken from
    a buffer export or a list gomask made, or a constant of gomask's own."""

    why: str


SIZE_MAX = 2 ** (8 * ctypes.sizeof(ctypes.c_size_t)) - 1


def _cpus() -> int:
    reset_parallelism()
    return get_parallelism().workers


def _threshold(v: int) -> Any:
    set_parallelism(threshold=v)
    return get_parallelism()


def _workers(v: int) -> Any:
    set_parallelism(workers=v)
    return get_parallelism()


#: Every integer argument of every prototype, by (export, argument index).
INTEGER_ARGUMENTS: dict[tuple[str, int], Walk | Length] = {
    ("gomask_mask", 2): Length("n: the size of the buffer export of the payload"),
    ("gomask_mask_inplace", 1): Length("n: the size of the buffer export of the buffer"),
    ("gomask_mask_batch", 2): Length("n: the size of the joined payloads"),
    ("gomask_mask_batch", 4): Length("count: the number of payloads in gomask's own list"),
    ("gomask_mask_batch", 6): Length("keys_len: the size of gomask's own bytes of keys"),
    ("gomask_set_parallelism", 0): Walk(
        "set_parallelism(threshold=v)", 1, SIZE_MAX, _threshold, lambda v, p: p.threshold == v
    ),
    ("gomask_set_parallelism", 1): Walk(
        "set_parallelism(workers=v)",
        1,
        SIZE_MAX,
        _workers,
        lambda v, p: p.workers == min(v, _cpus()),
    ),
    ("gomask_add", 0): Walk(
        "examples.add(v, 0)", -(2**63), 2**63 - 1, lambda v: add(v, 0), lambda v, r: r == v
    ),
    ("gomask_add", 1): Walk(
        "examples.add(0, v)", -(2**63), 2**63 - 1, lambda v: add(0, v), lambda v, r: r == v
    ),
    ("gomask_parse_person", 1): Length("the size of the document's bytes"),
    ("gomask_debug_empty", 2): Length("n: the size of a payload (benchmarks)"),
    ("gomask_debug_panic", 1): Length("the size of a message (tests only)"),
    ("gomask_debug_panic", 2): Length("a flag (tests only)"),
    ("gomask_debug_set_yields", 0): Length("0 or 1, from the benchmark's own loop"),
}


def _prototypes() -> Iterator[tuple[str, int, Any]]:
    for table in (_native._PROTOTYPES, _native._DEBUG_PROTOTYPES):
        for name, (argtypes, _restype) in table.items():
            for i, ctype in enumerate(argtypes):
                if _is_integer(ctype):
                    yield name, i, ctype


def test_every_integer_argument_is_in_the_table() -> None:
    """A prototype that gains an integer argument fails here until the table
    says which public function feeds it (and so walks it)."""
    found = {(name, i) for name, i, _ in _prototypes()}
    assert found - set(INTEGER_ARGUMENTS) == set(), "integer arguments the table does not cover"
    assert set(INTEGER_ARGUMENTS) - found == set(), "table entries no prototype has"


#: The values walked, each from the least and the greatest value of the range.
BOUNDS: dict[str, Callable[[int, int], int]] = {
    "-1": lambda low, high: -1,
    "0": lambda low, high: 0,
    "1": lambda low, high: 1,
    "min - 1": lambda low, high: low - 1,
    "min": lambda low, high: low,
    "max": lambda low, high: high,
    "max + 1": lambda low, high: high + 1,
    "2**64": lambda low, high: 2**64,
    "2**64 + 1": lambda low, high: 2**64 + 1,
    "10**30": lambda low, high: 10**30,
}


def _value(bound: str, low: int, high: int) -> int:
    return BOUNDS[bound](low, high)


def _outcome(call: Callable[[int], Any], value: int) -> tuple[Any, Exception | None]:
    """What *call(value)* returned, or the OverflowError/ValueError it raised."""
    try:
        return call(value), None
    except (OverflowError, ValueError) as exc:
        return None, exc


def _numbers(message: str) -> set[int]:
    """The integers a message states: decimal, hex, 2**k (and 2**k - 1), and
    k-bit (the ranges of a k-bit C integer)."""
    text = message.replace("_", "").replace(",", "")
    found = {int(n) for n in re.findall(r"-?\b\d+\b", text)}
    found |= {int(n, 16) for n in re.findall(r"\b0x[0-9a-f]+\b", text, re.I)}
    for k in map(int, re.findall(r"2\s*\*\*\s*(\d+)", text)):
        found |= {2**k, 2**k - 1, -(2**k)}
    for k in map(int, re.findall(r"(\d+)-bit", text)):
        found |= {2**k - 1, 2 ** (k - 1) - 1, -(2 ** (k - 1))}
    return found


def _states_range(message: str, value: int, low: int, high: int) -> bool:
    """Whether *message* states a bound that *value* crosses and that does not
    cut into the range [low, high] the function must accept."""
    if value < low and re.search(r"\bnon-negative\b|\bnegative\b", message) and low == 0:
        return True
    numbers = _numbers(message)
    if value > high:
        return any(high <= n < value for n in numbers)
    return any(value < n <= low for n in numbers)


WALKED = [(key, entry) for key, entry in INTEGER_ARGUMENTS.items() if isinstance(entry, Walk)]


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize(("key", "walk"), WALKED, ids=[w.name for _, w in WALKED])
def test_prototype_integers_at_the_bounds(key: tuple[str, int], walk: Walk, bound: str) -> None:
    if gm.implementation() != "go":
        pytest.skip("no library: nothing reaches ctypes")
    name, index = key
    ctype = (_native._PROTOTYPES.get(name) or _native._DEBUG_PROTOTYPES[name])[0][index]
    c_low, c_high = _range_of(ctype)
    assert c_low <= walk.low, "the table asks for more than the C type holds"
    assert walk.high <= c_high, "the table asks for more than the C type holds"
    value = _value(bound, walk.low, c_high)
    try:
        got, exc = _outcome(walk.call, value)
    finally:
        reset_parallelism()
    if exc is not None:
        assert not walk.low <= value <= walk.high, f"{walk.name} refused {value}: {exc}"
        assert _states_range(str(exc), value, walk.low, walk.high), (
            f"{walk.name} = {value}: the message does not state the allowed range: {exc}"
        )
    else:
        assert c_low <= value <= c_high, f"{walk.name} accepted {value}: not a C {ctype.__name__}"
        assert walk.effect(value, got), f"{walk.name}: {value} became {got}"


class Public(NamedTuple):
    name: str
    low: int
    high: int | None  # None: unbounded
    call: Callable[[int], Any]
    effect: Callable[[int, Any], bool]


def _inplace(v: int) -> bytes:
    buf = bytearray(DATA)
    mask_inplace(buf, KEY, v)
    return bytes(buf)


def _reset(v: int) -> bytes:
    masker = Masker(KEY)
    masker.reset(v)
    return masker.process(DATA)


def _wstx(v: int) -> tuple[int, bytes]:
    buf = bytearray(DATA)
    return wstx(v, buf), bytes(buf)


def _wstx_effect(v: int, got: tuple[int, bytes]) -> bool:
    n = len(DATA) % 4
    key = v.to_bytes(4, "big")
    return got == (int.from_bytes(key[n:] + key[:n], "big"), fast_spec(DATA, key))


PUBLIC_INTEGERS = [
    Public(
        "mask(offset=v)",
        0,
        None,
        lambda v: mask(DATA, KEY, v),
        lambda v, r: r == fast_spec(DATA, KEY, v),
    ),
    Public("mask_inplace(offset=v)", 0, None, _inplace, lambda v, r: r == fast_spec(DATA, KEY, v)),
    Public(
        "Masker(key, v)",
        0,
        None,
        lambda v: Masker(KEY, v).process(DATA),
        lambda v, r: r == fast_spec(DATA, KEY, v),
    ),
    Public("Masker.reset(v)", 0, None, _reset, lambda v, r: r == fast_spec(DATA, KEY, v)),
    Public("wstx(v, buffer)", 0, 2**32 - 1, _wstx, _wstx_effect),
]


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize("public", PUBLIC_INTEGERS, ids=lambda p: p.name)
def test_public_integers_at_the_bounds(public: Public, bound: str) -> None:
    high = public.high if public.high is not None else 2**64 - 1
    value = _value(bound, public.low, high)
    accepted = public.low <= value and (public.high is None or value <= public.high)
    got, exc = _outcome(public.call, value)
    if exc is not None:
        assert not accepted, f"{public.name} refused {value}: {exc}"
        assert _states_range(str(exc), value, public.low, high), (
            f"{public.name} = {value}: the message does not state the allowed range: {exc}"
        )
    else:
        assert accepted, f"{public.name} accepted {value}"
        assert public.effect(value, got), f"{public.name}: {value} did not take effect"


# --- parallelism settings ----------------------------------------------------------------


@pytest.mark.parametrize("argument", ["threshold", "workers"])
def test_zero_and_negatives_give_the_same_error(argument: str) -> None:
    """0 and negative values are refused alike, with one message that names
    the least value accepted."""
    errors = {}
    for value in (0, -1, -(2**70)):
        with pytest.raises(ValueError, match=argument) as info:
            set_parallelism(**{argument: value})
        errors[value] = str(info.value)
    # The messages, each with the value it quotes (the last number) left out.
    templates = {"<v>".join(message.rsplit(str(value), 1)) for value, message in errors.items()}
    assert len(templates) == 1, errors
    assert re.search(r"(?<!\d)1(?!\d)", templates.pop()), errors  # the least value: 1


def test_pure_mode_reports_what_set_parallelism_accepts() -> None:
    """With GOMASK_PURE=1 nothing is split, and get_parallelism() still
    reports settings that set_parallelism() takes back as they are."""
    code = textwrap.dedent(
        """
        import json
        from gomask.mask import get_parallelism, implementation, reset_parallelism, set_parallelism

        assert implementation() == "python"
        reports = []
        for settings in [{}, {"threshold": 5000}, {"workers": 3}, {"threshold": 1, "workers": 1}]:
            reset_parallelism()
            set_parallelism(**settings)
            reported = get_parallelism()
            try:
                set_parallelism(*reported)
                again = get_parallelism()
            except Exception as exc:
                again = repr(exc)
            again = again if isinstance(again, str) else list(again)
            reports.append([settings, list(reported), again])
        print("RESULT " + json.dumps(reports))
        """
    )
    reports = result_of(run_python(code, timeout=60, env={"GOMASK_PURE": "1"}))
    for settings, reported, again in reports:
        assert again == reported, (
            f"after set_parallelism({settings}): reports {reported}, then {again}"
        )
        if "threshold" in settings:
            assert reported[0] == settings["threshold"], (settings, reported)
        assert reported[1] == 1, (settings, reported)  # nothing is split
