"""The loader, the pure-Python mode and `python -m gomask info`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import spec_mask
from hypothesis import given
from hypothesis import strategies as st

import gomask
from gomask import _fallback, _native


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_library_is_next_to_the_package() -> None:
    path = _native.packaged_library_path()
    assert path.parent == Path(gomask.__file__).resolve().parent
    assert path.is_file(), "the Go library was not built into the package"
    assert path.suffix in {".so", ".dylib", ".dll"}


def test_every_export_is_declared() -> None:
    lib = _native.library()
    functions = [v for v in vars(lib).values() if hasattr(v, "argtypes")]
    functions += [*lib.debug.values(), *lib.debug_gil.values()]
    prototypes = {**_native._PROTOTYPES, **_native._DEBUG_PROTOTYPES}
    assert {fn.__name__ for fn in functions} == set(prototypes) - {"gomask_abi_version"}
    for fn in functions:
        argtypes, restype = prototypes[fn.__name__]
        assert tuple(fn.argtypes) == argtypes, fn.__name__
        assert fn.restype is restype, fn.__name__


def test_no_python_object_crosses_the_abi() -> None:
    # The library's ABI is C data: pointers, lengths, integers, status codes.
    from ctypes import py_object

    for argtypes, restype in [*_native._PROTOTYPES.values(), *_native._DEBUG_PROTOTYPES.values()]:
        assert py_object not in argtypes
        assert restype is not py_object


def test_versions_agree() -> None:
    info = _native.library().build_info()
    assert info["version"] == gomask.__version__
    assert info["abi"] == _native.ABI_VERSION
    assert info["go_version"].startswith("go1.")


def test_info_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gomask", "info"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for field in ("gomask", "library", "go version", "platform", "mask kernel", "split from"):
        assert field in result.stdout
    assert gomask.__version__ in result.stdout
    assert re.search(r"^implementation +go$", result.stdout, re.MULTILINE)
    assert re.search(r"^GOMAXPROCS +\d+$", result.stdout, re.MULTILINE)


def test_info_explains_a_library_that_does_not_load(tmp_path: Path) -> None:
    """One message on standard error, no traceback, and a failing status."""
    missing = tmp_path / "libgomask.so"
    result = subprocess.run(
        [sys.executable, "-m", "gomask", "info"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GOMASK_LIBRARY": str(missing)},
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: gomask: its Go library is missing")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert re.search(r"^library +.*libgomask.so \(\$GOMASK_LIBRARY\)$", result.stdout, re.M)


def test_missing_library_is_a_clear_import_error(tmp_path: Path) -> None:
    missing = tmp_path / "libgomask.so"
    result = run_python(
        "import gomask.mask as m\n"
        "try:\n"
        "    m.mask(b'x' * 65536, b'1234')  # long enough for Go on every interpreter\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n",
        GOMASK_LIBRARY=str(missing),
    )
    assert result.returncode == 0, result.stderr
    assert "ImportError: gomask: its Go library is missing" in result.stdout
    # The variable that named it, and its value.
    assert f"GOMASK_LIBRARY={str(missing)!r}" in result.stdout


def test_pure_mode_needs_no_library(tmp_path: Path) -> None:
    code = (
        "import gomask.mask as m\n"
        "assert m.implementation() == 'python'\n"
        "key = bytes.fromhex('37fa213d')\n"
        "assert m.mask(b'Hello', key) == bytes.fromhex('7f9f4d5158')\n"
        "b = bytearray(b'Hello'); m.mask_inplace(b, key); assert b == bytes.fromhex('7f9f4d5158')\n"
        "assert m.mask(memoryview(b'Hello world')[::2], key, 1) == m.mask(b'Hlowrd', key, 1)\n"
        "assert m.wstx(0x37fa213d, bytearray(b'Hello')) == 0xfa213d37\n"
        "assert m.mask(b'', key) == b''\n"
        "assert m.mask(bytearray(b'Hello'), key, 4) == m.mask(b'Hello', key)\n"
        "try:\n    m.mask(b'Hello', b'abc')\n"
        "except ValueError:\n    pass\n"
        "else:\n    raise AssertionError\n"
        "print('ok')\n"
    )
    result = run_python(code, GOMASK_PURE="1", GOMASK_LIBRARY=str(tmp_path / "none.so"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    info = subprocess.run(
        [sys.executable, "-m", "gomask", "info"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GOMASK_PURE": "1", "GOMASK_LIBRARY": str(tmp_path / "none.so")},
    )
    assert info.returncode == 0, info.stderr
    assert re.search(r"^implementation +python$", info.stdout, re.MULTILINE)
    assert re.search(r"^why +GOMASK_PURE is set$", info.stdout, re.MULTILINE)
    # Nothing about a Go library it does not use.
    for word in ("library", "go version", "kernel", "goroutines", "GOMAXPROCS"):
        assert word not in info.stdout


@pytest.mark.parametrize("as_integers", [True, False], ids=["big-integers", "loop"])
@given(data=st.binary(max_size=3000), key=st.binary(min_size=4, max_size=4))
def test_fallback_matches_spec(as_integers: bool, data: bytes, key: bytes) -> None:
    # Both ways of the fallback, whichever this interpreter uses.
    saved = _fallback.XOR_AS_INTEGERS
    _fallback.XOR_AS_INTEGERS = as_integers
    try:
        assert _fallback.mask(data, key) == spec_mask(data, key)
        buf = bytearray(data)
        _fallback.mask_inplace(memoryview(buf), key)
        assert buf == spec_mask(data, key)
    finally:
        _fallback.XOR_AS_INTEGERS = saved


def test_import_loads_nothing() -> None:
    result = run_python(
        "import gomask, gomask.mask, gomask.examples\n"
        "from gomask import _native\n"
        "from gomask import mask, unmask, mask_inplace, Masker, mask_batch\n"
        "assert _native.loaded is None\n"
        "gomask.mask.mask(b'x' * 8192, b'1234')  # long enough to go through Go everywhere\n"
        "assert _native.loaded is not None\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_gomaxprocs_is_raised_and_splits_stay_within_the_cpus() -> None:
    """The library raises GOMAXPROCS (threads that call keep a P each;
    docs/runtime-tax.md) but splits a buffer over no more goroutines than
    the CPUs; a GOMAXPROCS set in the environment is kept as it is."""
    code = (
        "from gomask import _native; import json; print(json.dumps(_native.library().build_info()))"
    )
    env = {k: v for k, v in os.environ.items() if k != "GOMAXPROCS"}
    info = json.loads(
        subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    assert info["max_procs"] >= 16
    assert 1 <= info["max_workers"] <= (os.cpu_count() or 1)
    pinned = json.loads(
        subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "GOMAXPROCS": "1"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    assert (pinned["max_procs"], pinned["max_workers"]) == (1, 1)
