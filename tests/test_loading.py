"""Safe loading: which file is loaded, what a bad one says, and what loading leaves alone.

- the library is loaded by absolute path from the package (or the trusted
  GOMASK_LIBRARY override), never from the current directory or a search path;
- a library of the wrong ABI version or architecture, or a file that is not a
  library, gives a clear ImportError on the first call (importing works);
- importing starts no thread; the first call starts Go's;
- Python's signal handling still works: Ctrl-C raises KeyboardInterrupt during
  and after calls, SIGTERM still terminates, a closed stdout does not kill.

Every check runs in a child interpreter with a timeout.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType

import pytest
from conftest import needs_go_library
from reliability_helpers import kill_group, result_of, run_python

from gomask import _native

LINUX = sys.platform.startswith("linux")
CC = shutil.which("cc") or shutil.which("gcc")

FAKE_SOURCE = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Leaves a mark when loaded: proves whether the loader ever opened it. */
__attribute__((constructor)) static void planted(void) {
    const char *marker = getenv("GOMASK_TEST_MARKER");
    if (marker) {
        FILE *f = fopen(marker, "a");
        if (f) {
            fputs("loaded\n", f);
            fclose(f);
        }
    }
}

#ifndef NO_ABI
uint32_t gomask_abi_version(void) { return ABI; }
#endif
int unrelated(void) { return 1; }
"""


def build_fake(directory: Path, name: str, *defines: str) -> Path:
    if CC is None:
        pytest.skip("no C compiler to build a fake library")
    source = directory / "fake.c"
    source.write_text(FAKE_SOURCE)
    out = directory / name
    subprocess.run(
        [CC, "-shared", "-fPIC", "-o", str(out), str(source), *(f"-D{d}" for d in defines)],
        check=True,
        timeout=60,
    )
    return out


FIRST_CALL = textwrap.dedent(
    """
    import json

    import gomask.examples
    import gomask.mask  # importing loads nothing: it must work

    errors = []
    data = b"hello" * 2000  # long enough to be masked in Go on every interpreter
    for call in (lambda: gomask.examples.add(1, 2), lambda: gomask.mask.mask(data, b"abcd")):
        try:
            call()
        except ImportError as exc:
            errors.append(str(exc))
        else:
            errors.append(None)
    print("RESULT " + json.dumps(errors))
    """
)


def first_call_errors(library: Path | str, cwd: Path | None = None) -> list[str | None]:
    env = {"GOMASK_LIBRARY": str(library)}
    errors: list[str | None] = result_of(
        run_python(FIRST_CALL, timeout=60, env=env, cwd=str(cwd) if cwd else None)
    )
    return errors


def assert_import_error(errors: list[str | None], *fragments: str) -> None:
    assert len(errors) == 2
    for message in errors:  # the second call says the same: no half-loaded state
        assert message is not None, "a bad library was accepted"
        for fragment in fragments:
            assert fragment in message, message
        assert "GOMASK_PURE=1" in message, message  # how to get going anyway
        assert "GOMASK_LIBRARY=" in message, message  # the variable that named the file


# --- Bad libraries --------------------------------------------------------------


@pytest.mark.skipif(not LINUX, reason="builds an ELF library with cc")
def test_wrong_abi_version(tmp_path: Path) -> None:
    fake = build_fake(tmp_path, "libgomask.so", f"ABI={_native.ABI_VERSION + 1000}")
    assert_import_error(
        first_call_errors(fake),
        f"ABI version {_native.ABI_VERSION + 1000}, this gomask needs {_native.ABI_VERSION}",
        "stale",
    )


@pytest.mark.skipif(not LINUX, reason="builds an ELF library with cc")
def test_right_abi_but_functions_missing(tmp_path: Path) -> None:
    fake = build_fake(tmp_path, "libgomask.so", f"ABI={_native.ABI_VERSION}")
    assert_import_error(first_call_errors(fake), "the library has no function", "stale")


@pytest.mark.skipif(not LINUX, reason="builds an ELF library with cc")
def test_library_without_abi_version(tmp_path: Path) -> None:
    fake = build_fake(tmp_path, "libgomask.so", "NO_ABI")
    assert_import_error(first_call_errors(fake), "no gomask_abi_version", "not a gomask library")


@pytest.mark.skipif(not LINUX, reason="patches an ELF header")
def test_library_of_another_architecture_patched_header(tmp_path: Path) -> None:
    """The fake library with its ELF e_machine set to aarch64 (on an aarch64
    machine: x86_64), which is what the loader checks first."""
    fake = build_fake(tmp_path, "fake.so", "ABI=1")
    data = bytearray(fake.read_bytes())
    native = int.from_bytes(data[18:20], "little")
    other, name = (62, "x86_64") if native == 183 else (183, "aarch64")
    data[18:20] = other.to_bytes(2, "little")
    foreign = tmp_path / "libgomask.so"
    foreign.write_bytes(bytes(data))
    assert_import_error(first_call_errors(foreign), "cannot load its Go library", name)


@pytest.mark.skipif(not LINUX, reason="cross-builds a Linux binary")
def test_library_of_another_architecture_built_by_go(
    tmp_path: Path, go: tuple[list[str], dict[str, str]]
) -> None:
    """A real arm64 (or, on arm64, amd64) position-independent ELF built by
    Go's cross-compiler: pure Go, so no cross C compiler is needed."""
    command, env = go
    arch, name = ("amd64", "x86_64") if os.uname().machine == "aarch64" else ("arm64", "aarch64")
    (tmp_path / "go.mod").write_text("module foreign\n\ngo 1.24\n")
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    out = tmp_path / "libgomask.so"
    subprocess.run(
        [*command, "build", "-buildmode=pie", "-o", str(out), "."],
        cwd=tmp_path,
        env={**env, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": arch},
        check=True,
        timeout=300,
    )
    assert_import_error(first_call_errors(out), "cannot load its Go library", name)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"this is not a library\n", "it is not a shared library"),
        (b"", "it is not a shared library"),
        (b"MZ\x90\x00" + bytes(200), "Windows (PE)"),
        (b"\xcf\xfa\xed\xfe" + bytes(200), "Mach-O"),
        (b"\x7fELF" + bytes(12), "cannot load its Go library"),  # truncated ELF
    ],
    ids=["text", "empty", "pe", "macho", "truncated-elf"],
)
@pytest.mark.skipif(not LINUX, reason="loader messages of Linux")
def test_not_a_library(tmp_path: Path, content: bytes, fragment: str) -> None:
    bad = tmp_path / "libgomask.so"
    bad.write_bytes(content)
    assert_import_error(first_call_errors(bad), fragment)


@needs_go_library
@pytest.mark.parametrize("keep", [64, 8192, 0.5, -5000])
def test_truncated_real_library(tmp_path: Path, keep: float) -> None:
    """A library cut short (an interrupted copy, a full disk) maps fine and
    would kill the process with SIGBUS inside dlopen(): refused first."""
    data = _native.packaged_library_path().read_bytes()
    size = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    cut = tmp_path / _native.packaged_library_path().name
    cut.write_bytes(data[:size])
    if sys.platform.startswith("linux"):
        assert_import_error(first_call_errors(cut), "truncated or corrupt", f"{size} bytes")
    else:
        assert_import_error(first_call_errors(cut), "cannot load its Go library")


def test_missing_library_and_directory(tmp_path: Path) -> None:
    assert_import_error(first_call_errors(tmp_path / "nowhere.so"), "is missing")
    assert_import_error(first_call_errors(tmp_path), "is missing")


# --- Which file is loaded ---------------------------------------------------------

WHICH = textwrap.dedent(
    """
    import json

    from gomask import _native
    from gomask.examples import add

    assert add(40, 2) == 42
    print("RESULT " + json.dumps(str(_native.library().path)))
    """
)


@needs_go_library
def test_override_loads_the_named_library(tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "custom-name.so"
    copy.parent.mkdir()
    shutil.copyfile(_native.packaged_library_path(), copy)
    loaded = result_of(run_python(WHICH, timeout=60, env={"GOMASK_LIBRARY": str(copy)}))
    assert loaded == str(copy.resolve())
    # A relative override is the caller's (trusted) choice, resolved once to
    # an absolute path against the current directory.
    loaded = result_of(
        run_python(
            WHICH,
            timeout=60,
            env={"GOMASK_LIBRARY": "elsewhere/custom-name.so"},
            cwd=str(tmp_path),
        )
    )
    assert loaded == str(copy.resolve())
    # Empty means unset.
    loaded = result_of(run_python(WHICH, timeout=60, env={"GOMASK_LIBRARY": ""}))
    assert loaded == str(_native.packaged_library_path())


def test_library_without_its_debug_exports_works(
    tmp_path: Path, go: tuple[list[str], dict[str, str]], setup_py: ModuleType
) -> None:
    """A library built with -tags gomask_nodebug has none of the test and
    benchmark exports; gomask loads it and every function works."""
    from conftest import REPO

    from gomask._abi import library_filename

    command, env = go
    out = tmp_path / library_filename()
    flags = ["-tags", "gomask_nodebug", "-ldflags", setup_py.go_ldflags()]
    subprocess.run(
        [*command, "build", "-buildmode=c-shared", *flags, "-o", str(out), "."],
        cwd=REPO / "gosrc",
        env={**env, "CGO_ENABLED": "1"},
        check=True,
        timeout=600,
    )
    code = textwrap.dedent(
        """
        import json, os
        from gomask import _native, mask, mask_inplace, mask_batch
        from gomask.examples import add, parse_person
        key = bytes.fromhex("37fa213d")
        lib = _native.library()
        buf = bytearray(b"Hello" * 2000)
        mask_inplace(buf, key)
        print("RESULT " + json.dumps({
            "debug": sorted(lib.debug),
            "mask": mask(b"Hello", key).hex(),
            "inplace": bytes(buf) == mask(b"Hello" * 2000, key),
            "batch": mask_batch([b"Hello"], key) == [mask(b"Hello", key)],
            "add": add(2, 3),
            "person": parse_person('{"name": "a", "age": 1}').age,
        }))
        """
    )
    result = result_of(run_python(code, timeout=60, env={"GOMASK_LIBRARY": str(out)}))
    assert result == {
        "debug": [],
        "mask": "7f9f4d5158",
        "inplace": True,
        "batch": True,
        "add": 5,
        "person": 1,
    }


@needs_go_library
@pytest.mark.skipif(not LINUX, reason="builds an ELF library with cc")
def test_never_loads_a_planted_library(tmp_path: Path) -> None:
    """A libgomask.so in the current directory, on LD_LIBRARY_PATH and on
    PATH is never opened: the packaged library is loaded by absolute path."""
    planted = build_fake(tmp_path, _native.packaged_library_path().name, "ABI=1")
    marker = tmp_path / "marker"
    env = {
        "GOMASK_TEST_MARKER": str(marker),
        "LD_LIBRARY_PATH": str(tmp_path),
        "PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(tmp_path),
    }
    loaded = result_of(run_python(WHICH, timeout=60, env=env, cwd=str(tmp_path)))
    assert loaded == str(_native.packaged_library_path())
    assert Path(loaded).is_absolute()
    assert planted.exists()
    assert not marker.exists(), "the planted library was loaded"
    # The marker works: loading the planted file on purpose leaves it.
    run_python(WHICH, timeout=60, env={**env, "GOMASK_LIBRARY": str(planted)})
    assert marker.read_text() == "loaded\n"


# --- Import starts no threads ------------------------------------------------------


@needs_go_library
@pytest.mark.skipif(not LINUX, reason="counts threads in /proc/self/task")
def test_import_starts_no_threads() -> None:
    code = textwrap.dedent(
        """
        import json
        import os

        def threads():
            return len(os.listdir("/proc/self/task"))

        counts = {"start": threads()}
        import gomask
        counts["gomask"] = threads()
        import gomask.mask
        counts["gomask.mask"] = threads()
        import gomask.examples
        counts["gomask.examples"] = threads()
        from gomask import _native
        counts["loaded"] = _native.loaded is not None
        gomask.examples.add(1, 2)
        counts["after first call"] = threads()
        print("RESULT " + json.dumps(counts))
        """
    )
    counts = result_of(run_python(code, timeout=60))
    assert counts["start"] == 1
    assert counts["gomask"] == counts["gomask.mask"] == counts["gomask.examples"] == 1
    assert counts["loaded"] is False
    assert counts["after first call"] > 1  # Go's runtime threads, started by the first call


# --- Signals ------------------------------------------------------------------------


class Child:
    """A child interpreter that reports on stdout line by line."""

    def __init__(self, code: str, **env: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            start_new_session=True,
        )
        self.sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def line(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                self.fail(f"no line within {timeout} s")
            assert self.proc.stdout is not None
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.fail("the child closed stdout")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def wait(self, timeout: float = 30) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"did not exit within {timeout} s")
        raise AssertionError  # unreachable

    def fail(self, why: str) -> None:
        kill_group(self.proc)  # type: ignore[arg-type]
        _, err = self.proc.communicate()
        pytest.fail(f"{why}; stderr:\n{err.decode()[-3000:]}")

    def close(self) -> None:
        kill_group(self.proc)  # type: ignore[arg-type]
        self.proc.communicate()


SIGNAL_CHILD = textwrap.dedent(
    """
    import signal
    import sys
    import time

    from gomask.examples import add, parse_person
    from gomask.mask import mask, mask_inplace

    # Started in the background (nohup, &), a process inherits SIGINT ignored,
    # and Python keeps it so: install Python's handler, as a terminal has it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    KEY = b"abcd"
    big = bytearray(1 << 30)
    mask_inplace(big, KEY)  # load the library, touch the pages
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    mode = sys.argv[1]


    def short_calls():
        while True:
            mask(b"0123456789" * 10, KEY)
            add(1, 2)
            parse_person('{"name": "a", "age": 1}')


    def long_calls():
        while True:
            t0 = time.monotonic()
            mask_inplace(big, KEY)  # one call, GIL released, goroutines
            print("call", round(time.monotonic() - t0, 3), flush=True)


    for round_ in range(2):  # Ctrl-C twice: handling survives the first
        print("ready", flush=True)
        t0 = time.monotonic()
        try:
            short_calls() if mode == "short" else long_calls()
        except KeyboardInterrupt:
            print("KeyboardInterrupt", round(time.monotonic() - t0, 3), flush=True)
    assert mask(b"Hello", bytes.fromhex("37fa213d")) == bytes.fromhex("7f9f4d5158")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    print("done", flush=True)
    """
)


@needs_go_library
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("mode", ["short", "long"])
def test_ctrl_c_raises_keyboard_interrupt(mode: str) -> None:
    """SIGINT during a loop of short calls (GIL held) and during long calls
    (GIL released, goroutines): KeyboardInterrupt, as soon as the call in
    progress returns, twice in a row; gomask works afterwards."""
    child = Child(SIGNAL_CHILD.replace("sys.argv[1]", repr(mode)))
    try:
        for _ in range(2):
            assert child.line(60) == "ready"
            if mode == "long":
                assert child.line().startswith("call")  # inside the loop of long calls
            time.sleep(0.3)
            sent = time.monotonic()
            child.proc.send_signal(signal.SIGINT)
            line = child.line()
            while line.startswith("call"):
                line = child.line()
            assert line.startswith("KeyboardInterrupt"), line
            assert time.monotonic() - sent < 10
        assert child.line() == "done"
        assert child.wait() == 0
    finally:
        child.close()


@needs_go_library
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_still_terminates_and_handlers_still_run() -> None:
    code = textwrap.dedent(
        """
        import os
        import signal

        got = []
        signal.signal(signal.SIGUSR1, lambda *a: got.append("before"))  # before loading
        from gomask.examples import add
        add(1, 2)
        signal.signal(signal.SIGUSR2, lambda *a: got.append("after"))  # after loading
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR2)
        add(1, 2)
        assert got == ["before", "after"], got
        print("ready", flush=True)
        while True:
            add(1, 2)
        """
    )
    child = Child(code)
    try:
        assert child.line() == "ready"
        child.proc.send_signal(signal.SIGTERM)
        assert child.wait() == -signal.SIGTERM
    finally:
        child.close()


@needs_go_library
@pytest.mark.skipif(sys.platform == "win32", reason="SIGPIPE")
def test_hello_world_to_a_closed_pipe_is_an_error_not_death() -> None:
    """Go's os package would turn EPIPE on stdout into a SIGPIPE that kills
    the host process; hello_world reports it as an exception instead."""
    code = textwrap.dedent(
        """
        import os
        import sys
        import time

        from gomask.examples import add, hello_world

        add(1, 2)
        os.read(0, 1)  # wait until the test has closed our stdout's reader
        try:
            hello_world()
        except ValueError as exc:
            print("hello_world:", exc, file=sys.stderr)
        try:
            os.write(1, b"x")
        except BrokenPipeError:
            print("python: BrokenPipeError", file=sys.stderr)
        print("alive", file=sys.stderr)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdin is not None
        assert proc.stderr is not None
        proc.stdout.close()
        proc.stdin.write(b"x")
        proc.stdin.close()
        proc.wait(timeout=60)
        err = proc.stderr.read()  # a few lines: fits in the pipe
    finally:
        kill_group(proc)  # type: ignore[arg-type]
    lines = err.decode().splitlines()
    assert proc.returncode == 0, (proc.returncode, lines)
    assert lines == [
        "hello_world: hello_world: cannot write to standard output: broken pipe",
        "python: BrokenPipeError",
        "alive",
    ]
