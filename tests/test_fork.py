"""fork(): children, grandchildren and fork pools must never hang.

The Go runtime does not survive fork(): a child that calls into the runtime
it inherited hangs as soon as Go needs its (missing) threads, for a GC or a
goroutine. gomask reloads a private copy of the library in a forked child
(see gomask._native). Every test runs in its own interpreter with a bounded
wait on every child, so a regression fails instead of hanging CI.
"""

from __future__ import annotations

import os
import sys
import textwrap

import pytest
from conftest import needs_go_library
from reliability_helpers import EXERCISE, result_of, run_python

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")

# Threads that stay inside Go calls while the parent forks: one masks a
# large buffer with the GIL released and goroutines running, one decodes
# documents (GIL released), one makes short calls that keep the GIL.
BUSY_THREADS = textwrap.dedent(
    """
    import threading

    stop = threading.Event()
    busy_calls = [0, 0, 0]


    def busy_large():
        buf = bytearray(16 << 20)
        while not stop.is_set():
            mask_inplace(buf, KEY)
            busy_calls[0] += 1


    def busy_decode():
        doc = '{"name": "' + "y" * 300_000 + '", "age": 1}'
        while not stop.is_set():
            parse_person(doc)
            busy_calls[1] += 1


    def busy_short():
        while not stop.is_set():
            mask(b"0123456789" * 10, KEY)
            add(1, 2)
            busy_calls[2] += 1


    busy = [threading.Thread(target=f) for f in (busy_large, busy_decode, busy_short)]
    """
)

WAIT = textwrap.dedent(
    """
    import signal
    import time


    def wait_all(pids, seconds):
        \"\"\"Wait for every pid until a deadline; SIGKILL the rest. -> (ok, failed, hung)\"\"\"
        deadline = time.monotonic() + seconds
        pending, ok, failed = set(pids), 0, []
        while pending and time.monotonic() < deadline:
            for pid in list(pending):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    pending.discard(pid)
                    if status == 0:
                        ok += 1
                    else:
                        failed.append(status)
            time.sleep(0.005)
        for pid in pending:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        return ok, failed, len(pending)
    """
)


def script(body: str) -> str:
    return "\n".join(
        [
            "import json, os, sys, warnings",
            # Python >= 3.12 warns on fork() with threads; that is the point here.
            "warnings.simplefilter('ignore', DeprecationWarning)",
            EXERCISE,
            BUSY_THREADS,
            WAIT,
            textwrap.dedent(body),
        ]
    )


CHILDREN = 40


@needs_go_library
def test_fork_children_with_threads_busy_in_go() -> None:
    """40 children, 30 grandchildren and 20 great-grandchildren, forked while
    three threads of the first parent are inside Go calls; each calls every
    function, with a GC and goroutines in Go."""
    code = script(
        f"""
        exercise(0)  # the parent has loaded the library and run Go
        for t in busy:
            t.start()
        time.sleep(0.2)
        first_call_r, first_call_w = os.pipe()


        def child(depth, seed):
            try:
                if depth == 1 and seed % 4 == 1:
                    # Fork again before this child ever called Go: the
                    # grandchild inherits the dead runtime all the same.
                    pid = os.fork()
                    if pid == 0:
                        child(3, seed)
                    ok, failed, hung = wait_all([pid], 20)
                    if not ok:
                        os._exit(20 + bool(hung))
                t0 = time.perf_counter()
                add(1, 2)  # the first call loads the library
                first = time.perf_counter() - t0
                if depth == 1:
                    os.write(first_call_w, f"{{first:.6f}}\\n".encode())
                exercise(seed)
                if depth < 3 and seed % 2 == 0:
                    pid = os.fork()
                    if pid == 0:
                        child(depth + 1, seed + 1000 * depth)
                    ok, failed, hung = wait_all([pid], 20)
                    if not ok:
                        os._exit(10 + bool(hung))
                os._exit(0)
            except BaseException:
                import traceback

                traceback.print_exc()
                os._exit(1)


        t0 = time.monotonic()
        pids = []
        ok = hung = 0
        failed = []
        for i in range({CHILDREN}):
            pid = os.fork()
            if pid == 0:
                child(1, i)
            pids.append(pid)
            time.sleep(0.003 * (i % 5))  # forks land at different moments of the busy calls
            if len(pids) == 8 or i == {CHILDREN} - 1:  # bounded load: 8 families at a time
                o, f, h = wait_all(pids, 45)
                ok, failed, hung = ok + o, failed + f, hung + h
                pids = []
                if failed or hung:
                    break  # fail fast
        stop.set()
        for t in busy:
            t.join()
        os.close(first_call_w)
        os.set_blocking(first_call_r, False)  # an orphan may still hold the write end
        with os.fdopen(first_call_r, "rb") as r:
            first_calls = sorted(float(x) for x in (r.read() or b"").split())
        emit({{
            "ok": ok, "failed": failed, "hung": hung, "busy_calls": busy_calls,
            "first_call_ms": [round(1e3 * first_calls[len(first_calls) // 2], 2),
                              round(1e3 * first_calls[-1], 2)] if first_calls else None,
            "seconds": round(time.monotonic() - t0, 1),
        }})
        """
    )
    result = result_of(run_python(code, timeout=240))
    print(result)
    assert result["hung"] == 0, result
    assert result["failed"] == [], result
    assert result["ok"] == CHILDREN, result
    assert all(n > 0 for n in result["busy_calls"]), "a busy thread never ran"
    # The first call in a child loads a fresh copy of the library: a few ms.
    assert result["first_call_ms"][0] < 2000, result


@needs_go_library
def test_fork_pool_with_thread_busy_in_go() -> None:
    """multiprocessing pools with the fork start method, forked while parent
    threads are inside Go; workers are replaced (maxtasksperchild) so new
    forks keep happening during the busy calls."""
    code = script(
        """
        import multiprocessing


        def task(i):
            exercise(i, big=(i % 3 == 0))
            return i * i


        if __name__ == "__main__":
            exercise(0, big=False)
            for t in busy:
                t.start()
            ctx = multiprocessing.get_context("fork")
            runs = 0
            t0 = time.monotonic()
            try:
                for run in range(6):
                    with ctx.Pool(2, maxtasksperchild=3) as pool:
                        got = pool.map_async(task, range(12)).get(timeout=60)
                        assert got == [i * i for i in range(12)], got
                        # A pool worker that forks a pool of its own.
                    runs += 1
                with ctx.Pool(1) as pool:
                    assert pool.apply_async(task, (5,)).get(timeout=60) == 25
            finally:
                stop.set()
                for t in busy:
                    t.join()
            emit({"runs": runs, "seconds": round(time.monotonic() - t0, 1)})
        """
    )
    result = result_of(run_python(code, timeout=240))
    assert result["runs"] == 6


@needs_go_library
def test_fork_during_first_load_in_another_thread() -> None:
    """A fork while another thread is inside the first load (library opened,
    not yet published): the child must not reuse that runtime.

    Each round forks a fresh child that has never loaded the library; it
    starts the load in a thread and forks a grandchild a few milliseconds
    later, with a tiny GIL switch interval so the fork lands mid-load.
    """
    code = script(
        """
        from gomask import _native


        def round_(delay):
            sys.setswitchinterval(1e-6)
            loader = threading.Thread(target=add, args=(1, 2))
            loader.start()
            time.sleep(delay)
            pid = os.fork()
            if pid == 0:
                try:
                    exercise(1)
                    os._exit(0)
                except BaseException:
                    os._exit(1)
            ok, failed, hung = wait_all([pid], 15)
            loader.join()
            os._exit(0 if ok else 10 + hung)


        rounds = []
        for i in range(30):
            pid = os.fork()
            if pid == 0:
                round_(0.0003 * i)
            rounds.append(wait_all([pid], 30))
            if rounds[-1] != (1, [], 0):
                break  # fail fast
        assert _native.loaded is None, "the test parent must never load the library"
        emit(rounds)
        """
    )
    rounds = result_of(run_python(code, timeout=180))
    assert rounds == [[1, [], 0]] * 30, rounds


def test_fork_waits_for_a_load_in_progress() -> None:
    """White box: a fork while another thread holds the load lock (inside the
    first load) waits until that load is over; the child starts with a free
    lock and, as nothing was loaded, no inherited runtime."""
    code = script(
        """
        from gomask import _native

        state = {"loading": True}

        def loading():
            with _native._lock:  # as the first load holds it
                time.sleep(0.5)
                state["loading"] = False

        loader = threading.Thread(target=loading)
        loader.start()
        time.sleep(0.05)  # the loader holds the lock now
        pid = os.fork()
        if pid == 0:
            fresh = _native._lock.acquire(blocking=False)
            os._exit(0 if fresh and not state["loading"] and not _native._runtime_inherited else 1)
        loader.join()
        emit(wait_all([pid], 30))
        """
    )
    assert result_of(run_python(code, timeout=60)) == [1, [], 0]


@needs_go_library
def test_which_library_a_child_loads(tmp_path: os.PathLike[str]) -> None:
    """A child of a parent that never loaded the library loads the packaged
    file itself; a child of one that did loads a private copy from TMPDIR and
    removes it at once; nothing is left in TMPDIR."""
    code = script(
        """
        from gomask import _native

        packaged = str(_native.library_path())


        def report(w):
            lib = _native.library()
            os.write(w, json.dumps([str(lib.path), _native._runtime_inherited]).encode())
            os._exit(0)


        def child_report():
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                report(w)
            os.close(w)
            with os.fdopen(r) as f:
                data = json.loads(f.read())
            assert wait_all([pid], 30) == (1, [], 0)
            return data


        before = child_report()  # the parent has not loaded anything yet
        add(1, 2)
        after = child_report()
        emit({
            "packaged": packaged, "before": before, "after": after,
            "tmp_left": os.listdir(os.environ["TMPDIR"]),
        })
        """
    )
    result = result_of(run_python(code, timeout=60, env={"TMPDIR": str(tmp_path)}))
    assert result["before"] == [result["packaged"], False]
    copy, inherited = result["after"]
    assert inherited
    assert copy.startswith(str(tmp_path)), copy
    assert os.path.basename(copy) == os.path.basename(result["packaged"])
    assert result["tmp_left"] == []


@needs_go_library
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawn_and_forkserver_pools(method: str) -> None:
    """Start methods that begin a fresh interpreter work after the parent loaded gomask."""
    if sys.platform == "win32" and method == "forkserver":
        pytest.skip("no forkserver on Windows")
    code = script(
        f"""
        import multiprocessing
        from gomask.mask import mask as go_mask


        def square_masked(i):
            return go_mask(bytes([i]) * 4, bytes(4)) == bytes([i]) * 4


        if __name__ == "__main__":
            exercise(0, big=False)
            with multiprocessing.get_context("{method}").Pool(2) as pool:
                got = pool.map_async(square_masked, range(8)).get(timeout=60)
            emit(got)
        """
    )
    assert result_of(run_python(code, timeout=120)) == [True] * 8
