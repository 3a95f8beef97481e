"""mask_batch and the fast paths of mask()/mask_inplace(), against an
independent byte-by-byte implementation (conftest.spec_mask)."""

from __future__ import annotations

import array
import os
import sys
import threading

import pytest
from conftest import PYPY, np, skip_on_313t_bytearray_race, spec_mask
from hypothesis import given, settings
from hypothesis import strategies as st

from gomask import mask as gm
from gomask.mask import mask, mask_batch, mask_inplace

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


# --- the fast paths of mask() and mask_inplace() -----------------------------------------------


@pytest.mark.parametrize("n", range(12))
def test_short_payloads_every_length_and_offset(n: int) -> None:
    data = os.urandom(n)
    key = os.urandom(4)
    for offset in range(9):
        out = mask(data, key, offset)
        assert out == spec_mask(data, key, offset)
        assert type(out) is bytes


class BytesSub(bytes):
    pass


class BytearraySub(bytearray):
    pass


# Arguments that the inline paths of mask() (bytes, a 4-byte bytes key,
# offset 0) and mask_inplace() (a bytearray) leave to the general path;
# each with what the public function then does.
GENERAL: list[tuple[str, object, object, type[Exception] | None]] = [
    ("bytes subclass payload", BytesSub(b"hello world"), b"abcd", None),
    ("bytearray subclass payload", BytearraySub(b"hello world"), b"abcd", None),
    ("bytearray key", b"hello world", bytearray(b"abcd"), None),
    ("memoryview key", b"hello world", memoryview(b"abcd"), None),
    ("bytes subclass key", b"hello world", BytesSub(b"abcd"), None),
    ("3-byte key", b"hello world", b"abc", ValueError),
    ("5-byte key", b"hello world", b"abcde", ValueError),
    ("empty key", b"hello world", b"", ValueError),
    ("str key", b"hello world", "abcd", TypeError),
    ("int key", b"hello world", 0x61626364, TypeError),
    ("None key", b"hello world", None, TypeError),
    ("str payload", "hello world", b"abcd", TypeError),
    ("int payload", 12345, b"abcd", TypeError),
    ("None payload", None, b"abcd", TypeError),
]


@pytest.mark.parametrize(("name", "data", "key", "error"), GENERAL, ids=[d[0] for d in GENERAL])
def test_general_path_arguments(
    name: str, data: object, key: object, error: type[Exception] | None
) -> None:
    if error is not None:
        with pytest.raises(error, match=r"key|data|bytes"):
            mask(data, key)  # type: ignore[arg-type]
        with pytest.raises(error, match=r"key|buffer|bytes"):
            mask_inplace(data if type(data) is not bytes else bytearray(data), key)  # type: ignore[arg-type]
        return
    expected = spec_mask(bytes(data), bytes(key))  # type: ignore[call-overload]
    assert mask(data, key) == expected  # type: ignore[arg-type]
    buf = type(data)(data) if isinstance(data, bytearray) else bytearray(data)  # type: ignore[call-overload]
    mask_inplace(buf, key)  # type: ignore[arg-type]
    assert buf == expected


def test_short_results_are_fresh_objects() -> None:
    for n in range(1, 40):
        data = bytes(n)
        out = mask(data, b"\x01\x01\x01\x01")
        assert out == b"\x01" * n
        assert out is not data
    assert bytes(1) == b"\x00"
    assert bytes([1]) == b"\x01"


@given(data=st.binary(max_size=3000), key=keys, offset=offsets)
def test_bytearray_paths(data: bytes, key: bytes, offset: int) -> None:
    # mask() copies short bytearrays to bytes; mask_inplace() hands the
    # bytearray object itself to the library.
    expected = spec_mask(data, key, offset)
    buf = bytearray(data)
    assert mask(buf, key, offset) == expected
    assert buf == data
    mask_inplace(buf, key, offset)
    assert buf == expected


def test_bytearray_sizes_around_the_gil_threshold() -> None:
    key = os.urandom(4)
    for n in (0, 1, 4095, gm.GIL_RELEASE_THRESHOLD - 1, gm.GIL_RELEASE_THRESHOLD):
        data = os.urandom(n)
        buf = bytearray(data)
        mask_inplace(buf, key, 3)
        assert buf == spec_mask(data, key, 3)
        assert mask(bytearray(data), key, 1) == spec_mask(data, key, 1)


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 31, 32, 33, 1000, 70_000, 300_000])
@pytest.mark.parametrize("threshold", [0, 1, 64 * 1024])
def test_every_path_at_every_size(n: int, threshold: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # The size thresholds choose between zero-filled and uninitialised
    # results, keeping and releasing the GIL, Go and the JIT on PyPy: with
    # each moved, every call still takes one of them correctly.
    monkeypatch.setattr(gm, "GIL_RELEASE_THRESHOLD", threshold)
    monkeypatch.setattr(gm, "_ZEROED_MAX", threshold)
    monkeypatch.setattr(gm, "PYPY_GO_MIN_SIZE", threshold)
    monkeypatch.setattr(gm, "_PYPY_SCRATCH_MAX", threshold)
    data = os.urandom(n)
    key = os.urandom(4)
    for offset in (0, 1, 3):
        expected = spec_mask(data, key, offset)
        assert mask(data, key, offset) == expected
        assert mask(bytearray(data), key, offset) == expected
        assert mask(memoryview(data), key, offset) == expected
        buf = bytearray(data)
        mask_inplace(buf, key, offset)
        assert buf == expected
    assert mask_batch([data, data], key * 2) == [spec_mask(data, key)] * 2


def test_bytearray_subclass_takes_the_general_path() -> None:
    class Sub(bytearray):
        pass

    buf = Sub(b"hello world")
    mask_inplace(buf, b"abcd")
    assert bytes(buf) == spec_mask(b"hello world", b"abcd")


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
