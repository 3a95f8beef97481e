"""The Go library's file name on this platform.

setup.py writes the library under this name and _native.py loads it; both
read it from here so they cannot disagree. Standard library only: setup.py
runs this file before gomask is installed.
"""

from __future__ import annotations

import sys


def library_filename() -> str:
    if sys.platform == "win32":
        return "libgomask.dll"
    if sys.platform == "darwin":
        return "libgomask.dylib"
    return "libgomask.so"
