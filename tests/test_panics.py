"""Go panics and errors become Python exceptions, never an aborted interpreter.

``gomask_debug_panic`` (not public API) panics on purpose; the export layer
recovers it into a ``gomask_error`` that Python turns into ``GoPanicError``
and frees through Go. Everything runs in a child interpreter: an unrecovered
panic would abort the process, and the test reports that instead of dying.
"""

from __future__ import annotations

import textwrap

from conftest import needs_go_library
from reliability_helpers import EXERCISE, result_of, run_python

# Panics are Go's: the debug exports of the library make them.
pytestmark = needs_go_library

PRELUDE = textwrap.dedent(
    """
    import ctypes
    import os
    import sys
    import threading

    from gomask import _native
    import gomask
    from gomask import GoPanicError


    def panic(message=b"boom", runtime_error=False, gil=True):
        lib = _native.library()
        fn = (lib.debug_gil if gil else lib.debug)["panic"]
        # With runtime_error, Go indexes an empty slice at len(message).
        error = fn(message, len(message), int(runtime_error))
        lib.check(error)  # raises and frees the error
        raise AssertionError("gomask_debug_panic returned no error")


    def raised(call, *args, **kwargs):
        try:
            call(*args, **kwargs)
        except Exception as exc:
            return [type(exc).__name__, str(exc)]
        return None
    """
)


def run(body: str, timeout: float = 120) -> object:
    code = "\n".join([EXERCISE, PRELUDE, textwrap.dedent(body)])
    return result_of(run_python(code, timeout=timeout))


def test_panic_is_a_python_exception_with_gos_message() -> None:
    result = run(
        """
        emit({
            "gil": raised(panic, b"boom"),
            "nogil": raised(panic, b"boom", gil=False),
            "runtime": raised(panic, b"12345", runtime_error=True),
            "runtime_nogil": raised(panic, b"12345", runtime_error=True, gil=False),
            "invalid_utf8": raised(panic, b"bad \\xff\\xfe bytes"),
            "nul": raised(panic, b"before\\x00after"),
            "long": len(raised(panic, b"x" * (1 << 20))[1]),
            "is_runtime_error": issubclass(GoPanicError, RuntimeError),
            "public": GoPanicError is _native.GoPanicError and "GoPanicError" in gomask.__all__,
        })
        """
    )
    assert result == {
        "gil": ["GoPanicError", "Go panic: boom"],
        "nogil": ["GoPanicError", "Go panic: boom"],
        "runtime": [
            "GoPanicError",
            "Go panic: runtime error: index out of range [5] with length 0",
        ],
        "runtime_nogil": [
            "GoPanicError",
            "Go panic: runtime error: index out of range [5] with length 0",
        ],
        "invalid_utf8": ["GoPanicError", "Go panic: bad \ufffd\ufffd bytes"],
        # A C string ends at the first NUL: the message is cut there, safely.
        "nul": ["GoPanicError", "Go panic: before"],
        "long": len("Go panic: ") + (1 << 20),
        "is_runtime_error": True,
        "public": True,
    }


def test_many_panics_leave_go_and_python_working() -> None:
    """20 000 panics in a row, then 8 threads panicking while 8 others call
    every function: every panic is an exception, every result is right."""
    result = run(
        """
        for i in range(20_000):
            try:
                panic(b"p%d" % i, runtime_error=bool(i % 2), gil=bool(i % 3))
            except GoPanicError as exc:
                assert str(exc).startswith("Go panic: "), exc
        exercise(1)
        errors = []


        def panicker(t):
            try:
                for i in range(2000):
                    try:
                        panic(b"thread %d" % t, gil=bool(i % 2))
                    except GoPanicError as exc:
                        assert str(exc) == "Go panic: thread %d" % t, exc
            except BaseException as exc:
                errors.append(repr(exc))


        def worker(t):
            try:
                for i in range(15):
                    exercise(t * 100 + i, big=(i == 0))
            except BaseException as exc:
                errors.append(repr(exc))


        threads = [threading.Thread(target=panicker, args=(t,)) for t in range(8)]
        threads += [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=100)
        emit({"errors": errors, "alive": sum(t.is_alive() for t in threads)})
        """
    )
    assert result == {"errors": [], "alive": 0}


def test_panic_in_a_forked_child() -> None:
    result = run(
        """
        import time

        exercise(0, big=False)
        pid = os.fork()
        if pid == 0:
            ok = raised(panic, b"child") == ["GoPanicError", "Go panic: child"]
            exercise(1)
            os._exit(0 if ok else 1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.01)
        else:
            os.kill(pid, 9)
            status = "hung"
        emit(status)
        """
    )
    assert result == 0


def test_errors_travel_as_codes_with_gos_message() -> None:
    """Each error code of a gomask_error maps to its exception, with the
    message written by Go, and the error is freed (no-ops on NULL too)."""
    result = run(
        """
        from gomask.examples import add, parse_person

        lib = _native.library()
        out = ctypes.POINTER(_native.CPerson)()
        raw_parse = lib.parse_person
        lib._error_free(None)
        lib.person_free(None)
        emit({
            "overflow": raised(add, 2**63 - 1, 1),
            "value": raised(parse_person, '{"name": "a", "age": "x"}'),
            "null_doc": raised(lib.check, raw_parse(None, 5, ctypes.byref(out))),
            # A length above the limit is refused before Go reads a byte.
            "huge_len": raised(lib.check, raw_parse(b"{}", 2**64 - 1, ctypes.byref(out))),
            "out_untouched": not out,
        })
        """
    )
    kind, message = result.pop("value")
    assert kind == "ValueError"
    assert message.startswith("invalid person document: json: cannot unmarshal string"), message
    assert "age" in message
    assert result == {
        "overflow": ["OverflowError", "add: 9223372036854775807 + 1 overflows a 64-bit integer"],
        "null_doc": ["ValueError", "parse_person: NULL document with a non-zero length"],
        "huge_len": [
            "ValueError",
            f"parse_person: document is {2**64 - 1} bytes, more than the limit of {16 << 20}",
        ],
        "out_untouched": True,
    }
