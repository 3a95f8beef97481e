"""The public API as a user meets it: top-level names, type hints at run
time, and messages that name the argument as the caller wrote it."""

from __future__ import annotations

import concurrent.futures
import copy
import functools
import inspect
import multiprocessing
import os
import pickle
import pydoc
import re
import sys
import traceback
import types
import typing

import pytest
from conftest import spec_mask

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


# --- `from gomask import mask`: the module gomask.mask, as the function it looks like ---------


def test_mask_stays_the_module_of_the_masking_api() -> None:
    import gomask.mask as module

    assert isinstance(module, types.ModuleType)
    assert module is gomask.mask is sys.modules["gomask.mask"]
    assert module.Masker is gomask.Masker
    # The import system, pydoc, doctest and inspect.getmodule know a module by
    # its __name__; the function's name is its __qualname__.
    assert module.__name__ == "gomask.mask"
    assert module.__qualname__ == "mask"
    assert inspect.getmodule(module.Masker) is module


def _masked_hello(masker: typing.Callable[..., bytes]) -> bytes:
    return masker(b"Hello")


def test_mask_pickles_by_reference_and_runs_in_a_process_pool() -> None:
    from gomask import mask

    assert pickle.loads(pickle.dumps(mask)) is mask
    assert copy.copy(mask) is mask
    assert copy.deepcopy(mask) is mask
    # spawn: the worker is a fresh interpreter, which imports gomask to unpickle
    context = multiprocessing.get_context("spawn")
    chunks = [os.urandom(n) for n in (0, 1, 5, 125, 4096)]
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        assert pool.submit(mask, b"Hello", KEY).result() == bytes.fromhex("7f9f4d5158")
        masked = list(pool.map(functools.partial(mask, key=KEY), chunks))
        assert pool.submit(_masked_hello, functools.partial(mask, key=KEY, offset=1)).result() == (
            gomask.mask.mask(b"Hello", KEY, 1)
        )
    assert masked == [spec_mask(chunk, KEY) for chunk in chunks]


def test_mask_has_the_functions_signature() -> None:
    from gomask import mask

    assert inspect.signature(mask) == inspect.signature(gomask.mask.mask)
    assert list(inspect.signature(mask).parameters) == ["data", "key", "offset"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m(b"abc", KEY, offs=1), "mask() got an unexpected keyword argument 'offs'"),
        (lambda m: m(), "mask() missing 2 required positional arguments: 'data' and 'key'"),
        (lambda m: m(b"a", KEY, 0, 1, 2), "mask() takes from 2 to 3 positional arguments but 5 "),
    ],
)
def test_a_wrong_call_raises_what_the_function_raises(
    call: typing.Callable[[typing.Any], object], message: str
) -> None:
    from gomask import mask

    for callable_ in (mask, gomask.mask.mask):
        with pytest.raises(TypeError) as excinfo:
            call(callable_)
        assert str(excinfo.value).startswith(message), excinfo.value
        # No frame of gomask's in between: the call through the module is the
        # function's own (no __call__ method that calls it).
        frames = traceback.extract_tb(excinfo.value.__traceback__)
        assert [f.filename for f in frames] == [__file__] * 2, frames


def test_help_on_mask_shows_the_function_first() -> None:
    from gomask import mask

    page = pydoc.render_doc(mask, renderer=pydoc.plaintext)
    description = page[: page.index("\nCLASSES")]
    assert "mask(data, key, offset=0) -> bytes" in description
    assert inspect.cleandoc(gomask.mask.mask.__doc__ or "").splitlines()[0] in description


def test_help_on_the_package_lists_its_functions_and_no_stray_names() -> None:
    page = pydoc.render_doc(gomask, renderer=pydoc.plaintext)
    assert "- ``mask(data, key, offset=0) -> bytes``" in page
    contents = page[page.index("PACKAGE CONTENTS") : page.index("CLASSES")].split()
    assert "mask" in contents
    # The Go library is no module (`import gomask.libgomask` fails): its file
    # name has no extension-module suffix (gomask._abi.library_filename).
    assert not [name for name in contents if "libgomask" in name], contents
    # The public names are the API and the submodules: no TYPE_CHECKING.
    public = [n for n in dir(gomask) if not n.startswith("_") and n not in gomask.__all__]
    assert [n for n in public if not isinstance(getattr(gomask, n), types.ModuleType)] == []


def test_the_library_file_is_no_module_to_pkgutil() -> None:
    from gomask._abi import library_filename

    assert inspect.getmodulename(library_filename()) is None
