"""Do small calls scale across subinterpreters (CPython 3.14, each its own GIL)?

``mask()`` of a short ``bytes`` (125 B and 1 KiB: WebSocket-sized frames) in
a loop, timed as calls per second of all the workers together, in four
ways: one thread of the main interpreter; one subinterpreter; two
subinterpreters at once, each driven by its own thread; two threads of the
main interpreter (sharing its GIL). The four alternate, round after round,
so that a busy neighbour on the machine hits all of them alike; the range
over the rounds is printed. The workers
start together (a barrier) and the clock runs until the last one is done.
Beside the calls per second: the workers' CPU seconds per wall second (how
many of them ran at once: at most 1 for threads that share a GIL) and the
calls per CPU second (what a call costs), which a busy machine disturbs less.

    python benchmarks/subinterpreters.py [--calls 200000] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gomask._bench import machine, print_machine, size_name

#: Run in each worker: `calls` calls of mask() on `size` bytes.
WORKER = """
from gomask.mask import mask
data = bytes(range(256)) * (size // 256) + bytes(size % 256)
key = b"\\x37\\xfa\\x21\\x3d"
for _ in range(calls):
    mask(data, key)
"""


class Run(NamedTuple):
    calls_per_second: float  # of all the workers together, by the wall clock
    cpu_per_wall: float  # the workers' CPU seconds per wall second: how many ran at once
    calls_per_cpu_second: float  # what a call costs, whatever else the machine runs


def timed(count: int, calls: int, work: Callable[[], None]) -> Run:
    """Run *work* in *count* threads started together; each thread's own CPU
    time is measured around it (time.thread_time: a thread waiting for a GIL
    uses none)."""
    barrier = threading.Barrier(count + 1)
    cpu: list[float] = []

    def run() -> None:
        barrier.wait()
        start = time.thread_time()
        work()
        cpu.append(time.thread_time() - start)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return Run(count * calls / wall, sum(cpu) / wall, count * calls / sum(cpu))


def in_interpreters(count: int, size: int, calls: int) -> Run:
    """*count* subinterpreters masking at once, each driven by its own thread."""
    from concurrent import interpreters  # CPython >= 3.14

    interps = [interpreters.create() for _ in range(count)]
    try:
        for interp in interps:
            interp.prepare_main(size=size, calls=1000)
            interp.exec(WORKER)  # import and load before the clock starts
            interp.prepare_main(size=size, calls=calls)
        free = list(interps)
        lock = threading.Lock()

        def work() -> None:
            with lock:
                interp = free.pop()
            interp.exec(WORKER)  # runs in this thread, on the interpreter's own GIL

        return timed(count, calls, work)
    finally:
        for interp in interps:
            interp.close()


def in_threads(count: int, size: int, calls: int) -> Run:
    """*count* threads of this interpreter masking at once."""
    exec(WORKER, {"size": size, "calls": 1000})  # the same loop, run here
    code = compile(WORKER, "<worker>", "exec")
    return timed(count, calls, lambda: exec(code, {"size": size, "calls": calls}))


WAYS = {
    "1 thread, main interpreter": lambda size, calls: in_threads(1, size, calls),
    "1 interpreter": lambda size, calls: in_interpreters(1, size, calls),
    "2 interpreters": lambda size, calls: in_interpreters(2, size, calls),
    "2 threads, 1 interpreter": lambda size, calls: in_threads(2, size, calls),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000, help="calls per worker and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if sys.version_info < (3, 14) or sys.implementation.name != "cpython":
        parser.error("needs CPython >= 3.14 (concurrent.interpreters)")

    results: dict[str, dict[str, list[Run]]] = {}
    for size in (125, 1024):
        runs: dict[str, list[Run]] = {way: [] for way in WAYS}
        for _ in range(args.rounds):
            for way, run in WAYS.items():
                runs[way].append(run(size, args.calls))
        results[size_name(size)] = runs

    info = machine()
    if args.json:
        as_dicts = {
            size: {way: [r._asdict() for r in rs] for way, rs in runs.items()}
            for size, runs in results.items()
        }
        print(json.dumps({"machine": info, "runs": as_dicts}, indent=2))
        return 0
    print_machine(info)
    for size, runs in results.items():
        print(f"mask() of {size}, all workers together, min-max over {args.rounds} rounds:")
        print(f"  {'':27} {'calls/s (M)':>13} {'CPU/wall':>11} {'calls per CPU s (M)':>20}")
        for way, rs in runs.items():

            def span(values: list[float]) -> str:
                return f"{min(values):5.2f}-{max(values):5.2f}"

            print(
                f"  {way:27} {span([r.calls_per_second / 1e6 for r in rs]):>13}"
                f" {span([r.cpu_per_wall for r in rs]):>11}"
                f" {span([r.calls_per_cpu_second / 1e6 for r in rs]):>20}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
