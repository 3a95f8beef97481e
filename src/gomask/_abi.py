"""The facts the build and the binding share: the library's file name and ABI version,
and how gomask reads its on/off environment variables.

setup.py builds the library under :func:`library_filename` and passes
:data:`ABI_VERSION` to Go (``-ldflags -X main.abiVersion=...``), which
reports it from ``gomask_abi_version()``; ``_native.py`` loads that file
and refuses a library whose version differs. This is the only place the
version is written. Standard library only: setup.py runs this file before
gomask is installed.
"""

from __future__ import annotations

import os
import sys

#: The version of the library's C ABI: the exports, their prototypes and the
#: structs of gosrc/gomask_abi.h, as _native.py declares them. Bump it with
#: any change to those (tests/test_abi.py compares Go's generated header with
#: _native.py's prototypes).
ABI_VERSION = 5


def library_filename() -> str:
    """The library's file name on this platform.

    Not a name the import system takes for a module: pkgutil (and so
    ``help(gomask)``) lists every file of the package whose name ends in an
    extension-module suffix (``importlib.machinery.EXTENSION_SUFFIXES``:
    ``.so`` on Linux and macOS, ``.pyd`` on Windows) as a module, and
    ``import gomask.libgomask`` would fail. So on ELF platforms the ABI
    version follows ``.so``, as in a shared library's soname; ``.dylib`` and
    ``.dll`` are no module suffix.
    """
    if sys.platform == "win32":
        return "libgomask.dll"
    if sys.platform == "darwin":
        return "libgomask.dylib"
    return f"libgomask.so.{ABI_VERSION}"


#: The values of an on/off environment variable (GOMASK_PURE, GOMASK_PURE_WHEEL),
#: compared without case and surrounding blanks; any other value is an error.
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


def environment_flag(name: str) -> bool:
    """Whether the on/off environment variable *name* is on (unset is off).

    Raises ValueError for a value that is neither: ``GOMASK_PURE=false``
    must not select what it reads as refusing, nor a typo anything at all.
    """
    value = os.environ.get(name, "")
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(
        f"gomask: {name}={value!r} is neither on ({', '.join(TRUE_WORDS)}) nor off "
        f"({', '.join(FALSE_WORDS[:-1])}, or empty); set it to one of those, or unset it"
    )
