"""hello_world, add and parse_person: the demo's examples, made safe."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from conftest import needs_go_library, np
from hypothesis import given
from hypothesis import strategies as st

from gomask.examples import Friend, Person, add, hello_world, parse_person

SEED_DOCUMENT = (
    '{"name": "John", "age": 30, "cars": ["Ford", "BMW", "Fiat"], '
    '"friends": [{"name": "Peter", "age": 30}, {"name": "Anna", "age": 30}]}'
)
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@needs_go_library
def test_hello_world_prints_from_go_in_order(capfd: pytest.CaptureFixture[str]) -> None:
    print("before", end="\n")
    hello_world()
    print("after")
    out = capfd.readouterr().out
    assert out == "before\nHello, world! (from Go)\nafter\n"


@needs_go_library
def test_hello_world_order_when_stdout_is_a_pipe() -> None:
    # Python block-buffers a piped stdout; hello_world must flush it first.
    code = "import gomask.examples as e; print('one'); e.hello_world(); print('two')"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out == "one\nHello, world! (from Go)\ntwo\n"


@needs_go_library
@pytest.mark.parametrize(
    ("a", "b", "total"),
    [
        (1, 2, 3),
        (-5, 2, -3),
        (0, 0, 0),
        (INT64_MAX, 0, INT64_MAX),
        (INT64_MIN, 0, INT64_MIN),
        (INT64_MAX, INT64_MIN, -1),
        (INT64_MAX - 1, 1, INT64_MAX),
        (INT64_MIN + 1, -1, INT64_MIN),
    ],
)
def test_add(a: int, b: int, total: int) -> None:
    assert add(a, b) == total


@needs_go_library
@given(st.integers(INT64_MIN, INT64_MAX), st.integers(INT64_MIN, INT64_MAX))
def test_add_matches_python_or_overflows(a: int, b: int) -> None:
    if INT64_MIN <= a + b <= INT64_MAX:
        assert add(a, b) == a + b
    else:
        with pytest.raises(OverflowError, match="overflows"):
            add(a, b)


@needs_go_library
@pytest.mark.parametrize(("a", "b"), [(INT64_MAX, 1), (INT64_MIN, -1), (INT64_MAX, INT64_MAX)])
def test_add_sum_overflow(a: int, b: int) -> None:
    with pytest.raises(OverflowError):
        add(a, b)


@pytest.mark.parametrize(("a", "b"), [(2**63, 0), (0, INT64_MIN - 1), (2**100, 1)])
def test_add_argument_out_of_range(a: int, b: int) -> None:
    with pytest.raises(OverflowError, match="64-bit"):
        add(a, b)


@pytest.mark.parametrize("bad", [1.0, "1", None, b"1"], ids=repr)
def test_add_rejects_non_integers(bad: object) -> None:
    with pytest.raises(TypeError, match="a must be an integer"):
        add(bad, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="b must be an integer"):
        add(1, bad)  # type: ignore[arg-type]


@needs_go_library
def test_add_accepts_what_operator_index_accepts() -> None:
    class Index:
        def __index__(self) -> int:
            return 40

    assert add(Index(), 2) == 42  # type: ignore[arg-type]
    assert add(True, 2) == 3
    if np is not None:
        assert add(np.int64(2), np.uint32(3)) == 5  # type: ignore[arg-type]


@needs_go_library
def test_parse_seed_document() -> None:
    person = parse_person(SEED_DOCUMENT)
    assert person == Person(
        name="John",
        age=30,
        cars=("Ford", "BMW", "Fiat"),
        friends=(Friend("Peter", 30), Friend("Anna", 30)),
    )
    assert parse_person(SEED_DOCUMENT.encode()) == person
    assert parse_person(bytearray(SEED_DOCUMENT.encode())) == person


@needs_go_library
def test_person_is_frozen_and_typed() -> None:
    person = parse_person(SEED_DOCUMENT)
    with pytest.raises(AttributeError):
        person.name = "Jane"  # type: ignore[misc]
    assert isinstance(person.cars, tuple)
    assert isinstance(person.friends[0], Friend)
    assert hash(person) == hash(parse_person(SEED_DOCUMENT))


names = st.text(max_size=30)
ages = st.integers(0, INT64_MAX)


@needs_go_library
@given(
    name=names,
    age=ages,
    cars=st.lists(names, max_size=5),
    friends=st.lists(st.tuples(names, ages), max_size=5),
)
def test_parse_person_roundtrips_json(
    name: str, age: int, cars: list[str], friends: list[tuple[str, int]]
) -> None:
    doc = {
        "name": name,
        "age": age,
        "cars": cars,
        "friends": [{"name": n, "age": a} for n, a in friends],
    }
    for text in (json.dumps(doc), json.dumps(doc, ensure_ascii=False)):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates cannot be sent as UTF-8
            continue
        assert parse_person(text) == Person(
            name, age, tuple(cars), tuple(Friend(n, a) for n, a in friends)
        )


@needs_go_library
def test_parse_person_keeps_nul_characters() -> None:
    assert parse_person('{"name": "a\\u0000b", "age": 1}').name == "a\x00b"
    assert parse_person('{"name": "a\\u0000b", "age": 1}').cars == ()


@needs_go_library
@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("", "empty"),
        ("{", "unexpected EOF"),
        ("not json", "invalid character"),
        ("null", "null"),
        ("[]", "cannot unmarshal array"),
        ('{"age": 30}', 'missing field "name"'),
        ('{"name": "x"}', 'missing field "age"'),
        ('{"name": "x", "age": "30"}', "age"),
        ('{"name": "x", "age": 30.5}', "age"),
        ('{"name": "x", "age": -1}', "negative"),
        ('{"name": "x", "age": 1, "cars": [1]}', "cars"),
        ('{"name": "x", "age": 1, "friends": [{"name": "y"}]}', "friends[0].age"),
        ('{"name": "x", "age": 1, "extra": true}', "unknown field"),
        ('{"name": "x", "age": 1} {}', "after the top-level value"),
        (b'{"name": "\xff", "age": 1}', "UTF-8"),
    ],
)
def test_parse_person_invalid(doc: str | bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_person(doc)


@pytest.mark.parametrize("bad", [None, 1, ["{}"], {"name": "x"}], ids=repr)
def test_parse_person_rejects_non_text(bad: object) -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        parse_person(bad)  # type: ignore[arg-type]


def test_parse_person_lone_surrogate() -> None:
    with pytest.raises(ValueError, match="surrogate"):  # a UnicodeEncodeError
        parse_person('{"name": "\ud800", "age": 1}')


@needs_go_library
def test_field_names_match_as_encoding_json_does() -> None:
    # Documented: case-insensitive names, the last of duplicate fields wins.
    assert parse_person('{"NAME": "x", "Age": 3}') == Person("x", 3, (), ())
    assert parse_person('{"name": "a", "age": 1, "age": 2}').age == 2
