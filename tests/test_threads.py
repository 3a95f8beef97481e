"""Threads: concurrent calls are correct, buffers stay pinned, the GIL is released.

Each test runs in its own interpreter (a deadlock fails on a timeout instead
of hanging CI).
"""

from __future__ import annotations

import sys
import textwrap

import pytest
from conftest import PYPY, needs_go_library, skip_on_313t_bytearray_race
from reliability_helpers import EXERCISE, result_of, run_python


def script(body: str) -> str:
    return "\n".join(["import json, sys, threading, time", EXERCISE, textwrap.dedent(body)])


@needs_go_library
def test_many_threads_calling_every_function() -> None:
    """16 threads call every function with checked results, with buffers on
    both sides of the GIL threshold and split over goroutines."""
    code = script(
        """
        import array

        try:
            import numpy as np
        except ImportError:  # no numpy for this Python
            np = None

        import gomask.mask as gm
        from gomask import _native

        gm.set_parallelism(threshold=1 << 20, workers=2)
        mask_batch = getattr(gm, "mask_batch", None)
        THREADS, ROUNDS = 16, 60
        errors = []
        barrier = threading.Barrier(THREADS)


        def worker(t):
            try:
                barrier.wait()  # all start together, also on the first load
                rnd = random.Random(t)
                for i in range(ROUNDS):
                    seed = t * 1000 + i
                    exercise(seed, big=(i % 20 == 0))
                    n = rnd.choice([5, 63, 1 << 14, (1 << 14) + 3, (1 << 20) + 5, 3 << 20])
                    data = rnd.randbytes(n)
                    key = rnd.randbytes(4)
                    pos = rnd.randrange(4)
                    want = ref(data, key, pos)
                    assert gm.mask(data, key, pos) == want
                    if np is not None:
                        arr = np.frombuffer(bytearray(data), dtype=np.uint8).copy()
                        gm.mask_inplace(arr, key, pos)
                        assert arr.tobytes() == want
                    a = array.array("B", data)
                    gm.mask_inplace(a, key, pos)
                    assert a.tobytes() == want
                    if mask_batch is not None:
                        parts = [data[:7], data[7:100], data[100:]]
                        keys = [key, key[::-1], bytes(4)]
                        got = mask_batch(parts, keys)
                        assert got == [ref(p, k) for p, k in zip(parts, keys)]
            except BaseException as exc:
                import traceback

                errors.append(f"thread {t}: {exc!r}\\n{traceback.format_exc()}")


        threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=150)
        alive = sum(t.is_alive() for t in threads)
        emit({"alive": alive, "errors": errors[:3]})
        sys.stdout.flush()
        os._exit(0)  # do not wait for a stuck thread
        """
    )
    result = result_of(run_python(code, timeout=200))
    assert result == {"alive": 0, "errors": []}, result


@needs_go_library
def test_first_use_from_many_threads_loads_one_library() -> None:
    code = script(
        """
        from gomask import _native

        barrier = threading.Barrier(16)
        seen = []


        def first_call():
            barrier.wait()
            assert add(2, 3) == 5
            seen.append(id(_native.library()))


        threads = [threading.Thread(target=first_call) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        with open("/proc/self/maps") as f:
            mapped = {line.split()[-1] for line in f if "libgomask" in line}
        emit({"ids": len(set(seen)), "calls": len(seen),
                                      "files": sorted(mapped)})
        """
    )
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/maps")
    result = result_of(run_python(code, timeout=60))
    assert result["calls"] == 16
    assert result["ids"] == 1
    assert len(result["files"]) == 1, result


@needs_go_library
@skip_on_313t_bytearray_race
@pytest.mark.skipif(PYPY, reason="PyPy cannot pin a buffer: gomask masks it in Python there")
@pytest.mark.parametrize("kind", ["bytearray", "array"])
def test_buffer_cannot_be_resized_while_go_writes_it(kind: str) -> None:
    """While one thread masks a large buffer in place (GIL released), another
    thread's attempts to resize it raise BufferError; nothing is corrupted."""
    code = script(
        f"""
        import array

        from gomask.mask import mask_inplace

        N = 32 << 20
        original = random.Random(1).randbytes(N)
        buf = bytearray(original) if "{kind}" == "bytearray" else array.array("B", original)
        CALLS = 40  # even: the buffer ends as it started
        done = threading.Event()


        def masker():
            for _ in range(CALLS):
                mask_inplace(buf, KEY)
            done.set()


        t = threading.Thread(target=masker)
        t.start()
        refused = grown = 0
        while not done.is_set():
            try:
                buf.append(0)
            except BufferError:
                refused += 1  # pinned: Go is writing it
                continue
            grown += 1
            while True:  # undo; the masker may have pinned it meanwhile
                try:
                    buf.pop()
                    break
                except BufferError:
                    refused += 1
                    time.sleep(0)
        t.join(timeout=120)
        emit({{
            "refused": refused, "grown": grown, "alive": t.is_alive(),
            "len_ok": len(buf) == N, "intact": bytes(buf) == original,
        }})
        """
    )
    result = result_of(run_python(code, timeout=150))
    print(result)
    assert result["alive"] is False
    assert result["refused"] > 0, result  # resizes were refused during Go calls
    assert result["len_ok"], result
    assert result["intact"], result


@needs_go_library
def test_large_calls_let_other_threads_run() -> None:
    """Calls on buffers above GIL_RELEASE_THRESHOLD release the GIL: another
    Python thread makes progress while Go masks."""
    code = script(
        """
        from gomask.mask import mask_inplace

        buf = bytearray(64 << 20)
        mask_inplace(buf, KEY)  # touch the pages, load the library
        windows = []
        done = threading.Event()
        ticking = threading.Event()


        def masker():
            ticking.wait(60)  # the other thread is running: measure from here
            for _ in range(10):
                t0 = time.perf_counter()
                mask_inplace(buf, KEY)
                windows.append((t0, time.perf_counter()))
            done.set()


        ticks = []
        t = threading.Thread(target=masker)
        t.start()
        while not done.is_set():
            ticks.append(time.perf_counter())
            ticking.set()
        t.join()
        inside = sum(any(a < x < b for a, b in windows) for x in ticks)
        emit({"inside": inside, "ticks": len(ticks)})
        """
    )
    result = result_of(run_python(code, timeout=120))
    print(result)
    assert result["inside"] > 100, result


@needs_go_library
def test_the_gil_stays_as_it_was() -> None:
    """Importing and calling gomask leaves the GIL as the interpreter runs
    (on free-threaded CPython with the GIL disabled, disabled: no module
    gomask imports asks for it), with no warning."""
    code = textwrap.dedent(
        """
        import os, sys

        def gil():
            return getattr(sys, "_is_gil_enabled", lambda: True)()

        before = gil()
        import gomask, gomask.mask, gomask.examples, gomask.integrations
        from gomask import mask, mask_inplace, mask_batch, Masker
        from gomask.examples import add, parse_person
        key = os.urandom(4)
        for n in (5, 5000, 300_000, 3 << 20):
            data = os.urandom(n)
            assert mask(mask(data, key), key) == data
            buf = bytearray(data)
            mask_inplace(buf, key)
            mask_inplace(buf, key)
            assert buf == data
        assert mask_batch([b"ab", b"cde"], key * 2) == [mask(b"ab", key), mask(b"cde", key)]
        assert add(2, 3) == 5 and parse_person('{"name": "x", "age": 1}').age == 1
        print("RESULT " + json.dumps([before, gil()]))
        """
    )
    proc = run_python("import json\n" + code, timeout=60, env={"PYTHONWARNINGS": "error"})
    before, after = result_of(proc)
    assert after == before
    assert proc.stderr == ""
