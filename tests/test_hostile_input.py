"""Hostile input: every public function rejects what it cannot take, cleanly.

The table runs in a child interpreter, all of it in one process, so that a
crash or a hang in any case fails the tests instead of killing pytest; each
case is then checked as its own test. Hypothesis throws arbitrary objects at
the Python API in-process.
"""

from __future__ import annotations

import contextlib
import json
import sys
import textwrap
from typing import Any

import pytest
from conftest import needs_go_library
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import result_of, run_python

import gomask.mask as gm
from gomask.examples import add, parse_person

OK = "ok"
MAX_DOC = 16 << 20  # person.MaxDocumentSize

# (id, expression, expected): expected is an exception class name (the
# raised exception must be it or a subclass), or OK with an optional check
# expression on the result `r`.
CASES: list[tuple[str, str, str] | tuple[str, str, str, str]] = [
    # --- mask(data, key, offset) ---
    ("mask-str", "gm.mask('text', KEY)", "TypeError"),
    ("mask-none", "gm.mask(None, KEY)", "TypeError"),
    ("mask-int", "gm.mask(5, KEY)", "TypeError"),  # bytes(5) would be 5 zeros: must not
    ("mask-float", "gm.mask(5.0, KEY)", "TypeError"),
    ("mask-list", "gm.mask([1, 2, 3], KEY)", "TypeError"),
    ("mask-dict", "gm.mask({'a': 1}, KEY)", "TypeError"),
    ("mask-iterator", "gm.mask(iter(b'abcdef'), KEY)", "TypeError"),
    ("mask-object", "gm.mask(object(), KEY)", "TypeError"),
    ("mask-released-view", "gm.mask(released(), KEY)", "ValueError"),
    ("mask-key-str", "gm.mask(b'hello', 'abcd')", "TypeError"),
    ("mask-key-none", "gm.mask(b'hello', None)", "TypeError"),
    ("mask-key-int", "gm.mask(b'hello', 0x37FA213D)", "TypeError"),
    ("mask-key-list", "gm.mask(b'hello', [1, 2, 3, 4])", "TypeError"),
    ("mask-key-short", "gm.mask(b'hello', b'abc')", "ValueError"),
    ("mask-key-long", "gm.mask(b'hello', b'abcde')", "ValueError"),
    ("mask-key-empty", "gm.mask(b'hello', b'')", "ValueError"),
    ("mask-key-int32s", "gm.mask(b'hello', np.zeros(4, np.int32))", "ValueError"),
    (
        "mask-key-strided",
        "gm.mask(b'hello', memoryview(b'aXbXcXdX')[::2])",
        OK,
        "r == gm.mask(b'hello', b'abcd')",
    ),
    ("mask-offset-negative", "gm.mask(b'hello', KEY, -1)", "ValueError"),
    ("mask-offset-huge-negative", "gm.mask(b'hello', KEY, -(2**100))", "ValueError"),
    ("mask-offset-huge", "gm.mask(b'hello', KEY, 2**100 + 1)", OK, "r == ref(b'hello', KEY, 1)"),
    ("mask-offset-float", "gm.mask(b'hello', KEY, 1.0)", "TypeError"),
    ("mask-offset-str", "gm.mask(b'hello', KEY, '1')", "TypeError"),
    ("mask-offset-none", "gm.mask(b'hello', KEY, None)", "TypeError"),
    # operator.index accepts bool, so offsets, keys and add() do too.
    ("mask-offset-bool", "gm.mask(b'hello', KEY, True)", OK, "r == ref(b'hello', KEY, 1)"),
    ("mask-offset-numpy", "gm.mask(b'hello', KEY, np.int64(3))", OK, "r == ref(b'hello', KEY, 3)"),
    ("mask-readonly-view", "gm.mask(memoryview(b'hello').toreadonly(), KEY)", OK),
    (
        "mask-2d-noncontiguous",
        "gm.mask(np.arange(64, dtype=np.uint8).reshape(8, 8)[:, ::3], KEY)",
        OK,
        "r == ref(np.arange(64, dtype=np.uint8).reshape(8, 8)[:, ::3].tobytes(), KEY)",
    ),
    ("mask-doubles", "gm.mask(array.array('d', [1.5, -2.0]), KEY)", OK, "len(r) == 16"),
    ("mask-empty", "gm.mask(b'', KEY)", OK, "r == b''"),
    ("mask-empty-view", "gm.mask(memoryview(bytearray())[0:0], KEY)", OK, "r == b''"),
    # One-byte results must be new objects: Go writing into a cached
    # one-byte bytes would change b'\x00' for the whole interpreter.
    ("mask-one-byte", "gm.mask(bytearray(b'\\x01'), KEY)", OK, "r == bytes([1 ^ KEY[0]])"),
    ("mask-one-byte-view", "gm.mask(memoryview(b'\\x00'), KEY)", OK, "r == KEY[:1]"),
    ("zero-byte-intact", "bytes(1) + bytes([0]) + b'\\x00'", OK, "r == b'\\x00\\x00\\x00'"),
    # --- mask_inplace(buffer, key, offset) ---
    ("inplace-bytes", "gm.mask_inplace(b'hello', KEY)", "TypeError"),
    (
        "inplace-readonly-view",
        "gm.mask_inplace(memoryview(bytearray(8)).toreadonly(), KEY)",
        "TypeError",
    ),
    ("inplace-readonly-numpy", "gm.mask_inplace(readonly_array(), KEY)", "TypeError"),
    ("inplace-readonly-mmap", "gm.mask_inplace(readonly_mmap(), KEY)", "TypeError"),
    ("inplace-strided", "gm.mask_inplace(memoryview(bytearray(8))[::2], KEY)", "ValueError"),
    (
        "inplace-numpy-column",
        "gm.mask_inplace(np.zeros((4, 4), np.uint8)[:, 0], KEY)",
        "ValueError",
    ),
    (
        "inplace-fortran",
        "gm.mask_inplace(np.zeros((3, 5), np.uint8, order='F'), KEY)",
        "ValueError",
    ),
    ("inplace-str", "gm.mask_inplace('hello', KEY)", "TypeError"),
    ("inplace-none", "gm.mask_inplace(None, KEY)", "TypeError"),
    ("inplace-int", "gm.mask_inplace(8, KEY)", "TypeError"),
    ("inplace-list", "gm.mask_inplace([0] * 8, KEY)", "TypeError"),
    ("inplace-released-view", "gm.mask_inplace(released(), KEY)", "ValueError"),
    ("inplace-offset-negative", "gm.mask_inplace(bytearray(8), KEY, -1)", "ValueError"),
    ("inplace-offset-float", "gm.mask_inplace(bytearray(8), KEY, 0.0)", "TypeError"),
    ("inplace-key-short", "gm.mask_inplace(bytearray(8), b'abc')", "ValueError"),
    ("inplace-key-str", "gm.mask_inplace(bytearray(8), 'abcd')", "TypeError"),
    ("inplace-empty", "gm.mask_inplace(bytearray(), KEY)", OK, "r is None"),
    ("inplace-int32-view", "gm.mask_inplace(memoryview(array.array('i', [0, 0])), KEY)", OK),
    # --- buffers of Python objects: masking them would XOR object pointers ---
    ("mask-objects", "gm.mask(objects(), KEY)", "TypeError"),
    ("inplace-objects", "gm.mask_inplace(objects(), KEY)", "TypeError"),
    ("inplace-objects-large", "gm.mask_inplace((ctypes.py_object * 100_000)(), KEY)", "TypeError"),
    ("masker-objects", "gm.Masker(KEY).process(objects())", "TypeError"),
    ("masker-inplace-objects", "gm.Masker(KEY).process_inplace(objects())", "TypeError"),
    ("wstx-objects", "gm.wstx(1, objects())", "TypeError"),
    ("key-objects", "gm.mask(b'hello', (ctypes.py_object * 1)(1))", "TypeError"),
    ("mask-numpy-objects", "gm.mask(np.array([1, 'a', None], dtype=object), KEY)", "TypeError"),
    (
        "inplace-numpy-objects",
        "gm.mask_inplace(np.array([1, 'a', None], dtype=object), KEY)",
        "TypeError",
    ),
    (
        "inplace-numpy-object-field",
        "gm.mask_inplace(np.zeros(4, dtype=[('Obj', 'i4'), ('o', 'O')]), KEY)",
        "TypeError",
    ),
    (
        "inplace-numpy-field-named-O",
        "gm.mask_inplace(np.zeros(4, dtype=[('Oname', 'i4'), ('b', 'f8')]), KEY)",
        OK,
    ),
    # --- Masker ---
    ("masker-key-str", "gm.Masker('abcd')", "TypeError"),
    ("masker-key-short", "gm.Masker(b'abc')", "ValueError"),
    ("masker-offset-negative", "gm.Masker(KEY, -1)", "ValueError"),
    ("masker-process-none", "gm.Masker(KEY).process(None)", "TypeError"),
    ("masker-process-str", "gm.Masker(KEY).process('x')", "TypeError"),
    ("masker-inplace-bytes", "gm.Masker(KEY).process_inplace(b'hello')", "TypeError"),
    (
        "masker-inplace-strided",
        "gm.Masker(KEY).process_inplace(memoryview(bytearray(8))[::2])",
        "ValueError",
    ),
    ("masker-reset-negative", "gm.Masker(KEY).reset(-1)", "ValueError"),
    ("masker-reset-float", "gm.Masker(KEY).reset(1.5)", "TypeError"),
    # --- wstx(key, buffer) ---
    ("wstx-key-negative", "gm.wstx(-1, bytearray(4))", "ValueError"),
    ("wstx-key-too-big", "gm.wstx(2**32, bytearray(4))", "ValueError"),
    ("wstx-key-huge", "gm.wstx(2**200, bytearray(4))", "ValueError"),
    ("wstx-key-bool", "gm.wstx(True, bytearray(4))", OK, "r == 1"),
    ("wstx-key-float", "gm.wstx(1.0, bytearray(4))", "TypeError"),
    ("wstx-key-str", "gm.wstx('1', bytearray(4))", "TypeError"),
    ("wstx-key-bytes", "gm.wstx(KEY, bytearray(4))", "TypeError"),
    ("wstx-buffer-bytes", "gm.wstx(1, b'abc')", "TypeError"),
    ("wstx-buffer-none", "gm.wstx(1, None)", "TypeError"),
    ("wstx-buffer-strided", "gm.wstx(1, memoryview(bytearray(8))[::2])", "ValueError"),
    ("wstx-max-key", "gm.wstx(0xFFFFFFFF, bytearray(5))", OK, "r == 0xFFFFFFFF"),
    # --- set_parallelism ---
    ("parallel-workers-zero", "gm.set_parallelism(workers=0)", "ValueError"),
    ("parallel-workers-negative", "gm.set_parallelism(workers=-1)", "ValueError"),
    # More workers than CPUs: the CPUs are used, and reported (the default).
    (
        "parallel-workers-huge",
        "gm.set_parallelism(workers=2**40)",
        OK,
        "gm.get_parallelism().workers == PARALLELISM[1]",
    ),
    ("parallel-threshold-zero", "gm.set_parallelism(threshold=0)", "ValueError"),
    ("parallel-threshold-negative", "gm.set_parallelism(threshold=-1)", "ValueError"),
    ("parallel-threshold-str", "gm.set_parallelism(threshold='1')", "TypeError"),
    ("parallel-workers-float", "gm.set_parallelism(workers=1.5)", "TypeError"),
    ("parallel-unchanged", "gm.get_parallelism()", OK, "list(r) == PARALLELISM"),
    # --- add(a, b) ---
    ("add-float", "ex.add(1.5, 1)", "TypeError"),
    ("add-str", "ex.add('1', 1)", "TypeError"),
    ("add-none", "ex.add(None, 1)", "TypeError"),
    ("add-bool", "ex.add(True, 1)", OK, "r == 2"),
    ("add-index", "ex.add(Index(40), 2)", OK, "r == 42"),
    ("add-too-big", "ex.add(2**63, 0)", "OverflowError"),
    ("add-too-small", "ex.add(0, -(2**63) - 1)", "OverflowError"),
    ("add-huge", "ex.add(2**1000, 0)", "OverflowError"),
    ("add-sum-overflows", "ex.add(2**63 - 1, 1)", "OverflowError"),
    ("add-sum-underflows", "ex.add(-(2**63), -1)", "OverflowError"),
    ("add-extremes", "ex.add(2**63 - 1, -(2**63))", OK, "r == -1"),
    # --- hello_world() ---
    ("hello-args", "ex.hello_world(1)", "TypeError"),
    # --- parse_person(doc): types ---
    ("person-none", "ex.parse_person(None)", "TypeError"),
    ("person-int", "ex.parse_person(5)", "TypeError"),
    ("person-dict", "ex.parse_person({'name': 'a', 'age': 1})", "TypeError"),
    ("person-list", "ex.parse_person([])", "TypeError"),
    ("person-lone-surrogate", 'ex.parse_person(\'{"name": "\\ud800", "age": 1}\')', "ValueError"),
    # --- parse_person: documents ---
    ("person-empty", "ex.parse_person('')", "ValueError"),
    ("person-blank", "ex.parse_person(' \\n\\t ')", "ValueError"),
    ("person-null", "ex.parse_person('null')", "ValueError"),
    ("person-array", "ex.parse_person('[]')", "ValueError"),
    ("person-string", "ex.parse_person('\"John\"')", "ValueError"),
    ("person-object-empty", "ex.parse_person('{}')", "ValueError"),
    ("person-no-age", 'ex.parse_person(\'{"name": "a"}\')', "ValueError"),
    ("person-age-negative", 'ex.parse_person(\'{"name": "a", "age": -1}\')', "ValueError"),
    ("person-age-float", 'ex.parse_person(\'{"name": "a", "age": 1.5}\')', "ValueError"),
    ("person-age-exponent", 'ex.parse_person(\'{"name": "a", "age": 1e400}\')', "ValueError"),
    (
        "person-age-2-63",
        'ex.parse_person(\'{"name": "a", "age": 9223372036854775808}\')',
        "ValueError",
    ),
    (
        "person-age-long",
        "ex.parse_person('{\"name\": \"a\", \"age\": 1' + '0' * 1_000_000 + '}')",
        "ValueError",
    ),
    ("person-age-string", 'ex.parse_person(\'{"name": "a", "age": "1"}\')', "ValueError"),
    ("person-age-bool", 'ex.parse_person(\'{"name": "a", "age": true}\')', "ValueError"),
    ("person-age-null", 'ex.parse_person(\'{"name": "a", "age": null}\')', "ValueError"),
    ("person-name-null", 'ex.parse_person(\'{"name": null, "age": 1}\')', "ValueError"),
    ("person-name-number", 'ex.parse_person(\'{"name": 1, "age": 1}\')', "ValueError"),
    (
        "person-cars-string",
        'ex.parse_person(\'{"name": "a", "age": 1, "cars": "x"}\')',
        "ValueError",
    ),
    (
        "person-friend-no-age",
        'ex.parse_person(\'{"name": "a", "age": 1, "friends": [{"name": "b"}]}\')',
        "ValueError",
    ),
    (
        "person-friend-negative",
        'ex.parse_person(\'{"name": "a", "age": 1, "friends": [{"name": "b", "age": -5}]}\')',
        "ValueError",
    ),
    ("person-unknown-field", 'ex.parse_person(\'{"name": "a", "age": 1, "x": 1}\')', "ValueError"),
    ("person-trailing", 'ex.parse_person(\'{"name": "a", "age": 1} {}\')', "ValueError"),
    ("person-trailing-garbage", 'ex.parse_person(\'{"name": "a", "age": 1}x\')', "ValueError"),
    ("person-truncated", 'ex.parse_person(\'{"name": "a", "age": 1\')', "ValueError"),
    ("person-bom", 'ex.parse_person(\'\\ufeff{"name": "a", "age": 1}\')', "ValueError"),
    ("person-raw-nul", 'ex.parse_person(\'{"name": "a\\x00b", "age": 1}\')', "ValueError"),
    ("person-nul-after", 'ex.parse_person(b\'{"name": "a", "age": 1}\\x00\')', "ValueError"),
    ("person-nul-only", "ex.parse_person(b'\\x00' * 100)", "ValueError"),
    (
        "person-escaped-nul",
        'ex.parse_person(\'{"name": "a\\\\u0000b", "age": 1}\')',
        OK,
        "r.name == 'a\\x00b'",
    ),
    (
        "person-escaped-surrogate",
        'ex.parse_person(\'{"name": "\\\\ud800", "age": 1}\')',
        OK,
        "r.name == '\\ufffd'",
    ),
    ("person-invalid-utf8", "ex.parse_person(b'\\xff')", "ValueError"),
    (
        "person-overlong-utf8",
        'ex.parse_person(b\'{"name": "\\xc0\\xaf", "age": 1}\')',
        "ValueError",
    ),
    (
        "person-utf8-surrogate",
        'ex.parse_person(b\'{"name": "\\xed\\xa0\\x80", "age": 1}\')',
        "ValueError",
    ),
    (
        "person-utf8-above-max",
        'ex.parse_person(b\'{"name": "\\xf4\\x90\\x80\\x80", "age": 1}\')',
        "ValueError",
    ),
    (
        "person-utf8-truncated",
        'ex.parse_person(b\'{"name": "\\xe2\\x82", "age": 1}\')',
        "ValueError",
    ),
    (
        "person-deep-cars",
        'ex.parse_person(\'{"name": "a", "age": 1, "cars": \''
        " + '[' * 100_000 + ']' * 100_000 + '}')",
        "ValueError",
    ),
    (
        "person-deep-unknown",
        "ex.parse_person('{\"x\": ' * 1_000_000 + '1' + '}' * 1_000_000)",
        "ValueError",
    ),
    ("person-deep-open", "ex.parse_person('[' * (MAX_DOC - 1))", "ValueError"),
    (
        "person-deep-objects",
        'ex.parse_person(\'{"name": "a", "age": 1, "friends": [\''
        " + '{\"friends\": [' * 50_000 + ']}' * 50_000 + ']}')",
        "ValueError",
    ),
    (
        "person-huge-name",
        "ex.parse_person('{\"name\": \"' + 'n' * (MAX_DOC - 30) + '\", \"age\": 1}')",
        OK,
        "len(r.name) == MAX_DOC - 30",
    ),
    (
        "person-huge-escapes",
        'ex.parse_person(\'{"name": "\''
        " + '\\\\u00e9' * ((MAX_DOC - 30) // 6) + '\", \"age\": 1}')",
        OK,
        "set(r.name) == {'\\u00e9'}",
    ),
    ("person-too-big", "ex.parse_person(' ' * (MAX_DOC + 1))", "ValueError"),
    ("person-much-too-big", "ex.parse_person(bytearray(100 << 20))", "ValueError"),
    (
        "person-many-cars",
        'ex.parse_person(\'{"name": "a", "age": 1, "cars": [\' + \'"",\' * 1_000_000 + \'""]}\')',
        OK,
        "len(r.cars) == 1_000_001",
    ),
    (
        "person-many-friends",
        'ex.parse_person(\'{"name": "a", "age": 1, "friends": [\''
        " + ','.join(['{\"name\": \"f\", \"age\": 2}'] * 200_000) + ']}')",
        OK,
        "len(r.friends) == 200_000 and r.friends[-1].age == 2",
    ),
    (
        "person-max-age",
        'ex.parse_person(\'{"name": "a", "age": 9223372036854775807}\')',
        OK,
        "r.age == 2**63 - 1",
    ),
    (
        "person-memoryview",
        'ex.parse_person(memoryview(b\'{"name": "a", "age": 1}\'))',
        OK,
        "r.age == 1",
    ),
    (
        "person-strided-view",
        'ex.parse_person(memoryview(b\'{"name": "a", "age": 1}\')[::2])',
        "ValueError",
    ),
    ("person-array-array", "ex.parse_person(array.array('B', b'{}'))", "TypeError"),
]

# mask_batch is a newer API: checked when it exists.
BATCH_CASES: list[tuple[str, str, str] | tuple[str, str, str, str]] = [
    ("batch-none", "gm.mask_batch(None, KEY)", "TypeError"),
    ("batch-int", "gm.mask_batch(5, KEY)", "TypeError"),
    ("batch-str-payload", "gm.mask_batch([b'ab', 'cd'], KEY * 2)", "TypeError"),
    ("batch-none-payload", "gm.mask_batch([None], KEY)", "TypeError"),
    ("batch-keys-str", "gm.mask_batch([b'ab'], 'abcd')", "TypeError"),
    ("batch-keys-none", "gm.mask_batch([b'ab'], None)", "TypeError"),
    ("batch-keys-short", "gm.mask_batch([b'ab'], b'abc')", "ValueError"),
    ("batch-keys-too-few", "gm.mask_batch([b'ab', b'cd'], KEY)", "ValueError"),
    ("batch-keys-too-many", "gm.mask_batch([b'ab'], KEY * 2)", "ValueError"),
    ("batch-key-list-short", "gm.mask_batch([b'ab'], [b'abc'])", "ValueError"),
    ("batch-key-list-count", "gm.mask_batch([b'ab'], [KEY, KEY])", "ValueError"),
    ("batch-key-list-str", "gm.mask_batch([b'ab'], ['abcd'])", "TypeError"),
    ("batch-bytes", "gm.mask_batch(b'hello', KEY * 5)", "TypeError"),
    ("batch-objects-payload", "gm.mask_batch([objects()], KEY)", "TypeError"),
    ("batch-objects-keys", "gm.mask_batch([b'ab'], (ctypes.py_object * 4)())", "TypeError"),
    ("batch-empty", "gm.mask_batch([], b'')", OK, "r == []"),
    (
        "batch-mixed",
        "gm.mask_batch([b'hello', bytearray(b'x'), memoryview(b'abcdef')[::2], b''], KEY * 4)",
        OK,
        "r == [ref(b'hello', KEY), ref(b'x', KEY), ref(b'ace', KEY), b'']",
    ),
]

RUNNER = textwrap.dedent(
    """
    import array
    import json
    import mmap
    import sys

    import ctypes

    try:
        import numpy as np
    except ImportError:  # no numpy for this Python: its cases are skipped
        np = None

    import gomask.examples as ex
    import gomask.mask as gm

    KEY = bytes.fromhex("37fa213d")
    MAX_DOC = 16 << 20
    PARALLELISM = list(gm.get_parallelism())


    def ref(data, key, pos=0):
        return bytes(b ^ key[(pos + i) % 4] for i, b in enumerate(data))


    class Index:
        def __init__(self, value):
            self.value = value

        def __index__(self):
            return self.value


    def objects():
        # A buffer of Python object pointers, format "<O", without numpy.
        return (ctypes.py_object * 4)(1, "a", None, 2.5)


    def released():
        view = memoryview(bytearray(b"hello"))
        view.release()
        return view


    def readonly_array():
        a = np.zeros(8, np.uint8)
        a.flags.writeable = False
        return a


    def readonly_mmap():
        return mmap.mmap(-1, 4096, access=mmap.ACCESS_READ)


    results = {}
    for case in json.loads(CASES_JSON):
        name, expr = case[0], case[1]
        if np is None and ("np." in expr or "readonly_array" in expr):
            results[name] = [["skip"], "numpy is not installed for this Python"]
            continue
        try:
            r = eval(expr)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                raise
            results[name] = [[c.__name__ for c in type(exc).__mro__], str(exc)[:300]]
        else:
            check = case[3] if len(case) > 3 else "True"
            results[name] = [["ok"], bool(eval(check))]
    print("RESULT " + json.dumps(results))
    """
)


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Any]:
    cases = CASES + (BATCH_CASES if hasattr(gm, "mask_batch") else [])
    code = f"CASES_JSON = {json.dumps(cases)!r}\n" + RUNNER
    result: dict[str, Any] = result_of(run_python(code, timeout=150))
    return result


ALL_CASES = CASES + BATCH_CASES


@pytest.mark.parametrize(
    "case",
    # The cases of gomask.examples (ex.add, ex.parse_person) call Go.
    [pytest.param(c, marks=needs_go_library if "ex." in c[1] else ()) for c in ALL_CASES],
    ids=[c[0] for c in ALL_CASES],
)
def test_hostile_input(case: tuple[str, ...], outcomes: dict[str, Any]) -> None:
    name, expr, expected = case[0], case[1], case[2]
    if name.startswith("batch-") and not hasattr(gm, "mask_batch"):
        pytest.skip("no mask_batch in this version")
    classes, detail = outcomes[name]
    if classes == ["skip"]:
        pytest.skip(detail)
    if expected == OK:
        assert classes == ["ok"], f"{expr} raised {classes[0]}: {detail}"
        assert detail is True, f"{expr}: the result failed its check {case[3]}"
    else:
        assert expected in classes, f"{expr}: expected {expected}, got {classes[0]}: {detail}"


def test_table_ids_are_unique() -> None:
    names = [c[0] for c in ALL_CASES]
    assert len(names) == len(set(names))


# --- Hypothesis: arbitrary objects in every argument -------------------------

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.binary(max_size=40),
    st.binary(max_size=40).map(bytearray),
    st.binary(max_size=40).map(memoryview),
    st.binary(max_size=40).map(lambda b: memoryview(b)[::2]),
    st.lists(st.integers(0, 255), max_size=8),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
    st.just(object()),
)
CLEAN = (TypeError, ValueError, OverflowError)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=ANYTHING, key=ANYTHING, offset=ANYTHING)
def test_mask_any_arguments(data: object, key: object, offset: object) -> None:
    try:
        out = gm.mask(data, key, offset)  # type: ignore[arg-type]
    except CLEAN:
        return
    raw = memoryview(data).tobytes()  # type: ignore[arg-type]
    k = memoryview(key).tobytes()  # type: ignore[arg-type]
    pos = int(offset) % 4  # type: ignore[call-overload]
    assert out == bytes(b ^ k[(pos + i) % 4] for i, b in enumerate(raw))


@settings(max_examples=300, deadline=None)
@given(buffer=ANYTHING, key=ANYTHING, offset=ANYTHING)
def test_mask_inplace_any_arguments(buffer: object, key: object, offset: object) -> None:
    before = bytes(buffer) if isinstance(buffer, bytearray) else None
    try:
        gm.mask_inplace(buffer, key, offset)  # type: ignore[arg-type]
    except CLEAN:
        if before is not None:
            assert buffer == before, "a rejected call changed the buffer"
        return
    assert isinstance(buffer, (bytearray, memoryview))


@settings(max_examples=200, deadline=None)
@given(key=ANYTHING, buffer=ANYTHING)
def test_wstx_any_arguments(key: object, buffer: object) -> None:
    try:
        k = gm.wstx(key, buffer)  # type: ignore[arg-type]
    except CLEAN:
        return
    assert 0 <= k <= 0xFFFFFFFF


@settings(max_examples=200, deadline=None)
@given(key=ANYTHING, offset=ANYTHING, chunk=ANYTHING)
def test_masker_any_arguments(key: object, offset: object, chunk: object) -> None:
    try:
        m = gm.Masker(key, offset)  # type: ignore[arg-type]
    except CLEAN:
        return
    with contextlib.suppress(*CLEAN):
        m.process(chunk)  # type: ignore[arg-type]
    with contextlib.suppress(*CLEAN):
        m.process_inplace(chunk)  # type: ignore[arg-type]
    assert 0 <= m.position < 4


@needs_go_library
@settings(max_examples=200, deadline=None)
@given(a=ANYTHING, b=ANYTHING)
def test_add_any_arguments(a: object, b: object) -> None:
    try:
        total = add(a, b)  # type: ignore[arg-type]
    except CLEAN:
        return
    assert total == a + b  # type: ignore[operator]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@needs_go_library
@settings(max_examples=300, deadline=None)
@given(
    doc=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        JSONISH.map(json.dumps),
        st.builds(
            lambda name, age, extra: json.dumps({"name": name, "age": age, **extra}),
            st.text(max_size=10),
            st.integers(min_value=-(2**64), max_value=2**64),
            st.dictionaries(st.sampled_from(["cars", "friends", "x"]), JSONISH, max_size=2),
        ),
    )
)
def test_parse_person_any_document(doc: str | bytes) -> None:
    try:
        person = parse_person(doc)
    except ValueError:
        return
    assert person.age >= 0
    assert all(f.age >= 0 for f in person.friends)


# --- Lengths are size_t end to end -------------------------------------------


@needs_go_library  # lengths that cross into Go; minutes in pure Python
@pytest.mark.skipif(
    sys.implementation.name == "pypy",
    reason="PyPy masks buffers in place in Python, not in Go: minutes at 2 GiB",
)
def test_buffer_over_2_gib() -> None:
    """A 2 GiB + 3 bytes bytearray, masked in place with goroutines and on one
    goroutine, and masked into a new bytes: checked at both ends and around
    2**31, where a C int length would have wrapped."""
    code = textwrap.dedent(
        """
        import json
        import time

        import gomask.mask as gm

        KEY = bytes.fromhex("37fa213d")
        n = 2**31 + 3
        t0 = time.monotonic()
        buf = bytearray(n)
        marks = [0, 1, 2, 3, 4, 5, 2**31 - 5, 2**31 - 1, 2**31, 2**31 + 1, n - 4, n - 2, n - 1]
        marks += [2**31 - 4096 + 7, 2**31 - 65536 + 9, 2**30 + 1, 3 * 2**29 + 2]
        for i in marks:
            buf[i] = (i * 7 + 1) & 0xFF
        checks = {}


        def masked_ok(data, lo=0, hi=n):
            want = {i: ((i * 7 + 1) & 0xFF) ^ KEY[i % 4] for i in marks if lo <= i < hi}
            return all(data[i - lo] == w for i, w in want.items())


        def clear_ok(data, lo=0, hi=n):
            return all(data[i - lo] == ((i * 7 + 1) & 0xFF) for i in marks if lo <= i < hi)


        gm.set_parallelism(threshold=1 << 20, workers=2)
        gm.mask_inplace(buf, KEY)
        checks["parallel"] = masked_ok(buf)
        gm.set_parallelism(workers=1)
        gm.mask_inplace(buf, KEY)
        checks["single"] = clear_ok(buf)
        # A view that starts just below 2**31, with the matching offset.
        start = 2**31 - 2
        gm.mask_inplace(memoryview(buf)[start:], KEY, start)
        checks["view"] = masked_ok(memoryview(buf)[start:], start) and clear_ok(buf, 0, start)
        gm.mask_inplace(memoryview(buf)[start:], KEY, start)
        out = gm.mask(buf, KEY)
        checks["new_bytes"] = len(out) == n and masked_ok(out) and clear_ok(buf)
        zeros = (10, 11, 12, 13, n - 12, n - 11, n - 10)  # not marked: masked zeros
        checks["zeros"] = all(out[i] == KEY[i % 4] for i in zeros)
        seconds = round(time.monotonic() - t0, 1)
        print("RESULT " + json.dumps({"checks": checks, "seconds": seconds}))
        """
    )
    result = result_of(run_python(code, timeout=180))
    print(result)
    assert result["checks"] == dict.fromkeys(
        ["parallel", "single", "view", "new_bytes", "zeros"], True
    ), result
