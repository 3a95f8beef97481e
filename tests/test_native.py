"""The loader, the pure-Python mode and `python -m gomask info`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import needs_go_library, spec_mask
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


@needs_go_library
def test_library_is_next_to_the_package() -> None:
    path = _native.packaged_library_path()
    assert path.parent == Path(gomask.__file__).resolve().parent
    assert path.is_file(), "the Go library was not built into the package"
    assert re.fullmatch(rf"libgomask\.(so\.{_native.ABI_VERSION}|dylib|dll)", path.name), path


@needs_go_library
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


@needs_go_library
def test_versions_agree() -> None:
    info = _native.library().build_info()
    assert info["version"] == gomask.__version__
    assert info["abi"] == _native.ABI_VERSION
    assert info["go_version"].startswith("go1.")


@needs_go_library
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


@pytest.mark.parametrize(
    ("value", "pure"),
    [
        *[("1", True), ("true", True), (" Yes ", True), ("ON", True)],
        *[("0", False), ("false", False), ("no", False), ("Off", False), ("", False)],
    ],
)
def test_gomask_pure_reads_on_and_off(value: str, pure: bool) -> None:
    """GOMASK_PURE=false and =no leave gomask as it is (they selected pure mode)."""
    result = run_python("from gomask import _native; print(_native.PURE_REASON)", GOMASK_PURE=value)
    assert result.returncode == 0, result.stderr
    assert (result.stdout.strip() == "GOMASK_PURE is set") is pure, result.stdout


@pytest.mark.parametrize("value", ["2", "maybe", "ture", "1.0"])
def test_gomask_pure_refuses_other_values(value: str) -> None:
    result = run_python("import gomask", GOMASK_PURE=value)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ValueError: gomask: GOMASK_PURE={value!r} is neither on (1, true, "), (
        result.stderr
    )


def pure_build_copy(tmp_path: Path, reason: str | None) -> Path:
    """A copy of this gomask's package as the pure-Python build installs it:
    no library, and (if *reason*) the record of why (setup.py's build_py_pure).
    -> the directory to put on PYTHONPATH."""
    import shutil

    site = tmp_path / "site"
    shutil.copytree(
        Path(gomask.__file__).parent,
        site / "gomask",
        ignore=shutil.ignore_patterns("libgomask*", "__pycache__", _native.PURE_BUILD_FILE),
    )
    if reason is not None:
        (site / "gomask" / _native.PURE_BUILD_FILE).write_text(reason + "\n", encoding="utf-8")
    return site


def test_pure_build_says_why_it_was_built_so(tmp_path: Path) -> None:
    """The pure-Python build: info names the build-time reason, masking works,
    and the examples (which call Go) say that this build has no library,
    rather than to reinstall gomask or Go."""
    site = pure_build_copy(tmp_path, "GOMASK_PURE_WHEEL=1 is set")
    env = {"PYTHONPATH": str(site), "GOMASK_PURE": "", "GOMASK_LIBRARY": ""}
    info = subprocess.run(
        [sys.executable, "-m", "gomask", "info"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        cwd=tmp_path,
    )
    assert info.returncode == 0, info.stderr
    assert re.search(r"^implementation +python$", info.stdout, re.MULTILINE)
    why = re.search(r"^why +(.*)$", info.stdout, re.MULTILINE)
    assert why is not None, info.stdout
    assert "gomask's pure-Python build" in why.group(1)
    assert "because GOMASK_PURE_WHEEL=1 is set" in why.group(1)
    code = (
        "import gomask, gomask.examples\n"
        f"assert gomask.__file__.startswith({str(site)!r}), gomask.__file__\n"
        "assert gomask.mask(b'Hello', bytes.fromhex('37fa213d')) == bytes.fromhex('7f9f4d5158')\n"
        "try:\n    gomask.examples.add(1, 2)\n"
        "except ImportError as e:\n    print(e)\n"
    )
    result = run_python(code, **env)
    assert result.returncode == 0, result.stderr
    assert "this is its pure-Python build, which has no Go library" in result.stdout
    assert "GOMASK_PURE_WHEEL=1 is set" in result.stdout
    assert "Reinstall" not in result.stdout


def test_a_missing_library_without_the_record_is_not_the_pure_build(tmp_path: Path) -> None:
    """A package that lost its library (no record of a pure build) is broken,
    not pure: the first call says so."""
    site = pure_build_copy(tmp_path, None)
    code = (
        "import gomask\n"
        "from gomask import _native\n"
        "assert _native.PURE_REASON is None\n"
        "try:\n    gomask.mask(b'x' * 65536, b'1234')\n"
        "except ImportError as e:\n    print(e)\n"
    )
    result = run_python(code, PYTHONPATH=str(site), GOMASK_PURE="", GOMASK_LIBRARY="")
    assert result.returncode == 0, result.stderr
    assert "its Go library is missing" in result.stdout


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


@needs_go_library
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


@needs_go_library
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
