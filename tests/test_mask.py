"""The public masking API: what each function promises besides the masked
bytes (tests/test_contract.py checks those over every kind of buffer and
size): results, Masker and wstx semantics, argument checking, pinning."""

from __future__ import annotations

import array
import ctypes
import itertools
import operator
import os
import sys
import threading

import pytest
from conftest import (
    PYPY,
    fast_spec,
    needs_go_library,
    needs_numpy,
    np,
    skip_on_313t_bytearray_race,
    spec_mask,
)
from hypothesis import given
from hypothesis import strategies as st

from gomask import mask as gm
from gomask.mask import Masker, mask, mask_batch, mask_inplace, unmask, wstx

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


# --- pins, references, threads, fork ---------------------------------------------------


def test_bytearray_is_not_left_pinned() -> None:
    buf = bytearray(100)
    mask_inplace(buf, b"abcd")
    mask(buf, b"abcd")
    buf.extend(b"more")  # no buffer export outlives the calls
    assert len(buf) == 104


@pytest.mark.skipif(not hasattr(sys, "getrefcount"), reason="no reference counts (PyPy)")
def test_no_reference_leaks() -> None:
    data = os.urandom(100)
    buf = bytearray(data)
    key = b"wxyz"
    refs = (sys.getrefcount(data), sys.getrefcount(buf), sys.getrefcount(key))
    for _ in range(1000):
        out = mask(data, key)
        mask_inplace(buf, key)
    assert sys.getrefcount(out) == 2  # `out` and the argument of getrefcount
    assert (sys.getrefcount(data), sys.getrefcount(buf), sys.getrefcount(key)) == refs


def shrink(buf: bytearray, n: int) -> None:
    """Remove the last n bytes of buf, waiting while a call pins it."""
    while True:
        try:
            del buf[-n:]
        except BufferError:
            continue
        return


@skip_on_313t_bytearray_race
def test_resizing_threads_do_not_break_in_place_masking() -> None:
    # mask_inplace() pins the bytearray for the call, so another thread
    # resizing it gets BufferError meanwhile: this must never crash, and
    # every call masks whole bytes (masking twice restores them). PyPy
    # cannot pin a bytearray, so gomask masks it there in Python, where a
    # resize in the middle of a call is a race like any other: the call may
    # raise IndexError, and the bytes it masked stay masked; it never
    # touches memory outside the buffer.
    buf = bytearray(b"\x00" * 1000)
    stop = threading.Event()
    raced = 0

    def resize() -> None:
        while not stop.is_set():
            try:
                buf.extend(b"\x00" * 64)
            except BufferError:  # pinned by a call
                continue
            shrink(buf, 64)

    worker = threading.Thread(target=resize)
    worker.start()
    try:
        for _ in range(20_000):
            for _ in range(2):
                try:
                    mask_inplace(buf, b"\x01\x02\x03\x04")
                except IndexError:
                    if not PYPY:
                        raise
                    raced += 1
    finally:
        stop.set()
        worker.join()
    if not raced:
        assert buf[:1000] == bytearray(1000)
    buf[:] = bytes(1000)
    mask_inplace(buf, b"\x01\x02\x03\x04")
    assert buf == spec_mask(bytes(1000), b"\x01\x02\x03\x04")


@skip_on_313t_bytearray_race
@pytest.mark.skipif(PYPY, reason="PyPy cannot pin a bytearray (gomask masks it in Python there)")
def test_large_bytearray_is_pinned_while_masked_without_the_gil() -> None:
    # From GIL_RELEASE_THRESHOLD on, the bytearray is masked without the GIL:
    # it is pinned meanwhile, so a resize from another thread raises
    # BufferError (or waits until the call returns), never frees the memory.
    size = 2 * gm.GIL_RELEASE_THRESHOLD
    data = os.urandom(size)
    buf = bytearray(data)
    stop = threading.Event()
    outcomes = {"resized": 0, "refused": 0}

    def resize() -> None:
        while not stop.is_set():
            try:
                buf.extend(b"\x00" * 4096)
            except BufferError:
                outcomes["refused"] += 1
                continue
            shrink(buf, 4096)
            outcomes["resized"] += 1

    worker = threading.Thread(target=resize)
    worker.start()
    try:
        for _ in range(200):
            mask_inplace(buf, b"\x01\x02\x03\x04")
            mask_inplace(buf, b"\x01\x02\x03\x04")
    finally:
        stop.set()
        worker.join()
    assert bytes(buf[:size]) == data
    assert outcomes["resized"] + outcomes["refused"] > 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fast_paths_work_in_a_forked_child() -> None:
    # The child loads its own copy of the library before its first call.
    key = b"\x11\x22\x33\x44"
    data = os.urandom(300)
    assert mask(data, key) == spec_mask(data, key)  # the parent has bound them
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        batch = mask_batch([data, data[:7]], key * 2)
        ok = mask(data, key) == spec_mask(data, key)
        ok = ok and batch == [spec_mask(data, key), spec_mask(data[:7], key)]
        buf = bytearray(data)
        mask_inplace(buf, key)
        ok = ok and buf == spec_mask(data, key)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@needs_numpy
@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[ms]"])
def test_numpy_dates_are_refused_with_a_type_error(dtype: str) -> None:
    """numpy exports no buffer for datetime64 and timedelta64 (memoryview()
    raises numpy's ValueError): every argument that takes bytes says
    TypeError, with the way out."""
    dates = np.zeros(4, dtype=dtype)
    calls = {
        "data": lambda: mask(dates, RFC_KEY),
        "buffer": lambda: mask_inplace(dates, RFC_KEY),
        "key": lambda: mask(b"abcd", dates[:1]),
        "chunk": lambda: Masker(RFC_KEY).process(dates),
        r"payloads\[0\]": lambda: mask_batch([dates], RFC_KEY),
        "keys": lambda: mask_batch([b"ab"], dates[:1]),
    }
    for name, call in calls.items():
        with pytest.raises(
            TypeError, match=rf"^{name} must be a bytes-like object.*view\('int64'\)"
        ):
            call()
    assert mask(dates.view("int64"), RFC_KEY) == spec_mask(dates.tobytes(), RFC_KEY)


def test_parallelism_settings_are_checked_against_size_t() -> None:
    """0 and negatives get one message; values a size_t cannot hold raise
    OverflowError naming the range, instead of wrapping around (2**64 + 1
    used to become 1); what get_parallelism() reports, set_parallelism()
    accepts."""
    before = gm.get_parallelism()
    size_max = 2 ** (8 * ctypes.sizeof(ctypes.c_size_t)) - 1
    try:
        for name in ("threshold", "workers"):
            messages = set()
            for value in (0, -1, -(2**70)):
                with pytest.raises(
                    ValueError, match=f"^{name}.* must be between 1 and {size_max}, got"
                ) as info:
                    gm.set_parallelism(**{name: value})
                messages.add(str(info.value).rsplit(" got ", 1)[0])
            assert len(messages) == 1
            for value in (size_max + 1, 2**64 + 1, 10**30):
                with pytest.raises(OverflowError, match=f"between 1 and {size_max}"):
                    gm.set_parallelism(**{name: value})
            assert gm.get_parallelism() == before
        gm.set_parallelism(threshold=size_max)
        assert gm.get_parallelism().threshold == size_max
        gm.set_parallelism(*gm.get_parallelism())
    finally:
        gm.set_parallelism(*before)


def test_pure_parallelism_reports_values_set_parallelism_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gm, "_GO_CPYTHON", False)
    monkeypatch.setattr(gm, "_GO_PYPY", False)
    monkeypatch.setattr(gm._native, "_split_request", (None, None))
    monkeypatch.setattr(gm._native, "loaded", None)
    reported = gm.get_parallelism()
    assert reported == (16 << 20, 1)
    gm.set_parallelism(*reported)
    gm.set_parallelism(threshold=5)
    assert gm.get_parallelism() == (5, 1)


@needs_go_library  # the PyPy route calls Go, forced here on any interpreter
def test_pypy_route_reentered_between_go_and_the_copy_keeps_its_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PyPy's route: Go writes into a buffer that Python copies out after
    the call. A call that re-enters on the same thread in between (a signal
    handler, a finalizer: Python code runs there) must not get that buffer.
    The route is forced here on any interpreter: the re-entry runs inside
    the copy-out itself."""
    monkeypatch.setattr(gm, "_GO_CPYTHON", False)
    monkeypatch.setattr(gm, "_GO_PYPY", True)
    copy_out = gm.string_at
    first = os.urandom(gm.PYPY_GO_MIN_SIZE + 100)
    other = os.urandom(gm.PYPY_GO_MIN_SIZE + 50)
    reentered: list[bytes] = []
    calls = []

    def reentering_copy_out(address: object, size: int) -> bytes:
        calls.append(size)
        if len(calls) == 1:  # the outer call: another one re-enters here
            reentered.append(mask(other, RFC_KEY[::-1]))
        return copy_out(address, size)

    monkeypatch.setattr(gm, "string_at", reentering_copy_out)
    assert mask(first, RFC_KEY) == fast_spec(first, RFC_KEY)
    assert reentered == [fast_spec(other, RFC_KEY[::-1])]


@needs_go_library  # the PyPy route calls Go, forced here on any interpreter
def test_pypy_route_makes_buffers_of_few_lengths(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyPy's ctypes keeps every array type it makes for good: the route's
    buffers come in a few lengths whatever the payloads' lengths, each at
    least the payload (results compared with the spec, through the copy-out
    of a buffer longer than the payload). The route is forced here on any
    interpreter."""
    monkeypatch.setattr(gm, "_GO_CPYTHON", False)
    monkeypatch.setattr(gm, "_GO_PYPY", True)
    largest = gm._PYPY_SCRATCH_MAX
    lengths = {len(gm._take_scratch(n)) for n in range(largest + 1, largest + 1 + 64 * 1024, 1021)}
    assert len(lengths) == 1
    assert min(lengths) > largest + 64 * 1024
    data = os.urandom(largest + 3)
    for n in (gm.PYPY_GO_MIN_SIZE + 1, 100_003, len(data)):
        assert len(gm._take_scratch(n)) >= n
        assert mask(data[:n], RFC_KEY) == fast_spec(data[:n], RFC_KEY)


def test_bad_input_is_named_before_a_first_call_loads_the_library(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The library is loaded before a call takes its export; on the first
    call, bad input is still named as such, not lost in a load (here one
    that fails)."""
    if gm.implementation() != "go" or not gm._GO_CPYTHON:
        pytest.skip("CPython's route into Go")

    def no_load() -> None:
        raise ImportError("the library is not loaded in this test")

    monkeypatch.setattr(gm._native, "loaded", None)
    monkeypatch.setattr(gm._native, "load", no_load)
    with pytest.raises(TypeError, match="data must be a bytes-like object"):
        mask(object(), RFC_KEY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be writable"):
        mask_inplace(b"read-only", RFC_KEY)
    with pytest.raises(ValueError, match="C-contiguous"):
        mask_inplace(memoryview(bytearray(8))[::2], RFC_KEY)
    with pytest.raises(ImportError, match="not loaded in this test"):
        mask(memoryview(b"good"), RFC_KEY)
