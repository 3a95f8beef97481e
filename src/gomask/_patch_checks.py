"""How :mod:`gomask.integrations` checks a patch point before replacing it.

Each check takes the point's name and the library's object there, looks at
its signature where Python can see one, and calls it on a known payload and
key whose masked result is computed here byte by byte (RFC 6455 §5.3),
independently of gomask. A point that is not what gomask expects raises
:class:`RefusedError`, which :func:`gomask.integrations.install` reports as an
``IntegrationError`` naming the library and its version.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Final


class RefusedError(Exception):
    """The patch point *point* is not what gomask expects: *why*."""

    def __init__(self, point: str, why: str) -> None:
        super().__init__(point, why)
        self.point, self.why = point, why


_PROBE_KEY: Final = bytes.fromhex("37fa213d")
_PROBE_DATA: Final = bytes(range(7, 7 + 11))  # not a multiple of 4, not a key's length
_PROBE_MASKED: Final = bytes(b ^ _PROBE_KEY[i % 4] for i, b in enumerate(_PROBE_DATA))


def _check_parameters(
    point: str, function: object, names: tuple[str, ...], defaults: int = 0
) -> None:
    """Where Python can see *function*'s signature, it must take exactly the
    positional parameters *names*, the last *defaults* of them with a default.
    C functions without a visible signature are left to the probe call."""
    try:
        signature = inspect.signature(function)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    parameters = list(signature.parameters.values())
    found = [(p.name, p.kind in positional, p.default is not p.empty) for p in parameters]
    expected = [(n, True, i >= len(names) - defaults) for i, n in enumerate(names)]
    if found != expected:
        raise RefusedError(point, f"has the signature {signature}, expected ({', '.join(names)})")


def _probe(point: str, run: Callable[[], object]) -> None:
    """Run *run* (a call of the patch point on the probe input); it must return True."""
    try:
        ok = run()
    except Exception as exc:
        raise RefusedError(point, f"fails on a test call ({type(exc).__name__}: {exc})") from exc
    if ok is not True:
        raise RefusedError(point, "does not mask a test payload as RFC 6455 specifies")


def check_data_key(point: str, function: Any) -> None:
    _check_parameters(point, function, ("data", "mask"))
    _probe(point, lambda: _masked_right(function(_PROBE_DATA, _PROBE_KEY)))


def check_key_data(point: str, function: Any) -> None:
    _check_parameters(point, function, ("mask", "data"))
    _probe(point, lambda: _masked_right(function(_PROBE_KEY, _PROBE_DATA)))


def _masked_right(result: object) -> bool:
    return type(result) is bytes and result == _PROBE_MASKED


def check_inplace(point: str, function: Any) -> None:
    _check_parameters(point, function, ("mask", "data"))

    def run() -> bool:
        buffer = bytearray(_PROBE_DATA)
        return function(_PROBE_KEY, buffer) is None and buffer == _PROBE_MASKED

    _probe(point, run)


def _check_masker(point: str, make: Callable[[], Any], result_type: type, pointer: bool) -> None:
    """A masker object: ``process`` in two chunks continues the mask stream;
    with *pointer*, also ``pointer()`` counts bytes and ``reset()`` restarts."""

    def run() -> bool:
        masker = make()
        for method in ("process", *(("pointer", "reset") if pointer else ())):
            if not callable(getattr(masker, method, None)):
                raise TypeError(f"its masker has no {method}() method")
        first = masker.process(bytearray(_PROBE_DATA[:5]))
        second = masker.process(bytearray(_PROBE_DATA[5:]))
        if type(first) is not result_type or type(second) is not result_type:
            return False
        ok: bool = first + second == _PROBE_MASKED
        if pointer:
            ok = ok and masker.pointer() == len(_PROBE_DATA)
            masker.reset()
            ok = ok and masker.pointer() == 0 and masker.process(_PROBE_DATA) == _PROBE_MASKED
        return ok

    _probe(point, run)


def check_masker_class(point: str, cls: Any) -> None:
    if not isinstance(cls, type):
        raise RefusedError(point, "is not a class")
    _check_parameters(point + ".__init__", getattr(cls, "__init__", None), ("self", "masking_key"))
    _check_parameters(point + ".process", getattr(cls, "process", None), ("self", "data"))
    _check_masker(point, lambda: cls(_PROBE_KEY), bytearray, pointer=False)


def check_masker_factory(point: str, factory: Any) -> None:
    _check_parameters(point, factory, ("mask", "length"), defaults=1)
    for length in (None, 4, 1 << 20):

        def make(length: int | None = length) -> Any:
            return factory(_PROBE_KEY, length)

        _check_masker(point, make, bytes, pointer=True)
