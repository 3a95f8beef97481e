"""Call every export of a gomask library with hostile arguments, as C would.

``python abi_calls.py LIBRARY HEADER EXPORT CALLS`` loads LIBRARY with raw
ctypes, types EXPORT with the prototype of HEADER (the header ``go build
-buildmode=c-shared`` wrote for LIBRARY) and calls it with every combination
of hostile values for its parameters, bypassing gomask's Python checks:

- a pointer is NULL or points to a buffer of :data:`ROOM` bytes, which holds
  zeros or :data:`PATTERN` (size_t words 1, 2**64-1, ...: lengths whose sums
  wrap around); a parameter of an export named ``*_free`` is NULL only (it
  takes nothing but what Go returned);
- a size_t is 0, small (no more than the buffers hold for any element size
  up to 64 bytes), or beyond Go's int (2**63, 2**64-1); 2**61, 2**62 and
  2**63-1, which a buffer cannot be checked against, only where every
  pointer is NULL;
- signed integers at their bounds, unsigned ones at 0, 1 and their maximum.

Each call must return: an error (freed through gomask_error_free), or
success. A GOMASK_EPANIC error counts as a failure, except from
gomask_debug_panic, which panics on purpose: hostile input deserves a clean
error, and a recovered panic means a check is missing. Then every distinct
outcome (the export's error message with its numbers left out, or success)
is repeated CALLS times, as tests/test_memory.py measures RSS: after a
warm-up, in two halves, growth = 2 * the smaller half.

Before each call the arguments are written to the file named by the
environment variable GOMASK_ABI_LAST_CALL, so that a test whose child dies
can say which call killed it. Prints one line, ``RESULT {json}``.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import json
import os
import re
import sys
from collections.abc import Iterator
from typing import Any

#: Bytes of every buffer a pointer argument points to.
ROOM = 4096
#: The largest "small" size_t: ROOM holds SMALL elements of up to 64 bytes.
SMALL = ROOM // 64
#: size_t words 1, 2**64-1 repeated: lens[0] + lens[1] + lens[2] wraps to 1.
PATTERN = b"".join(w.to_bytes(8, sys.byteorder) for w in (1, 2**64 - 1) * (ROOM // 16))

SIZE_MAX = 2**64 - 1
GOMASK_EVALUE, GOMASK_EOVERFLOW, GOMASK_EPANIC = 1, 2, 3

#: Values of each integer type of the header; "unchecked" ones (fit in Go's
#: int, so no export can reject them for size) only where no pointer is set.
INTEGERS: dict[str, tuple[list[int], list[int]]] = {
    "size_t": ([0, 1, 3, 4, 12, SMALL, 2**63, SIZE_MAX], [2**61, 2**62, 2**63 - 1]),
    "int": ([0, 1, -1, 2**31 - 1, -(2**31)], []),
    "int64_t": ([0, 1, -1, 2**63 - 1, -(2**63)], []),
    "uint32_t": ([0, 1, 2**32 - 1], []),
}


class CError(ctypes.Structure):
    _fields_ = (("code", ctypes.c_int32), ("message", ctypes.c_char_p))


def c_prototypes(header: str) -> dict[str, tuple[list[str], str]]:
    """name -> (parameter C types, result C type) of every ``extern gomask_*``
    prototype of *header*, types without spaces ("uint8_t*", "gomask_person**")."""
    found = {}
    pattern = r"^extern (.+?)\s*\b(gomask_\w+)\((.*)\);$"
    for restype, name, params in re.findall(pattern, header, re.MULTILINE):
        args = [] if params.strip() in ("", "void") else params.split(",")
        # "uint8_t* dst" -> "uint8_t*": drop the parameter's name.
        found[name] = (
            [re.sub(r"\s*\b\w+$", "", a.strip()).replace(" ", "") for a in args],
            restype.replace(" ", ""),
        )
    return found


def _argument_values(name: str, c_types: list[str]) -> Iterator[tuple[Any, ...]]:
    """Every hostile combination of arguments for export *name*: pointers as
    the name of their buffer ("zeros", "pattern") or None."""
    pointers = [None] if name.endswith("_free") else [None, "zeros", "pattern"]
    choices = []
    for c_type in c_types:
        if c_type.endswith("*"):
            choices.append(pointers)
        elif c_type in INTEGERS:
            checked, unchecked = INTEGERS[c_type]
            choices.append(checked + [("unchecked", v) for v in unchecked])
        else:
            raise SystemExit(f"no hostile values for {c_type} ({name}): add them to abi_calls.py")
    for combo in itertools.product(*choices):
        unchecked = any(isinstance(v, tuple) for v in combo)
        if unchecked and any(isinstance(v, str) for v in combo):
            continue  # a buffer with a length Go cannot check: the caller's lie
        yield tuple(v[1] if isinstance(v, tuple) else v for v in combo)


def main() -> None:
    library, header_path, export, calls = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(header_path) as f:
        prototypes = c_prototypes(f.read())
    dll = ctypes.CDLL(library)
    error_free = dll.gomask_error_free
    error_free.argtypes, error_free.restype = (ctypes.c_void_p,), None
    go_free = dll.gomask_free
    go_free.argtypes, go_free.restype = (ctypes.c_void_p,), None
    c_types, restype = prototypes[export]
    fn = getattr(dll, export)
    fn.argtypes = [_ctype(t) for t in c_types]
    fn.restype = _ctype(restype)
    # Pointer-to-pointer results (gomask_person** out) are freed by their
    # type's _free export, where one exists.
    out_free = {}
    for i, t in enumerate(c_types):
        if t.endswith("**") and f"{t[:-2]}_free" in prototypes:
            out_free[i] = getattr(dll, f"{t[:-2]}_free")
            out_free[i].argtypes, out_free[i].restype = (ctypes.c_void_p,), None

    buffers = {
        "zeros": ctypes.create_string_buffer(ROOM),
        "pattern": ctypes.create_string_buffer(ROOM),
    }
    templates = {"zeros": bytes(ROOM), "pattern": PATTERN}
    last_call = os.open(os.environ["GOMASK_ABI_LAST_CALL"], os.O_WRONLY | os.O_CREAT, 0o600)
    results_fd = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # gomask_hello_world prints to fd 1

    def call(values: tuple[Any, ...]) -> str:
        for key, buf in buffers.items():
            ctypes.memmove(buf, templates[key], ROOM)
        args = [
            ctypes.cast(buffers[v], ctypes.c_void_p) if isinstance(v, str) else v for v in values
        ]
        result = fn(*args)
        if not result:  # success: free what Go wrote to the result pointers
            for i, free in out_free.items():
                if isinstance(values[i], str):
                    free(ctypes.c_void_p.from_buffer(buffers[values[i]]).value)
        if restype == "gomask_error*":
            if not result:
                return "ok"
            err = CError.from_address(result)
            code, message = err.code, (err.message or b"").decode("utf-8", "replace")
            error_free(result)
            return f"error {code}: {message}"
        if restype == "char*" and result:
            go_free(result)
        return "ok"

    allowed = tuple(f"error {code}:" for code in (GOMASK_EVALUE, GOMASK_EOVERFLOW))
    if export == "gomask_debug_panic":
        allowed += (f"error {GOMASK_EPANIC}:",)
    outcomes: dict[str, tuple[Any, ...]] = {}  # outcome without numbers -> first arguments
    failures = []
    calls_made = 0
    for values in _argument_values(export, c_types):
        os.pwrite(last_call, repr(values).encode().ljust(512), 0)
        outcome = call(values)
        calls_made += 1
        if outcome.startswith("error") and not outcome.startswith(allowed):
            failures.append([repr(values), outcome])
        outcomes.setdefault(re.sub(r"-?\d+", "N", outcome), values)
    os.pwrite(last_call, b"(memory)".ljust(512), 0)

    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        gc.collect()
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page

    growth = {}
    for outcome, values in outcomes.items():
        os.pwrite(last_call, f"(memory) {values!r}".encode().ljust(512), 0)
        for _ in range(calls // 5):  # warm up: caches, Go heap, allocator arenas
            call(values)
        halves = []
        for _ in range(2):
            before = rss()
            for _ in range(calls // 2):
                call(values)
            halves.append(rss() - before)
        growth[f"{outcome} {values!r}"] = 2 * min(halves)
    result = {
        "calls": calls_made,
        "outcomes": sorted(outcomes),
        "failures": failures,
        "growth": growth,
    }
    os.write(results_fd, ("RESULT " + json.dumps(result) + "\n").encode())


def _ctype(c_type: str) -> Any:
    """The ctypes type to call with: every pointer a void*, integers by width."""
    if c_type.endswith("*"):
        return ctypes.c_void_p
    return {
        "void": None,
        "int": ctypes.c_int,
        "int64_t": ctypes.c_int64,
        "uint32_t": ctypes.c_uint32,
        "size_t": ctypes.c_size_t,
    }[c_type]


if __name__ == "__main__":
    main()
