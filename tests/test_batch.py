"""mask_batch against an independent byte-by-byte implementation
(conftest.spec_mask): keys packed and listed, errors, inputs left alone."""

from __future__ import annotations

import array
import os

import pytest
from conftest import np, spec_mask
from hypothesis import given, settings
from hypothesis import strategies as st

from gomask import mask as gm
from gomask.mask import mask_batch

keys = st.binary(min_size=4, max_size=4)
offsets = st.integers(min_value=0, max_value=2**40)
payload_lists = st.lists(st.binary(max_size=300), max_size=40)


def expected_batch(payloads: list[bytes], key_list: list[bytes]) -> list[bytes]:
    return [spec_mask(p, k) for p, k in zip(payloads, key_list, strict=True)]


def split_keys(packed: bytes) -> list[bytes]:
    return [packed[i : i + 4] for i in range(0, len(packed), 4)]


# --- mask_batch ----------------------------------------------------------------------------


@given(payloads=payload_lists, data=st.data())
def test_batch_with_packed_keys(payloads: list[bytes], data: st.DataObject) -> None:
    packed = data.draw(st.binary(min_size=4 * len(payloads), max_size=4 * len(payloads)))
    result = mask_batch(payloads, packed)
    assert result == expected_batch(payloads, split_keys(packed))
    assert all(type(r) is bytes for r in result)


@given(payloads=payload_lists, data=st.data())
def test_batch_with_a_key_list(payloads: list[bytes], data: st.DataObject) -> None:
    key_list = data.draw(st.lists(keys, min_size=len(payloads), max_size=len(payloads)))
    assert mask_batch(payloads, key_list) == expected_batch(payloads, key_list)
    # Any iterables: a generator of payloads, a tuple of bytearray keys.
    as_bytearrays = tuple(bytearray(k) for k in key_list)
    assert mask_batch(iter(payloads), as_bytearrays) == expected_batch(payloads, key_list)


@given(payloads=payload_lists, data=st.data())
@settings(max_examples=50)
def test_batch_accepts_every_buffer_kind(payloads: list[bytes], data: st.DataObject) -> None:
    packed = data.draw(st.binary(min_size=4 * len(payloads), max_size=4 * len(payloads)))
    kinds: list[object] = []
    for i, p in enumerate(payloads):
        choice = i % 5
        if choice == 0:
            kinds.append(bytearray(p))
        elif choice == 1:
            kinds.append(memoryview(p))
        elif choice == 2 and len(p) % 2 == 0:
            kinds.append(array.array("H", p))  # len() counts items, not bytes
        elif choice == 3 and len(p) % 4 == 0:
            kinds.append(array.array("I", p) if np is None else np.frombuffer(p, dtype=np.uint32))
        else:
            kinds.append(p)
    assert mask_batch(kinds, bytearray(packed)) == expected_batch(payloads, split_keys(packed))


def test_batch_non_contiguous_payloads() -> None:
    data = os.urandom(301)
    packed = os.urandom(8)
    strided = [memoryview(data)[::3], memoryview(data)[1::2]]
    assert mask_batch(strided, packed) == [
        spec_mask(data[::3], packed[:4]),
        spec_mask(data[1::2], packed[4:]),
    ]


@pytest.mark.parametrize("size", [1, 125, 5000, 70_000])
def test_batch_many_and_large(size: int) -> None:
    # Totals below and above GIL_RELEASE_THRESHOLD.
    count = max(1, 300_000 // size)
    payloads = [os.urandom(size - i % 2) for i in range(count)]
    packed = os.urandom(4 * count)
    result = mask_batch(payloads, packed)
    key_list = split_keys(packed)
    for i in range(0, count, max(1, count // 50)):
        assert result[i] == spec_mask(payloads[i], key_list[i])


def test_batch_empty_and_edge_cases() -> None:
    assert mask_batch([], b"") == []
    assert mask_batch([], []) == []
    assert mask_batch([b""], b"abcd") == [b""]
    assert mask_batch([b"", b"", b""], [b"abcd"] * 3) == [b"", b"", b""]
    one = mask_batch([b"x"], b"\x01\x02\x03\x04")
    assert one == [b"y"]
    assert bytes([0x78]) == b"x"  # no cached 1-byte object was written into


def test_batch_leaves_inputs_alone() -> None:
    payloads = [bytes(range(50)), bytearray(range(60))]
    before = [bytes(p) for p in payloads]
    packed = bytearray(b"\x10\x20\x30\x40\x50\x60\x70\x80")
    results = mask_batch(payloads, packed)
    assert [bytes(p) for p in payloads] == before
    assert packed == bytearray(b"\x10\x20\x30\x40\x50\x60\x70\x80")
    assert all(r is not p for r, p in zip(results, payloads, strict=True))
    # A single whole payload is still a new object.
    only = bytes(range(10))
    assert mask_batch([only], b"\0\0\0\0")[0] is not only


@pytest.mark.parametrize(
    ("payloads", "key_arg", "error", "message"),
    [
        ([b"ab"], b"abc", ValueError, "4 bytes per payload"),
        ([b"ab"], b"abcdabcd", ValueError, "4 bytes per payload"),
        ([b"ab", b"cd"], [b"abcd"], ValueError, "one key per payload: 2 payloads, 1 key"),
        ([b"ab"], [b"abc"], ValueError, r"keys\[0\]"),
        ([b"ab", b"cd"], [b"abcd", "abcd"], TypeError, r"keys\[1\]"),
        ([b"ab"], [1234], TypeError, r"keys\[0\]"),
        ([b"ab"], "abcd", TypeError, "keys must be"),
        ([b"ab"], None, TypeError, "keys must be"),
        ([b"ab"], 1234, TypeError, "keys must be"),
        ([b"ab"], 1.5, TypeError, "keys must be"),
        ([b"ab", "cd"], b"abcdabcd", TypeError, r"payloads\[1\]"),
        ([None], b"abcd", TypeError, r"payloads\[0\]"),
        ([b"ab", 5], b"abcdabcd", TypeError, r"payloads\[1\]"),
        ([object()], b"abcd", TypeError, r"payloads\[0\]"),
    ],
)
def test_batch_rejects_bad_input(
    payloads: list[object], key_arg: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        mask_batch(payloads, key_arg)  # type: ignore[arg-type]


def test_batch_rejects_non_iterables() -> None:
    with pytest.raises(TypeError):
        mask_batch(5, b"abcd")  # type: ignore[arg-type]


def test_batch_is_exported() -> None:
    assert "mask_batch" in gm.__all__


def test_batch_in_groups_and_one_call_each() -> None:
    """Payloads averaging under _BATCH_MEAN_MAX are joined in groups of up to
    _BATCH_GROUP_MAX bytes (a larger payload alone), from there masked with a
    call each: every payload is masked with its own key whichever way."""
    sizes = [0, 1, 700, gm._BATCH_GROUP_MAX + 5, 3, 2000, gm._BATCH_GROUP_MAX, 9]
    sizes += [999] * 150 + [gm._BATCH_GROUP_MAX - 1, 1]
    for payload_sizes in (sizes, [gm._BATCH_MEAN_MAX] * 3, [gm._BATCH_MEAN_MAX - 1] * 20):
        payloads = [os.urandom(n) for n in payload_sizes]
        packed = os.urandom(4 * len(payloads))
        assert mask_batch(payloads, packed) == expected_batch(payloads, split_keys(packed))


class CallersOwnError(TypeError):
    pass


def test_batch_keeps_the_callers_own_error() -> None:
    """A TypeError raised inside the caller's generator is the caller's, not
    a sign that the argument is not iterable: it propagates as it is."""

    def failing(items: list[bytes]) -> object:
        yield from items
        raise CallersOwnError("raised by the caller's generator")

    with pytest.raises(CallersOwnError, match="the caller's generator"):
        mask_batch(failing([b"ab", b"cd"]), b"abcdabcd")
    with pytest.raises(CallersOwnError, match="the caller's generator"):
        mask_batch([b"ab", b"cd"], failing([b"abcd", b"efgh"]))

    def plain_type_error() -> object:
        yield b"ab"
        raise TypeError("a TypeError of the caller's")

    with pytest.raises(TypeError, match="a TypeError of the caller's"):
        mask_batch(plain_type_error(), b"abcd")
    with pytest.raises(TypeError, match="a TypeError of the caller's"):
        mask_batch([b"ab"], plain_type_error())


def test_batch_names_what_is_not_iterable() -> None:
    with pytest.raises(TypeError, match="payloads must be an iterable of bytes-like objects"):
        mask_batch(5, b"abcd")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="keys must be a bytes-like object or an iterable"):
        mask_batch([b"ab"], object())  # type: ignore[arg-type]
