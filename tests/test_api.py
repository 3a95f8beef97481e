"""The public API as a user meets it: top-level names, type hints at run
time, and messages that name the argument as the caller wrote it."""

from __future__ import annotations

import inspect
import re
import typing

import pytest

import gomask
import gomask.examples
import gomask.integrations
import gomask.mask

KEY = bytes.fromhex("37fa213d")


def test_top_level_names() -> None:
    from gomask import Masker, mask, mask_batch, mask_inplace, unmask

    assert mask(b"Hello", KEY) == bytes.fromhex("7f9f4d5158")  # the module, called
    assert mask is gomask.mask  # ... which stays the module of the masking API
    assert gomask.mask.mask(b"Hello", KEY) == mask(b"Hello", KEY)
    assert unmask is gomask.mask.unmask
    assert mask_inplace is gomask.mask.mask_inplace
    assert Masker is gomask.mask.Masker
    assert mask_batch is gomask.mask.mask_batch
    assert set(gomask.__all__) >= {"mask", "unmask", "mask_inplace", "Masker", "mask_batch"}


def test_parallelism_from_the_top_level_and_back_to_the_defaults() -> None:
    from gomask import get_parallelism, reset_parallelism, set_parallelism

    defaults = get_parallelism()
    try:
        set_parallelism(threshold=1 << 20, workers=1)
        assert get_parallelism() == (1 << 20, 1)
        set_parallelism(threshold=2 << 20)  # the other setting stays
        assert get_parallelism() == (2 << 20, 1)
    finally:
        reset_parallelism()
    assert get_parallelism() == defaults


@pytest.mark.parametrize(
    ("call", "suggestion"),
    [
        (lambda: gomask.mask.mask_inplace(b"abc", KEY), "use mask()"),
        (lambda: gomask.mask.Masker(KEY).process_inplace(b"abc"), "use process()"),
    ],
)
def test_read_only_in_place_suggests_the_copying_call(
    call: typing.Callable[[], object], suggestion: str
) -> None:
    with pytest.raises(TypeError, match=re.escape(suggestion)):
        call()


def _public_functions() -> list[object]:
    found: list[object] = []
    for module in (gomask.mask, gomask.integrations, gomask.examples):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                found += [m for n, m in vars(obj).items() if callable(m) and not n.startswith("_")]
                found.append(obj.__init__)
            elif callable(obj):
                found.append(obj)
    return found


@pytest.mark.parametrize("function", _public_functions(), ids=lambda f: f.__qualname__)
def test_type_hints_resolve_at_run_time(function: object) -> None:
    typing.get_type_hints(function)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: gomask.mask.mask("abc", KEY), "data"),
        (lambda: gomask.mask.mask(b"abc", "abcd"), "key"),
        (lambda: gomask.mask.mask(b"abc", KEY, 1.5), "offset"),
        (lambda: gomask.mask.mask_inplace(b"abc", KEY), "buffer"),
        (lambda: gomask.mask.Masker(KEY).process("abc"), "chunk"),
        (lambda: gomask.mask.Masker(KEY).process_inplace(b"abc"), "chunk"),
        (lambda: gomask.mask.Masker("abcd"), "key"),
        (lambda: gomask.mask.wstx(1.5, bytearray(4)), "key"),
        (lambda: gomask.mask.wstx(1, "abcd"), "buffer"),
        (lambda: gomask.mask.mask_batch(b"Hello", KEY * 5), "payloads"),
        (lambda: gomask.mask.mask_batch(None, KEY), "payloads"),
        (lambda: gomask.mask.mask_batch([b"a"], None), "keys"),
        (lambda: gomask.mask.mask_batch([b"a", "b"], KEY * 2), "payloads[1]"),
        (lambda: gomask.mask.mask_batch([b"a"], [b"abc"]), "keys[0]"),
        (lambda: gomask.examples.add(1.5, 2), "a"),
        (lambda: gomask.examples.add(1, "2"), "b"),
    ],
)
def test_messages_name_the_argument(call: typing.Callable[[], object], name: str) -> None:
    with pytest.raises((TypeError, ValueError)) as excinfo:
        call()
    assert str(excinfo.value).startswith(f"{name} "), excinfo.value


def test_mask_batch_of_bytes_says_what_it_expected() -> None:
    with pytest.raises(TypeError, match="an iterable of bytes-like objects"):
        gomask.mask.mask_batch(b"Hello", KEY * 5)  # type: ignore[arg-type]
