"""The public masking API against the byte-by-byte specification."""

from __future__ import annotations

import array
import itertools
import operator
import os

import pytest
from conftest import PYPY, fast_spec, needs_numpy, np, spec_mask
from hypothesis import given, settings
from hypothesis import strategies as st

from gomask import mask as gm
from gomask.mask import Masker, mask, mask_inplace, unmask, wstx

RFC_KEY = bytes.fromhex("37fa213d")

keys = st.binary(min_size=4, max_size=4)
offsets = st.integers(min_value=0, max_value=2**70)
payloads = st.binary(max_size=5000)


def test_rfc6455_example() -> None:
    # RFC 6455 section 5.7: a single-frame masked text message "Hello".
    assert mask(b"Hello", RFC_KEY) == bytes.fromhex("7f9f4d5158")
    assert unmask(bytes.fromhex("7f9f4d5158"), RFC_KEY) == b"Hello"


def test_unmask_is_mask() -> None:
    assert unmask is mask


def test_empty() -> None:
    assert mask(b"", RFC_KEY) == b""
    assert mask(bytearray(), RFC_KEY, 3) == b""
    buf = bytearray()
    mask_inplace(buf, RFC_KEY)
    assert buf == bytearray()


def test_result_is_new_bytes_and_input_untouched() -> None:
    data = bytes(range(256)) * 10
    before = bytes(data)
    out = mask(data, RFC_KEY)
    assert type(out) is bytes
    assert out is not data
    assert data == before


def test_one_byte_results_are_fresh_objects() -> None:
    # CPython caches 1-byte bytes objects; writing into one would corrupt
    # every b"x" in the process. Each result must be a new object.
    first = mask(b"x", RFC_KEY)
    second = mask(b"y", RFC_KEY)
    assert (first, second) == (spec_mask(b"x", RFC_KEY), spec_mask(b"y", RFC_KEY))
    assert bytes([0x78]) == b"x"
    assert bytes([0x79]) == b"y"


@pytest.mark.parametrize(
    "n", [*range(0, 300), 1023, 1024, 1025, 4095, 4096, 4097, 65535, 65536, 65537]
)
def test_every_length_and_offset(n: int) -> None:
    data = os.urandom(n)
    key = os.urandom(4)
    for offset in range(5):
        assert mask(data, key, offset) == spec_mask(data, key, offset)


@pytest.mark.parametrize(
    "n", [16 * 1024 - 1, 16 * 1024, 1 << 20, (4 << 20) - 1, 4 << 20, (4 << 20) + 5, 9 << 20]
)
def test_large_sizes_around_thresholds(n: int) -> None:
    data = os.urandom(n)
    key = os.urandom(4)
    offset = n % 4
    expected = fast_spec(data, key, offset)
    assert mask(data, key, offset) == expected
    buf = bytearray(data)
    mask_inplace(buf, key, offset)
    assert buf == expected


@given(data=payloads, key=keys, offset=offsets)
def test_mask_matches_spec(data: bytes, key: bytes, offset: int) -> None:
    assert mask(data, key, offset) == spec_mask(data, key, offset)


@given(data=payloads, key=keys, offset=offsets)
def test_involution(data: bytes, key: bytes, offset: int) -> None:
    assert mask(mask(data, key, offset), key, offset) == data
    buf = bytearray(data)
    mask_inplace(buf, key, offset)
    mask_inplace(buf, key, offset)
    assert buf == data


@given(data=payloads, key=keys, offset=offsets, start=st.integers(0, 7), stop=st.integers(0, 7))
def test_inplace_on_memoryview_slice_touches_only_the_slice(
    data: bytes, key: bytes, offset: int, start: int, stop: int
) -> None:
    guard = b"\xa5" * 8
    buf = bytearray(guard + data + guard)
    view = memoryview(buf)[8 - start : len(buf) - 8 + stop]
    inner = bytes(view)
    mask_inplace(view, key, offset)
    assert bytes(view) == spec_mask(inner, key, offset)
    assert buf[: 8 - start] == guard[: 8 - start]
    assert buf[len(buf) - 8 + stop :] == guard[stop:]


def _buffer_kinds(data: bytes) -> list[object]:
    kinds: list[object] = [
        data,
        bytearray(data),
        memoryview(data),
        memoryview(bytearray(data)),
    ]
    if len(data) % 4 == 0:
        kinds.append(array.array("I", data))
    if len(data) % 2 == 0:
        kinds.append(array.array("H", data))
    if np is not None:
        kinds.append(np.frombuffer(data, dtype=np.uint8))
        kinds.append(np.frombuffer(data, dtype=np.uint8).copy())
        if len(data) % 4 == 0:
            kinds.append(np.frombuffer(data, dtype=np.uint32).copy())
        if len(data) % 6 == 0 and data:
            kinds.append(np.frombuffer(data, dtype=np.uint8).copy().reshape(2, -1))
    return kinds


@given(data=st.binary(max_size=600), key=keys, offset=offsets)
@settings(max_examples=60)
def test_mask_accepts_every_buffer_kind(data: bytes, key: bytes, offset: int) -> None:
    expected = spec_mask(data, key, offset)
    for obj in _buffer_kinds(data):
        assert mask(obj, key, offset) == expected, type(obj)


@given(data=st.binary(max_size=600), key=keys, offset=offsets)
@settings(max_examples=60)
def test_mask_inplace_on_every_writable_kind(data: bytes, key: bytes, offset: int) -> None:
    expected = spec_mask(data, key, offset)
    for obj in _buffer_kinds(data):
        if memoryview(obj).readonly:  # type: ignore[arg-type]
            continue
        mask_inplace(obj, key, offset)  # type: ignore[arg-type]
        assert memoryview(obj).tobytes() == expected, type(obj)  # type: ignore[arg-type]


@given(data=st.binary(max_size=2000), key=keys, offset=offsets, step=st.integers(1, 5))
def test_mask_non_contiguous(data: bytes, key: bytes, offset: int, step: int) -> None:
    strided = memoryview(data)[::step]
    assert mask(strided, key, offset) == spec_mask(data[::step], key, offset)
    if np is not None:
        arr = np.frombuffer(data, np.uint8)[::step]
        assert mask(arr, key, offset) == spec_mask(data[::step], key, offset)


@needs_numpy
def test_mask_fortran_order_array_uses_memory_order() -> None:
    arr = np.asfortranarray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    # A non-C-contiguous array is masked in C (logical) order, as bytes(memoryview) sees it.
    assert mask(arr, RFC_KEY) == spec_mask(memoryview(arr).tobytes(), RFC_KEY)


@given(
    data=st.binary(max_size=5000),
    key=keys,
    cuts=st.lists(st.integers(0, 5000), max_size=8),
    offset=offsets,
)
def test_masker_chunking_equals_whole(
    data: bytes, key: bytes, cuts: list[int], offset: int
) -> None:
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    expected = spec_mask(data, key, offset)

    masker = Masker(key, offset)
    assert b"".join(masker.process(c) for c in chunks) == expected
    assert masker.position == (offset + len(data)) % 4

    inplace = Masker(bytearray(key), offset)
    out = bytearray()
    for chunk in chunks:
        buf = bytearray(chunk)
        inplace.process_inplace(buf)
        out += buf
    assert out == expected


def test_masker_reset_and_repr() -> None:
    masker = Masker(RFC_KEY)
    masker.process(b"abc")
    assert masker.position == 3
    masker.reset()
    assert masker.position == 0
    assert masker.process(b"Hello") == bytes.fromhex("7f9f4d5158")
    masker.reset(6)
    assert masker.position == 2
    assert masker.key == RFC_KEY
    assert "position=2" in repr(masker)


def _seed_websocket_transform(key: int, data: bytearray) -> int:
    """The demo's Go algorithm (SEED.md), transcribed: 4 bytes at a time
    with the big-endian key, then the tail byte by byte, rotating the key
    left by 8 bits after each tail byte."""
    i = 0
    n = len(data)
    while i + 4 <= n:
        word = int.from_bytes(data[i : i + 4], "big") ^ key
        data[i : i + 4] = word.to_bytes(4, "big")
        i += 4
    while i < n:
        data[i] ^= key >> 24
        key = ((key << 8) | (key >> 24)) & 0xFFFFFFFF
        i += 1
    return key


@given(data=st.binary(max_size=300), key=st.integers(0, 0xFFFFFFFF))
def test_wstx_matches_the_demo_algorithm(data: bytes, key: int) -> None:
    expected = bytearray(data)
    expected_key = _seed_websocket_transform(key, expected)
    buf = bytearray(data)
    assert wstx(key, buf) == expected_key
    assert buf == expected


@given(data=st.binary(max_size=3000), key=st.integers(0, 0xFFFFFFFF), cut=st.integers(0, 3000))
def test_wstx_continues_the_stream(data: bytes, key: int, cut: int) -> None:
    cut %= len(data) + 1
    first, second = bytearray(data[:cut]), bytearray(data[cut:])
    wstx(wstx(key, first), second)
    assert first + second == spec_mask(data, key.to_bytes(4, "big"))


# --- bad input: a clear exception before anything reaches Go ---------------

BAD_DATA = ["text", None, 42, 4.2, object(), [1, 2, 3]]


@pytest.mark.parametrize("bad", BAD_DATA, ids=repr)
def test_mask_rejects_non_buffers(bad: object) -> None:
    with pytest.raises(TypeError, match="bytes-like"):
        mask(bad, RFC_KEY)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mask_inplace(bad, RFC_KEY)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Masker(RFC_KEY).process(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wstx(1, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad_key", ["abcd", None, 1234, 1.5, [1, 2, 3, 4]], ids=repr)
def test_key_must_be_bytes_like(bad_key: object) -> None:
    with pytest.raises(TypeError, match="key"):
        mask(b"data", bad_key)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key"):
        mask_inplace(bytearray(b"data"), bad_key)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key"):
        Masker(bad_key)  # type: ignore[arg-type]


@pytest.mark.parametrize("length", [0, 1, 3, 5, 16])
def test_key_must_be_four_bytes(length: int) -> None:
    with pytest.raises(ValueError, match="exactly 4 bytes"):
        mask(b"data", b"k" * length)
    with pytest.raises(ValueError, match="exactly 4 bytes"):
        mask_inplace(bytearray(b"data"), bytearray(length))


def test_key_kinds() -> None:
    expected = mask(b"payload", RFC_KEY)
    kinds: list[object] = [bytearray(RFC_KEY), memoryview(RFC_KEY), array.array("B", RFC_KEY)]
    if np is not None:
        kinds.append(np.frombuffer(RFC_KEY, np.uint8))
    for key in kinds:
        assert mask(b"payload", key) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("offset", [-1, -(2**70)])
def test_negative_offset(offset: int) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        mask(b"data", RFC_KEY, offset)
    with pytest.raises(ValueError, match="non-negative"):
        mask_inplace(bytearray(b"data"), RFC_KEY, offset)
    with pytest.raises(ValueError, match="non-negative"):
        Masker(RFC_KEY, offset)


@pytest.mark.parametrize("offset", [1.0, "1", None, b"\x01"])
def test_offset_must_be_int(offset: object) -> None:
    with pytest.raises(TypeError, match="offset"):
        mask(b"data", RFC_KEY, offset)  # type: ignore[arg-type]


def test_offset_accepts_what_operator_index_accepts() -> None:
    class Index:
        def __index__(self) -> int:
            return 5

    for offset in (Index(), True, 5):
        expected = spec_mask(b"data", RFC_KEY, int(operator.index(offset)))
        assert mask(b"data", RFC_KEY, offset) == expected  # type: ignore[arg-type]
        buf = bytearray(b"data")
        mask_inplace(buf, RFC_KEY, offset)  # type: ignore[arg-type]
        assert buf == expected
    if np is not None:
        assert mask(b"data", RFC_KEY, np.int64(5)) == spec_mask(b"data", RFC_KEY, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "readonly",
    [b"data", memoryview(bytearray(b"data")).toreadonly(), memoryview(b"data")],
    ids=["bytes", "readonly-memoryview", "memoryview-of-bytes"],
)
def test_inplace_rejects_read_only(readonly: object) -> None:
    with pytest.raises(TypeError, match="read-only"):
        mask_inplace(readonly, RFC_KEY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="read-only"):
        wstx(1, readonly)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="read-only"):
        Masker(RFC_KEY).process_inplace(readonly)  # type: ignore[arg-type]


def test_inplace_rejects_non_contiguous() -> None:
    buf = bytearray(b"0123456789")
    with pytest.raises(ValueError, match="contiguous"):
        mask_inplace(memoryview(buf)[::2], RFC_KEY)
    if np is not None:
        with pytest.raises(ValueError, match="contiguous"):
            mask_inplace(np.zeros((4, 4), np.uint8).T, RFC_KEY)
    assert buf == bytearray(b"0123456789")


@pytest.mark.parametrize("key", [-1, 2**32, 2**64])
def test_wstx_key_range(key: int) -> None:
    with pytest.raises(ValueError, match="0xFFFFFFFF"):
        wstx(key, bytearray(4))


@pytest.mark.parametrize("key", [b"\x00\x00\x00\x01", 1.0, None, "1"])
def test_wstx_key_type(key: object) -> None:
    with pytest.raises(TypeError, match="key must be an integer"):
        wstx(key, bytearray(4))  # type: ignore[arg-type]


def test_wstx_key_accepts_index_types() -> None:
    buf = bytearray(b"abcd")
    assert wstx(True, buf) == 1
    assert buf == spec_mask(b"abcd", b"\x00\x00\x00\x01")


@pytest.mark.skipif(PYPY, reason="PyPy cannot pin a bytearray: gomask never hands one to Go there")
def test_the_pin_of_in_place_calls_blocks_resizing() -> None:
    # The in-place path holds this buffer export during the Go call; a
    # resize attempt meanwhile raises BufferError instead of freeing the
    # memory Go writes.
    buf = bytearray(100)
    pinned = gm._pin(buf)
    with pytest.raises(BufferError):
        buf.extend(b"x")
    del pinned
    buf.extend(b"x")  # released afterwards
    assert len(buf) == 101


@pytest.mark.skipif(gm.implementation() != "go", reason="splitting is the Go library's")
def test_parallelism_settings_roundtrip() -> None:
    from gomask import _native

    max_workers = _native.library().build_info()["max_workers"]
    before = gm.get_parallelism()
    try:
        gm.set_parallelism(threshold=1 << 20, workers=2)
        assert gm.get_parallelism() == (1 << 20, min(2, max_workers))
        gm.set_parallelism(workers=1000)  # reported as what is used: at most the CPUs
        assert gm.get_parallelism() == (1 << 20, max_workers)
        data = os.urandom((3 << 20) + 3)
        for workers in (1, 2, max_workers):
            gm.set_parallelism(workers=workers)
            for _ in range(3):
                assert mask(data, RFC_KEY, 1) == fast_spec(data, RFC_KEY, 1)
                buf = bytearray(data)
                mask_inplace(buf, RFC_KEY, 2)
                assert buf == fast_spec(data, RFC_KEY, 2)
        gm.set_parallelism(threshold=5)
        assert gm.get_parallelism().threshold == 5
        with pytest.raises(ValueError, match="workers"):
            gm.set_parallelism(workers=0)
        with pytest.raises(ValueError, match="threshold"):
            gm.set_parallelism(threshold=-1)
        with pytest.raises(ValueError, match="threshold"):
            gm.set_parallelism(threshold=0)
        with pytest.raises(TypeError, match="workers"):
            gm.set_parallelism(workers=1.5)  # type: ignore[arg-type]
    finally:
        gm.set_parallelism(*before)
    assert gm.get_parallelism() == before
