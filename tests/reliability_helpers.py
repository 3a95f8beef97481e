"""Helpers of the reliability tests: bounded subprocesses and a workout of every function.

Anything that can hang or crash runs in a child interpreter started with
``run_python``: it has its own session, so a timeout kills the whole process
group (forked children and pool workers included) and the test fails instead
of hanging CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from typing import Any

import pytest

#: Python code defining ``exercise(seed)``: calls every public function with
#: checked results, including a GC-sized allocation and goroutines in Go (the
#: calls that hang in a forked child that kept its parent's Go runtime).
EXERCISE = textwrap.dedent(
    '''
    import os
    import random

    from gomask.examples import Person, add, hello_world, parse_person
    from gomask.mask import Masker, mask, mask_inplace, unmask, wstx

    KEY = bytes.fromhex("37fa213d")
    BIG_DOC = '{"name": "' + "x" * (4 << 20) + '", "age": 7, "cars": ["a"]}'


    def ref(data, key, pos=0):
        """Byte i XOR key[(pos + i) % 4], computed with Python integers."""
        n = len(data)
        stream = (key[pos % 4 :] + key[: pos % 4]) * (n // 4 + 1)
        x = int.from_bytes(data, "little") ^ int.from_bytes(stream[:n], "little")
        return x.to_bytes(n, "little")


    # fd 1 goes to /dev/null for the whole process, so that Go's hello_world
    # prints nowhere (even from many threads at once); results go to the
    # original stdout through emit().
    _RESULT_FD = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)


    def emit(result):
        """Report the script's result to the test as one JSON line."""
        import json

        os.write(_RESULT_FD, ("RESULT " + json.dumps(result) + "\\n").encode())


    def exercise(seed, big=True):
        rnd = random.Random(seed)
        data = rnd.randbytes(rnd.randrange(1, 70_000))
        pos = rnd.randrange(8)
        assert mask(data, KEY, pos) == ref(data, KEY, pos)
        assert unmask(bytearray(data), KEY, pos) == ref(data, KEY, pos)
        assert mask(memoryview(data)[::3], KEY) == ref(data[::3], KEY)
        buf = bytearray(data)
        mask_inplace(memoryview(buf)[1:], KEY, 1)
        assert buf == data[:1] + ref(data[1:], KEY, 1)
        m = Masker(KEY)
        assert m.process(data[:5]) + m.process(data[5:]) == ref(data, KEY)
        chunk = bytearray(data)
        m.reset(2)
        m.process_inplace(chunk)
        assert chunk == ref(data, KEY, 2)
        chunk = bytearray(data)
        k = wstx(0x37FA213D, memoryview(chunk)[:7])
        wstx(k, memoryview(chunk)[7:])
        assert chunk == ref(data, KEY)
        assert add(seed, -3) == seed - 3
        assert parse_person('{"name": "Ann", "age": %d}' % seed) == Person("Ann", seed, (), ())
        try:
            parse_person('{"name": "Ann", "age": -1}')
        except ValueError:
            pass
        else:
            raise AssertionError("a negative age was accepted")
        hello_world()
        if big:
            # Enough allocation for Go to start a GC, and a buffer split
            # over goroutines (8 MiB is above the parallel threshold).
            assert parse_person(BIG_DOC).age == 7
            large = bytearray(8 << 20)
            large[-1] = 1
            mask_inplace(large, KEY)
            assert large[:4] == KEY and large[-1] == KEY[3] ^ 1
    '''
)


def run_python(
    code: str,
    *,
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run *code* in a new interpreter; kill its whole process group on timeout.

    The code is written to a file first, so that multiprocessing's spawn and
    forkserver methods can import its ``__main__`` and tracebacks show source.
    """
    full_env = {**os.environ, "PYTHONFAULTHANDLER": "1", **(env or {})}
    fd, script = tempfile.mkstemp(suffix=".py", prefix="gomask-test-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(code)
    try:
        return _run(script, timeout, full_env, cwd)
    finally:
        os.unlink(script)


def _run(
    script: str, timeout: float, env: dict[str, str], cwd: str | None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(
        [sys.executable, script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        pytest.fail(
            f"the subprocess did not finish in {timeout} s (hung?)\n"
            f"--- stdout ---\n{out[-4000:]}\n--- stderr ---\n{err[-4000:]}"
        )
    finally:
        kill_group(proc)  # leftovers: forked children, pool workers
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the process group of *proc* (its own session): itself and what it forked."""
    if not hasattr(os, "killpg"):  # Windows: no process groups, no fork
        proc.kill()
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def result_of(proc: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a script printed on a line starting with ``RESULT ``; fail if it crashed."""
    assert proc.returncode == 0, (
        f"exit status {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}\n"
        f"--- stderr ---\n{proc.stderr[-6000:]}"
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    pytest.fail(f"no RESULT line\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")


def malloc_debug_env() -> dict[str, str]:
    """The environment of a child whose allocator checks its blocks: on
    CPython, PYTHONMALLOC=debug, whose hooks abort ("bad trailing pad byte")
    when a block is freed or resized after something wrote past its end. PyPy
    has no such hooks; there a crash or a wrong result is what shows."""
    if sys.implementation.name != "cpython":
        return {}
    return {"PYTHONMALLOC": "debug"}
