"""The masking contract, as one table: every masking function, on every kind
of buffer, at the sizes around each of gomask.mask's cut-offs, with Go and
with the pure-Python implementation, against RFC 6455 computed independently
(conftest.fast_spec). A masker that is wrong anywhere fails here.

The cut-offs choose a route (a zero-filled or an uninitialised result,
keeping or releasing the GIL, the JIT or Go on PyPy, a thread's scratch
buffer or one of the call's own); the sizes on either side of each take both.
"""

from __future__ import annotations

import array
import ctypes
import itertools
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from conftest import fast_spec, np

from gomask import mask as gm
from gomask.mask import Masker, mask, mask_batch, mask_inplace

#: Every size cut-off of gomask.mask, by name.
CUT_OFFS = {
    "zero-filled results": gm._ZEROED_MAX,
    "GIL released": gm.GIL_RELEASE_THRESHOLD,
    "Go on PyPy": gm.PYPY_GO_MIN_SIZE,
    "PyPy's scratch buffer": gm._PYPY_SCRATCH_MAX,
    "mask_batch, a call each": gm._BATCH_MEAN_MAX,
}
SIZES = sorted({0, 1, 3, 4, 5, 33} | {c + d for c in CUT_OFFS.values() for d in (-1, 0, 1)})
KEY = bytes.fromhex("a1b2c3d4")


class Kind(NamedTuple):
    """A kind of buffer: how to make one holding given bytes, and what it allows."""

    name: str
    make: Callable[[bytes], Any]
    writable: bool = True
    #: Its size in bytes must be a multiple of this (multi-byte items).
    itemsize: int = 1


class BytesSub(bytes):
    pass


class BytearraySub(bytearray):
    pass


def _spread(data: bytes) -> memoryview:
    """A non-contiguous view whose bytes are *data*: every other byte of a buffer."""
    buf = bytearray(2 * len(data))
    buf[::2] = data
    return memoryview(buf)[::2]


KINDS = [
    Kind("bytes", bytes, writable=False),
    Kind("bytes subclass", BytesSub, writable=False),
    Kind("bytearray", bytearray),
    Kind("bytearray subclass", BytearraySub),
    Kind("memoryview of bytes", lambda d: memoryview(d), writable=False),
    Kind("memoryview of bytearray", lambda d: memoryview(bytearray(d))),
    Kind("non-contiguous memoryview", _spread),
    Kind("array of bytes", lambda d: array.array("B", d)),
    Kind("array of 32-bit items", lambda d: array.array("I", d), itemsize=4),
    Kind("ctypes array", lambda d: (ctypes.c_char * len(d)).from_buffer_copy(d)),
]
if np is not None:
    KINDS += [
        Kind("numpy uint8", lambda d: np.frombuffer(d, np.uint8).copy()),
        Kind("numpy read-only", lambda d: np.frombuffer(d, np.uint8), writable=False),
        Kind("numpy float64", lambda d: np.frombuffer(d, np.float64).copy(), itemsize=8),
    ]


def _octets(obj: Any) -> bytes:
    with memoryview(obj) as view:
        return view.tobytes()


@pytest.fixture(params=["go", "pure"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Go as this interpreter calls it, or the pure-Python implementation."""
    if request.param == "go":
        if gm.implementation() != "go":
            pytest.skip("gomask runs its pure-Python implementation here")
    else:
        monkeypatch.setattr(gm, "_GO_CPYTHON", False)
        monkeypatch.setattr(gm, "_GO_PYPY", False)
        assert gm.implementation() == "python"
    return request.param


def _payload(kind: Kind, size: int) -> bytes:
    if size % kind.itemsize:
        pytest.skip(f"{kind.name} holds whole {kind.itemsize}-byte items")
    return os.urandom(size)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_mask(implementation: str, kind: Kind, size: int) -> None:
    data = _payload(kind, size)
    obj = kind.make(data)
    for offset in (0, 1, 3, 6):
        out = mask(obj, KEY, offset)
        assert type(out) is bytes
        assert out == fast_spec(data, KEY, offset)
    assert _octets(obj) == data  # untouched


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_mask_inplace(implementation: str, kind: Kind, size: int) -> None:
    data = _payload(kind, size)
    obj = kind.make(data)
    if not kind.writable:
        with pytest.raises(TypeError, match="must be writable"):
            mask_inplace(obj, KEY)
        return
    if not memoryview(obj).c_contiguous:  # a view of one byte or none is contiguous
        with pytest.raises(ValueError, match="C-contiguous"):
            mask_inplace(obj, KEY)
        return
    assert mask_inplace(obj, KEY, 1) is None
    assert _octets(obj) == fast_spec(data, KEY, 1)
    mask_inplace(obj, KEY, 5)  # 5 % 4 == 1: the same stream position, so undone
    assert _octets(obj) == data


@pytest.mark.parametrize("size", SIZES)
def test_masker_over_every_kind(implementation: str, size: int) -> None:
    """One payload in chunks of every kind (and of uneven sizes) equals the
    whole payload masked, copying and in place."""
    data = os.urandom(size)
    cuts = sorted({0, size, size // 3, size // 3 + 1, size // 2, max(size - 5, 0)})
    pieces = [data[a:b] for a, b in itertools.pairwise(cuts)]
    whole = fast_spec(data, KEY, 2)
    copying, in_place = Masker(KEY, 2), Masker(KEY, 2)
    out, back = [], []
    for i, piece in enumerate(pieces):
        kind = KINDS[i % len(KINDS)]
        if len(piece) % kind.itemsize:
            kind = KINDS[2]  # bytearray
        out.append(copying.process(kind.make(piece)))
        buf = bytearray(piece)
        in_place.process_inplace(buf)
        back.append(bytes(buf))
    assert b"".join(out) == b"".join(back) == whole
    assert copying.position == in_place.position == (2 + size) % 4


@pytest.mark.parametrize("size", SIZES)
def test_mask_batch_over_every_kind(implementation: str, size: int) -> None:
    payloads = []
    for kind in KINDS:
        n = size - size % kind.itemsize
        payloads.append(kind.make(os.urandom(n)))
    keys = os.urandom(4 * len(payloads))
    want = [fast_spec(_octets(p), keys[4 * i : 4 * i + 4]) for i, p in enumerate(payloads)]
    assert mask_batch(payloads, keys) == want
    key_list = [keys[4 * i : 4 * i + 4] for i in range(len(payloads))]
    assert mask_batch(payloads, key_list) == want


@pytest.mark.parametrize("size", [(512 << 10) - 1, 512 << 10, (4 << 20) + 3])
def test_split_over_goroutines(implementation: str, size: int) -> None:
    """Buffers split over goroutines (the split threshold moved down to
    reach them) are masked as whole ones."""
    gm.set_parallelism(threshold=1)
    try:
        data = os.urandom(size)
        assert mask(data, KEY, 3) == fast_spec(data, KEY, 3)
        buf = bytearray(data)
        mask_inplace(buf, KEY, 2)
        assert buf == fast_spec(data, KEY, 2)
    finally:
        gm.reset_parallelism()
