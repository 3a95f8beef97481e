"""mask_batch takes its payloads and keys once, and keeps the caller's errors.

The payloads, their lengths and the keys Go reads are one snapshot: code of
the caller's that runs during validation (a generator of keys, a __buffer__
hook) and changes the list of payloads must not make Go read more key bytes
than there are (the result would hold a payload masked with bytes from past
the keys). And an exception raised inside the caller's own iterable comes
out as itself, or chained, not replaced by a message about the iterable's
type.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from conftest import spec_mask

from gomask.mask import mask_batch

KEYS = [bytes.fromhex("37fa213d"), bytes.fromhex("5a0c9e61"), bytes.fromhex("01020304")]


def _payloads() -> list[bytes]:
    return [b"first payload", b"the second payload", b"third"]


def _expected(payloads: list[bytes]) -> list[bytes]:
    return [spec_mask(p, k) for p, k in zip(payloads, KEYS, strict=True)]


def _split_second(payloads: list[bytes]) -> None:
    """One more payload, the same bytes in all: the joined payloads keep their
    size. Once per list (a hook may be called again)."""
    if len(payloads[1]) > 4:
        payloads[1:2] = [payloads[1][:4], payloads[1][4:]]


def _as_given_or_refused(payloads: list[bytes], keys: object) -> None:
    before = list(payloads)
    try:
        result = mask_batch(payloads, keys)  # type: ignore[arg-type]
    except ValueError:
        return  # refused: the number of keys no longer matches, say
    assert result == _expected(before), (
        f"{len(result)} results for the {len(before)} payloads and keys given"
    )


def test_key_generator_that_changes_the_payloads() -> None:
    payloads = _payloads()

    def keys() -> Iterator[bytes]:
        for i, key in enumerate(KEYS):
            if i == 1:
                _split_second(payloads)
            yield key

    _as_given_or_refused(payloads, keys())


def test_key_list_whose_key_changes_the_payloads() -> None:
    """A list of keys whose iteration (the caller's code) changes the payloads."""
    payloads = _payloads()

    class Keys(list):  # type: ignore[type-arg]
        def __iter__(self) -> Iterator[bytes]:
            _split_second(payloads)
            return super().__iter__()

    _as_given_or_refused(payloads, Keys(KEYS))


needs_buffer_hooks = pytest.mark.skipif(
    sys.version_info < (3, 12) or sys.implementation.name != "cpython",
    reason="Python classes implement the buffer protocol (__buffer__) from CPython 3.12",
)


@needs_buffer_hooks
def test_packed_keys_whose_buffer_hook_changes_the_payloads() -> None:
    payloads = _payloads()

    class Packed:
        def __buffer__(self, flags: int) -> memoryview:
            _split_second(payloads)
            return memoryview(b"".join(KEYS))

    _as_given_or_refused(payloads, Packed())


@needs_buffer_hooks
def test_payload_whose_buffer_hook_changes_the_payloads() -> None:
    payloads: list[object] = list(_payloads())

    class Hooked:
        def __buffer__(self, flags: int) -> memoryview:
            _split_second(payloads)  # type: ignore[arg-type]
            return memoryview(b"hooked")

    payloads.append(Hooked())
    keys = [*KEYS, KEYS[0]]
    before = [bytes(p) if isinstance(p, bytes) else b"hooked" for p in payloads]
    try:
        result = mask_batch(payloads, keys)  # type: ignore[arg-type]
    except ValueError:
        return
    assert result == [spec_mask(p, k) for p, k in zip(before, keys, strict=True)]


class CallersError(TypeError):
    """The caller's own error."""


def _chain(exc: BaseException) -> list[BaseException]:
    """*exc* and the exceptions it shows as its cause or context."""
    chain = [exc]
    while True:
        nxt = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if nxt is None or nxt in chain:
            return chain
        chain.append(nxt)
        exc = nxt


@pytest.mark.parametrize("where", ["payloads", "keys"])
@pytest.mark.parametrize("error", [CallersError, ValueError, KeyError])
def test_the_callers_own_error_comes_out(where: str, error: type[Exception]) -> None:
    """A TypeError (or any error) raised inside the caller's generator of
    payloads or keys propagates as itself or chained, never suppressed."""
    payloads = _payloads()

    def failing(values: list[bytes]) -> Iterator[bytes]:
        yield values[0]
        raise error("raised by the caller's generator")

    args = (failing(payloads), KEYS) if where == "payloads" else (payloads, failing(KEYS))
    with pytest.raises(Exception) as info:  # noqa: PT011 - which one is the point
        mask_batch(*args)
    chain = _chain(info.value)
    assert any(type(e) is error and "caller's generator" in str(e) for e in chain), (
        f"{where}: got {info.value!r}; the caller's {error.__name__} is not in its chain"
    )
