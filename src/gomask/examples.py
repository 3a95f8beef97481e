"""The examples of the demo gomask grew from, called in Go the safe way.

- :func:`hello_world` prints a line from Go;
- :func:`add` adds two 64-bit integers in Go;
- :func:`parse_person` has Go decode a JSON person document into a typed,
  frozen :class:`Person`.
"""

from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass

from gomask import _native

__all__ = ["Friend", "Person", "add", "hello_world", "parse_person"]


@dataclass(frozen=True, slots=True)
class Friend:
    """An entry of :attr:`Person.friends`."""

    name: str
    age: int


@dataclass(frozen=True, slots=True)
class Person:
    """A decoded person document."""

    name: str
    age: int
    cars: tuple[str, ...]
    friends: tuple[Friend, ...]


def hello_world() -> None:
    """Print a greeting from Go (to file descriptor 1).

    Python's own buffered stdout is flushed first, so the line appears after
    everything Python printed before the call.
    """
    sys.stdout.flush()
    lib = _native.library()
    lib.check(lib.hello_world())


def add(a: int, b: int) -> int:
    """Return ``a + b`` computed in Go with 64-bit signed integers.

    Raises :class:`OverflowError` when an argument or the sum does not fit
    in 64 bits, rather than returning a wrapped-around answer.
    """
    a = _native.c_integer(a, ctypes.c_int64, "a")
    b = _native.c_integer(b, ctypes.c_int64, "b")
    lib = _native.library()
    result = ctypes.c_int64()
    lib.check(lib.add_gil(a, b, ctypes.byref(result)))
    return result.value


def parse_person(doc: str | bytes) -> Person:
    """Decode a person document in Go.

    The document is JSON, for example::

        {"name": "John", "age": 30, "cars": ["Ford", "BMW", "Fiat"],
         "friends": [{"name": "Peter", "age": 30}, {"name": "Anna", "age": 30}]}

    ``name`` and ``age`` are required, ``cars`` and ``friends`` optional;
    unknown fields, negative ages, trailing data and invalid UTF-8 are
    errors. Raises :class:`ValueError` with Go's message for any invalid
    document, :class:`TypeError` for anything but ``str`` or bytes-like.
    """
    if isinstance(doc, str):
        raw = doc.encode("utf-8")  # lone surrogates raise UnicodeEncodeError, a ValueError
    elif isinstance(doc, (bytes, bytearray)):
        raw = bytes(doc)
    elif isinstance(doc, memoryview):
        if "O" in doc.format:
            raise TypeError(f"doc holds Python objects (buffer format {doc.format!r}), not text")
        raw = doc.tobytes()
    else:
        raise TypeError(f"doc must be str or bytes, not {type(doc).__name__}")
    lib = _native.library()
    out = ctypes.POINTER(_native.CPerson)()
    lib.check(lib.parse_person(_native.pointer_to(raw), len(raw), ctypes.byref(out)))
    try:
        p = out.contents
        return Person(
            name=_text(p.name),
            age=p.age,
            cars=tuple(_text(p.cars[i]) for i in range(p.n_cars)),
            friends=tuple(
                Friend(_text(p.friends[i].name), p.friends[i].age) for i in range(p.n_friends)
            ),
        )
    finally:
        lib.person_free(out)


def _text(s: _native.CString) -> str:
    # Go checked the document is valid UTF-8 and JSON escapes decode to
    # valid UTF-8 (or U+FFFD), so strict decoding cannot fail here.
    return ctypes.string_at(s.data, s.len).decode("utf-8")
